"""The benchmarks run once at their smallest size, so their code keeps working; no time is judged."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.unit.conftest import deploy

PROJECT_DIR = Path(__file__).resolve().parents[2]


def test_plan_time_plans_what_the_program_declares(tmp_path: Path) -> None:
    out = tmp_path / "plan_time.json"
    subprocess.run([sys.executable, "-m", "benchmarks.plan_time", "--smallest", "--out", str(out)], cwd=PROJECT_DIR, check=True, capture_output=True, text=True)
    results = json.loads(out.read_text())
    rows = {row["scenario"]: row for row in results["rows"]}
    assert rows["dev"]["resources"] == len(deploy("dev").registrations)
    assert rows["hosts-10"]["resources"] > rows["dev"]["resources"]
    for row in rows.values():
        assert row["seconds"] > 0 and row["bare_seconds"] > 0 and row["peak_rss_mib"] > 0
    assert results["machine"]["cores"] >= 1
