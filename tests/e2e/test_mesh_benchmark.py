"""The mesh benchmark runs once at its smallest size (one round, 50 calls, 1 s), so its code keeps working; no time is judged."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.program import PROJECT_DIR

pytestmark = pytest.mark.docker


def test_the_mesh_benchmark_measures_both_paths_side_by_side(tmp_path: Path) -> None:
    out = tmp_path / "mesh.json"
    subprocess.run([sys.executable, "-m", "benchmarks.mesh", "--smallest", "--out", str(out)], cwd=PROJECT_DIR, check=True,
                   capture_output=True, text=True, timeout=900)
    results = json.loads(out.read_text())
    assert set(results["rows"]) == {"direct", "mesh"} and results["rounds"] == 1
    for row in results["rows"].values():
        assert 0 < row["latency_ms"]["p50"] <= row["latency_ms"]["p95"]
        # Counted and reported, not judged to the call: a busy two-core machine drops the odd connection
        # (CI saw 1 of several hundred), on either path.
        assert row["calls_per_second"] > 0 and row["errors"] <= max(1, row["calls"] // 100), row
    assert all(ratio > 0 for ratio in results["mesh_over_direct"].values())
