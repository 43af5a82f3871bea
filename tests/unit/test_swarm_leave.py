"""The swarm's scripts, run by the shell against a stand-in `docker`: a destroy leaves only a swarm the
stack itself made, never one the engine was in before (with whatever else runs on it)."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from components.swarm_cluster import INIT_SCRIPT, JOIN_SCRIPT, LEAVE_SCRIPT, MADE_BY_THIS_STACK, WORKER_LEAVE_SCRIPT

FAKE_DOCKER = """#!/bin/sh
echo "$*" >> "$DOCKER_CALLS"
case "$*" in
  "info --format {{.Swarm.LocalNodeState}}") echo "$SWARM_STATE" ;;
  "info --format {{.Swarm.NodeID}}") echo node-1 ;;
esac
"""


def run(script: str, tmp_path: Path, state: str, **environment: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "docker").write_text(FAKE_DOCKER)
    (bin_dir / "docker").chmod(0o755)
    calls = tmp_path / "calls"
    calls.write_text("")
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}", "DOCKER_CALLS": str(calls), "SWARM_STATE": state,
        "SWARM_ADVERTISE_ADDR": "10.0.0.11", "SWARM_TOKEN": "t", "SWARM_MANAGER": "10.0.0.11:2377",
        "SWARM_MANAGER_DOCKER_HOST": "tcp://10.0.0.11:2376", **environment,
    }
    completed = subprocess.run(["/bin/sh", "-c", script], env=env, capture_output=True, text=True, check=True)
    return completed, calls.read_text().splitlines()


@pytest.mark.parametrize(("script", "verb"), [(INIT_SCRIPT, "swarm init"), (JOIN_SCRIPT, "swarm join")])
def test_making_a_node_says_so_and_finding_one_says_nothing(tmp_path: Path, script: str, verb: str) -> None:
    made, calls = run(script, tmp_path, "inactive")
    assert MADE_BY_THIS_STACK in made.stderr and any(call.startswith(verb) for call in calls)
    assert made.stdout.strip() == "node-1"
    found, calls = run(script, tmp_path, "active")
    assert MADE_BY_THIS_STACK not in found.stderr and not any(call.startswith(verb) for call in calls)


@pytest.mark.parametrize("script", [LEAVE_SCRIPT, WORKER_LEAVE_SCRIPT])
def test_a_destroy_leaves_only_a_swarm_the_stack_made(tmp_path: Path, script: str) -> None:
    _, calls = run(script, tmp_path, "active", PULUMI_COMMAND_STDERR=MADE_BY_THIS_STACK, PULUMI_COMMAND_STDOUT="node-1")
    assert any(call.startswith("swarm leave") for call in calls)
    kept, calls = run(script, tmp_path, "active", PULUMI_COMMAND_STDERR="", PULUMI_COMMAND_STDOUT="node-1")
    assert not any(call.startswith(("swarm leave", "node rm")) for call in calls)
    assert "left as it is" in kept.stderr
