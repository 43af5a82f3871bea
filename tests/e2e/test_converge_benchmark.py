"""The converge benchmark runs once at its smallest size, so its code keeps working; no time is judged."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.converge import PHASES
from tests.harness.engine import objects_named_with
from tests.support.program import PROJECT_DIR

pytestmark = pytest.mark.docker


def test_the_converge_benchmark_times_both_sides_and_leaves_nothing(tmp_path: Path, engine) -> None:
    out = tmp_path / "converge.json"
    subprocess.run(
        [sys.executable, "-m", "benchmarks.converge", "--smallest", "--out", str(out)],
        cwd=PROJECT_DIR, check=True, capture_output=True, text=True, timeout=600,
    )
    found = json.loads(out.read_text())
    assert set(found["results"]) == {"harness, dev without swarm", "docker compose"}
    for figures in found["results"].values():
        assert set(figures) == set(PHASES) and all(seconds > 0 for seconds in figures.values())
    assert set(found["ratio_harness_to_compose"]) == set(PHASES)
    assert found["slowest_harness_operations"]["up"]["count"] > 0
    # Each side checked the other's way of being up (web, both workers, the catalog) and went down.
    for prefix in ("dev-", "bench-converge"):
        assert objects_named_with(engine, prefix) == {"services": [], "containers": [], "networks": [], "volumes": []}, prefix
