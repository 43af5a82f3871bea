"""The swarm's scripts, run by the shell against a stand-in `docker`: a destroy leaves only a swarm the
stack itself made, never one the engine was in before (with whatever else runs on it), even when the
`pulumi up` that made it was killed before it recorded so; and, where stacks share an engine's swarm,
only the last one out leaves it, whichever of them made it."""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from components.swarm_cluster import (
    INIT_SCRIPT,
    JOIN_SCRIPT,
    LEAVE_SCRIPT,
    MADE_BY_THIS_STACK,
    OWNER_LABEL,
    WORKER_LEAVE_SCRIPT,
)

OWNER = "orchestration/dev"
# The node's labels live in the file $DOCKER_CALLS.owner; `swarm init` and `join` take
# $SWARM_SECONDS, so a test can kill the script while they run.
FAKE_DOCKER = f"""#!/bin/sh
echo "$*" >> "$DOCKER_CALLS"
case "$*" in
  "info --format {{{{.Swarm.LocalNodeState}}}}") echo "$SWARM_STATE" ;;
  "info --format {{{{.Swarm.NodeID}}}}") echo node-1 ;;
  "swarm init"*|"swarm join"*) sleep "${{SWARM_SECONDS:-0}}" ;;
  "node update --label-add {OWNER_LABEL}="*) echo "${{4#*=}}" > "$DOCKER_CALLS.owner" ;;
  "node inspect"*) cat "$DOCKER_CALLS.owner" 2>/dev/null || echo "<no value>" ;;
  "service ls"*) printf '%s' "${{SWARM_SERVICES:-}}" ;;
  "secret ls"*|"config ls"*) ;;
  "network ls"*) echo "network ingress"; printf '%s' "${{SWARM_NETWORKS:-}}" ;;
esac
"""


def environment_for(tmp_path: Path, state: str, **environment: str) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "docker").write_text(FAKE_DOCKER)
    (bin_dir / "docker").chmod(0o755)
    (tmp_path / "calls").write_text("")
    return {
        "PATH": f"{bin_dir}:{os.environ['PATH']}", "DOCKER_CALLS": str(tmp_path / "calls"), "SWARM_STATE": state,
        "SWARM_ADVERTISE_ADDR": "10.0.0.11", "SWARM_TOKEN": "t", "SWARM_MANAGER": "10.0.0.11:2377",
        "SWARM_MANAGER_DOCKER_HOST": "tcp://10.0.0.11:2376", "SWARM_OWNER": OWNER, **environment,
    }


def run(script: str, tmp_path: Path, state: str, **environment: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    env = environment_for(tmp_path, state, **environment)
    completed = subprocess.run(["/bin/sh", "-c", script], env=env, capture_output=True, text=True, check=True)
    return completed, (tmp_path / "calls").read_text().splitlines()


def owner_label(tmp_path: Path) -> str | None:
    labels = tmp_path / "calls.owner"
    return labels.read_text().strip() if labels.exists() else None


@pytest.mark.parametrize(("script", "verb"), [(INIT_SCRIPT, "swarm init"), (JOIN_SCRIPT, "swarm join")])
def test_making_a_node_says_so_and_finding_one_says_nothing(tmp_path: Path, script: str, verb: str) -> None:
    made, calls = run(script, tmp_path, "inactive")
    assert MADE_BY_THIS_STACK in made.stderr and any(call.startswith(verb) for call in calls)
    assert made.stdout.strip() == "node-1"
    (tmp_path / "member").mkdir()  # another engine, a swarm member before this stack
    found, calls = run(script, tmp_path / "member", "active")
    assert MADE_BY_THIS_STACK not in found.stderr and not any(call.startswith(verb) for call in calls)


@pytest.mark.parametrize("script", [LEAVE_SCRIPT, WORKER_LEAVE_SCRIPT])
def test_a_destroy_leaves_only_a_swarm_the_stack_made(tmp_path: Path, script: str) -> None:
    _, calls = run(script, tmp_path, "active", PULUMI_COMMAND_STDERR=MADE_BY_THIS_STACK, PULUMI_COMMAND_STDOUT="node-1")
    assert any(call.startswith("swarm leave") for call in calls)
    kept, calls = run(script, tmp_path, "active", PULUMI_COMMAND_STDERR="", PULUMI_COMMAND_STDOUT="node-1")
    assert not any(call.startswith(("swarm leave", "node rm")) for call in calls)
    assert "left as it is" in kept.stderr


@pytest.mark.parametrize("script", [INIT_SCRIPT, JOIN_SCRIPT])
def test_a_node_made_here_is_labelled_and_a_rerun_still_says_so(tmp_path: Path, script: str) -> None:
    run(script, tmp_path, "inactive")
    assert owner_label(tmp_path) == OWNER
    again, calls = run(script, tmp_path, "active")
    assert MADE_BY_THIS_STACK in again.stderr and not any(call.startswith(("swarm init", "swarm join")) for call in calls)


@pytest.mark.parametrize("script", [INIT_SCRIPT, JOIN_SCRIPT])
def test_a_script_killed_while_the_node_joins_still_labels_it(tmp_path: Path, script: str) -> None:
    """What a SIGKILLed `pulumi up` does: the provider kills the shell (not its children) mid-init."""
    shell = subprocess.Popen(["/bin/sh", "-c", script], env=environment_for(tmp_path, "inactive", SWARM_SECONDS="1"))
    deadline = time.monotonic() + 10
    while "swarm " not in (tmp_path / "calls").read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    shell.send_signal(signal.SIGKILL)
    shell.wait()
    while owner_label(tmp_path) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert owner_label(tmp_path) == OWNER
    rerun, _ = run(script, tmp_path, "active")
    assert MADE_BY_THIS_STACK in rerun.stderr


def test_a_swarm_another_stack_made_is_not_taken_for_this_ones(tmp_path: Path) -> None:
    run(INIT_SCRIPT, tmp_path, "inactive", SWARM_OWNER="orchestration/sandbox")
    found, calls = run(INIT_SCRIPT, tmp_path, "active")
    assert MADE_BY_THIS_STACK not in found.stderr and owner_label(tmp_path) == "orchestration/sandbox"


def test_a_node_this_stack_made_before_labels_gets_its_label_when_the_script_runs_again(tmp_path: Path) -> None:
    updated, _ = run(INIT_SCRIPT, tmp_path, "active", PULUMI_COMMAND_STDERR=MADE_BY_THIS_STACK)
    assert MADE_BY_THIS_STACK in updated.stderr and owner_label(tmp_path) == OWNER


def left(calls: list[str]) -> bool:
    return any(call.startswith("swarm leave") for call in calls)


def test_the_stack_that_made_the_swarm_leaves_it_to_another_stacks_services(tmp_path: Path) -> None:
    kept, calls = run(LEAVE_SCRIPT, tmp_path, "active", PULUMI_COMMAND_STDERR=MADE_BY_THIS_STACK,
                      SWARM_SERVICES="service dev2-heyworld\n")
    assert not left(calls) and "dev2-heyworld" in kept.stderr
    (tmp_path / "network").mkdir()
    _, calls = run(LEAVE_SCRIPT, tmp_path / "network", "active", PULUMI_COMMAND_STDERR=MADE_BY_THIS_STACK,
                   SWARM_NETWORKS="network dev2-compose-overlay\n")
    assert not left(calls)


@pytest.mark.parametrize("services", ["", "service dev-heyworld\n"])
def test_the_last_stack_out_leaves_a_swarm_another_stack_made(tmp_path: Path, services: str) -> None:
    run(INIT_SCRIPT, tmp_path, "inactive", SWARM_OWNER="orchestration/dev")
    _, calls = run(LEAVE_SCRIPT, tmp_path, "active", SWARM_OWNER="orchestration/dev2", PULUMI_COMMAND_STDERR="",
                   SWARM_SERVICES=services)
    assert left(calls) == (not services)


def test_a_swarm_no_stack_made_is_never_left_even_with_nothing_on_it(tmp_path: Path) -> None:
    kept, calls = run(LEAVE_SCRIPT, tmp_path, "active", PULUMI_COMMAND_STDERR="")
    assert not left(calls) and "left as it is" in kept.stderr


def test_a_node_no_longer_in_a_swarm_has_nothing_to_leave(tmp_path: Path) -> None:
    _, calls = run(LEAVE_SCRIPT, tmp_path, "inactive", PULUMI_COMMAND_STDERR=MADE_BY_THIS_STACK)
    assert not left(calls)
