"""docs/compose.md's blocks that need no engine, run as written: the program a user writes with
ComposeProject (declared under mocks, from a compose file of its own in the folder it runs in), and the
line that points the program at a Compose binary."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.harness.inline import run_inline
from tests.support.docs import blocks
from tests.support.program import PROJECT_DIR
from tests.support.recording import ComputedOutputs, RecordingMonitor

COMPOSE_DOC = PROJECT_DIR / "docs" / "compose.md"
PROGRAM = """from components.compose_project import ComposeProject, ComposeProjectArgs

ComposeProject("app", ComposeProjectArgs(file="compose.yaml", variables={"WEB_PORT": "8000"}, swarm=False))
"""
EXPORT = 'export COMPOSE_BIN="$(bash .ci/compose.sh)"'
# A file of the user's, publishing the port the program's variables set.
USERS_FILE = """services:
  web:
    image: nginx:1.27
    ports:
      - "${WEB_PORT:-80}:80"
"""


def doc_block(first_line: str) -> str:
    return next(block.body for block in blocks(COMPOSE_DOC) if block.body.startswith(first_line))


def test_the_program_is_the_guides_and_declares_the_file_with_its_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert doc_block(PROGRAM.splitlines()[0]) == PROGRAM
    (tmp_path / "compose.yaml").write_text(USERS_FILE)
    monkeypatch.chdir(tmp_path)
    monitor = RecordingMonitor(ComputedOutputs())
    run_inline(monitor.mocks, lambda: exec(PROGRAM, {"__name__": "__main__"}), monitor=monitor)
    containers = [r for r in monitor.registrations if r.type == "docker:index/container:Container"]
    assert [c.inputs["name"] for c in containers] == [f"{tmp_path.name.lower()}-web-1"]
    assert [(p["internal"], p["external"]) for p in containers[0].inputs["ports"]] == [(80, 8000)]
    assert not [r for r in monitor.registrations if r.type == "docker:index/service:Service"]


def test_the_export_line_points_compose_bin_at_compose_v2() -> None:
    assert doc_block(EXPORT) == EXPORT + "\n"
    shown = subprocess.run(
        ["bash", "-c", f'{EXPORT} && "$COMPOSE_BIN" version --short'],
        cwd=PROJECT_DIR, env={**os.environ, "COMPOSE_BIN": ""}, capture_output=True, text=True, timeout=900, check=True,
    )
    assert shown.stdout.strip().startswith("2.")
