"""A harness run killed mid-create leaves the create pending in its state file, as a killed `pulumi up`
leaves it in the stack's, and recovery (scripts/recover) reads the one as it reads the other."""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from scripts.recover.deployment import Deployment
from scripts.recover.plan import decide
from tests.harness.state import StateStore

# A program of two commands, the second slow enough to be killed while the harness creates it.
KILLED_RUN = """
import sys
import pulumi
import pulumi_command as command
from tests.harness import ApplyHarness
from tests.harness.inline import run_inline

folder = sys.argv[1]

def program():
    first = command.local.Command("first", create="echo first")
    command.local.Command("slow", create=f"touch {folder}/started; sleep 60", opts=pulumi.ResourceOptions(depends_on=[first]))

harness = ApplyHarness(project_dir=folder, state_file=f"{folder}/state.json")
harness.apply(lambda: run_inline(harness, program))
"""


def test_a_killed_run_leaves_its_create_pending_and_recovery_runs_it_again(tmp_path: Path) -> None:
    # A session of its own, so the slow command the kill leaves behind can be ended afterwards.
    run = subprocess.Popen([sys.executable, "-c", KILLED_RUN, str(tmp_path)], cwd=Path(__file__).resolve().parents[2], start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "started").exists():
            assert run.poll() is None and time.monotonic() < deadline, "the harness run ended before the slow create began"
            time.sleep(0.05)
        run.send_signal(signal.SIGKILL)  # the harness only, as a killed `pulumi up`: its command runs on
        run.wait()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(run.pid, signal.SIGKILL)

    deployment = Deployment.from_export(StateStore(tmp_path / "state.json").deployment())
    assert [resource["urn"].rsplit("::", 1)[-1] for resource in deployment.resources] == ["first"]
    assert [(operation.kind, operation.name) for operation in deployment.pending] == [("creating", "slow")]
    decisions = decide(deployment, engine_for=lambda operation: None)
    assert [(decision.action, decision.operation.name) for decision in decisions] == [("rerun", "slow")]
