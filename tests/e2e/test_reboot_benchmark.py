"""The reboot benchmark runs once at its smallest size (dev through the harness, one engine restart), so its code keeps working; no time is judged."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.program import PROJECT_DIR

pytestmark = pytest.mark.docker


def test_the_reboot_benchmark_times_each_check_after_the_engine_answers(tmp_path: Path) -> None:
    out = tmp_path / "reboot.json"
    subprocess.run(
        [sys.executable, "-m", "benchmarks.reboot", "--smallest", "--out", str(out)], cwd=PROJECT_DIR, check=True, capture_output=True, text=True, timeout=900
    )
    results = json.loads(out.read_text())
    assert results["machine"]["cores"] >= 1 and results["trials"] == 1
    harness = results["sides"]["harness"]
    assert list(harness)[:2] == ["engine answers", "Consul has a leader"]
    assert list(harness)[-1] == "refreshed preview, proposing nothing"
    for measure, seen in harness.items():
        assert len(seen["all"]) == 1 and seen["p50"] == seen["max"] >= 0, measure
