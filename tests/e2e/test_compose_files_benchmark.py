"""The compose-files benchmark (benchmarks/README.md, named in docs/compose.md) runs once at its smallest size,
so its code keeps working; no time is judged."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.compose_files import FILES, PHASES
from tests.harness.engine import objects_named_with
from tests.support.program import PROJECT_DIR

pytestmark = pytest.mark.docker


def test_the_compose_files_benchmark_times_each_side_and_leaves_nothing(tmp_path: Path, engine) -> None:
    out = tmp_path / "compose_files.json"
    subprocess.run(
        [sys.executable, "-m", "benchmarks.compose_files", "--smallest", "--out", str(out)],
        cwd=PROJECT_DIR, check=True, capture_output=True, text=True, timeout=900,
    )
    found = json.loads(out.read_text())
    assert found["rounds"] == 1 and set(found["results"]) == set(FILES)
    for figures in found["results"].values():
        assert {"compose", "harness"} <= set(figures["medians"])
        for side in figures["medians"].values():
            assert set(side) == set(PHASES) and side["up"] > 0 and all(seconds >= 0 for seconds in side.values())
        assert set(figures["ratio_to_compose"]) == set(figures["medians"]) - {"compose"}
    for name in FILES:
        assert objects_named_with(engine, f"bench-{name}") == {"services": [], "containers": [], "networks": [], "volumes": []}, name
