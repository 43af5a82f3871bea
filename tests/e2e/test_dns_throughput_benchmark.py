"""The DNS throughput benchmark runs once at its smallest size (2 s a scenario), so its code keeps working; no rate is judged."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.prerequisites import skip_or_fail
from tests.support.program import PROJECT_DIR

pytestmark = pytest.mark.docker


def test_the_dns_throughput_benchmark_counts_answers_errors_and_latencies(tmp_path: Path) -> None:
    if shutil.which("dnsperf") is None:
        skip_or_fail("dnsperf is not installed (apt-get install dnsperf)")
    out, plot = tmp_path / "dns_throughput.json", tmp_path / "dns_throughput.png"
    subprocess.run(
        [sys.executable, "-m", "benchmarks.dns_throughput", "--seconds", "2", "--out", str(out), "--plot", str(plot)],
        cwd=PROJECT_DIR, check=True, capture_output=True, text=True, timeout=600,
    )
    results = json.loads(out.read_text())
    rows = {row["scenario"]: row for row in results["rows"]}
    assert len(rows) == 4 and results["seconds"] == 2
    for row in rows.values():
        assert row["qps"] > 0 and row["answered"] > 0
        assert row["errors"] == row["lost"] + row["error_answers"] >= 0
        assert row["answered"] + row["errors"] <= row["queries_sent"]
        latency = row["latency_ms"]
        assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"]
        assert row["generator_cpu_share"] > 0 and row["server_cpu_share"] > 0
    assert set(results["ratio_to_embedded_dns"]) == set(rows) - {"Docker embedded DNS A, container network"}
    assert all(ratio > 0 for ratio in results["ratio_to_embedded_dns"].values())
    assert plot.stat().st_size > 0
