"""The discovery benchmark runs once at its smallest size, so its code keeps working; no time is judged."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.program import PROJECT_DIR

pytestmark = pytest.mark.docker


def test_the_discovery_benchmark_measures_each_step(tmp_path: Path) -> None:
    out = tmp_path / "discovery.json"
    subprocess.run(
        [sys.executable, "-m", "benchmarks.discovery", "--trials", "1", "--baseline", "HEAD", "--out", str(out)],
        cwd=PROJECT_DIR, check=True, capture_output=True, text=True, timeout=600,
    )
    document = json.loads(out.read_text())
    assert document["baseline"]["revision"] == "HEAD"
    for results in (document["results"], document["baseline"]["results"]):
        assert set(results) == {"5s", "1s"}
        for measures in results.values():
            assert set(measures) == {
                "start_to_health", "health_to_passing", "health_to_dns", "sigterm_to_gone_from_dns", "sigterm_to_exit"
            }
            for figures in measures.values():
                assert 0 <= figures["p50"] <= figures["p95"]
