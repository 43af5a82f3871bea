"""`make up` on a machine with Docker, Python and make only: the CLI it needs, or one clear line."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]
SCRIPT = PROJECT_DIR / "scripts" / "ensure_pulumi.py"
# Every download goes to a closed port on this machine: refused at once, as where there is no internet.
REFUSED = {"https_proxy": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9"}


def run(tmp_path: Path, path: str) -> subprocess.CompletedProcess:
    environment = {"PATH": path, "HOME": str(tmp_path), "ORCH_PULUMI_CLI_ROOT": str(tmp_path / "cli"), **REFUSED}
    return subprocess.run([sys.executable, str(SCRIPT)], env=environment, capture_output=True, text=True, timeout=60)


def test_a_cli_already_on_path_is_used_and_nothing_is_downloaded(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "pulumi").write_text("#!/bin/sh\necho v3.0.0\n")
    (bin_dir / "pulumi").chmod(0o755)
    result = run(tmp_path, str(bin_dir))
    assert (result.returncode, result.stdout.strip(), result.stderr) == (0, str(bin_dir / "pulumi"), "")
    assert not (tmp_path / "cli").exists()


def test_where_the_download_is_refused_one_line_says_what_to_do(tmp_path: Path) -> None:
    result = run(tmp_path, str(tmp_path / "nothing-here"))
    assert result.returncode == 1 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("make up: no Pulumi CLI on PATH, and downloading Pulumi ")
    assert "install it (https://www.pulumi.com/docs/install/) and run make up again" in lines[0]


def test_make_up_goes_through_it() -> None:
    makefile = (PROJECT_DIR / "Makefile").read_text()
    assert "up: cli\n" in makefile and "scripts/ensure_pulumi.py" in makefile
