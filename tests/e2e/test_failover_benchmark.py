"""The failover benchmark runs once at its smallest size (one trial, one cluster), so its code keeps working; no time is judged."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.program import PROJECT_DIR

pytestmark = pytest.mark.docker


def test_the_failover_benchmark_times_a_new_leader_and_a_write(tmp_path: Path) -> None:
    out = tmp_path / "failover.json"
    subprocess.run(
        [sys.executable, "-m", "benchmarks.failover", "--trials", "1", "--settings", "raft_multiplier=1", "--out", str(out)],
        cwd=PROJECT_DIR, check=True, capture_output=True, text=True, timeout=600,
    )
    results = json.loads(out.read_text())
    assert results["machine"]["cores"] >= 1 and results["trials"] == 1
    assert [(row["settings"], row["signal"]) for row in results["rows"]] == [
        ("raft_multiplier=1", "SIGTERM"), ("raft_multiplier=1", "SIGKILL")
    ]
    for row in results["rows"]:
        assert 0 < row["new_leader"]["p50"] <= row["new_leader"]["p95"]
        # A write needs a leader: it can't succeed before one is named.
        assert row["new_leader"]["p50"] <= row["kv_write"]["p50"] <= row["kv_write"]["p95"]
        # The survivors' raft logs: at least one election, which a leader won before it was seen.
        assert row["elections"]["all"][0] >= 1
        assert row["leader_elected"]["p50"] <= row["new_leader"]["p50"]
        assert row["restart_to_healthy"]["p50"] > 0


def test_the_failover_benchmarks_steady_run_counts_elections_nobody_asked_for(tmp_path: Path) -> None:
    out = tmp_path / "steady.json"
    subprocess.run(
        [sys.executable, "-m", "benchmarks.failover", "--steady", "5", "--load", "1", "--settings", "raft_multiplier=1", "--out", str(out)],
        cwd=PROJECT_DIR, check=True, capture_output=True, text=True, timeout=600,
    )
    [row] = json.loads(out.read_text())["steady"]
    assert (row["settings"], row["seconds"], row["load_processes"]) == ("raft_multiplier=1", 5, 1)
    # Nothing was signalled: whatever elections there were, the cluster is three healthy voters after them.
    assert row["term_increments"] >= 0 and row["elections_started"] >= 0 and row["still_healthy"] is True
