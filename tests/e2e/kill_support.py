"""Killing a real `pulumi up`, or a host under it, at a moment its progress shows, and the `make` targets
that recover after it: shared by test_killed_deploy_real_pulumi.py (a first up),
test_killed_update_real_pulumi.py (an update) and test_sandbox_cluster_real_pulumi.py (a host lost)."""
from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from typing import Callable

from .real_pulumi import RealProject

SETTLE_SECONDS = 3  # after the kill, for the providers it leaves behind to notice and exit


def killed_up(project: RealProject, moment: str, delay: float, signals: tuple[signal.Signals, ...]) -> str:
    """Starts `pulumi up`, sends `signals` `delay` seconds after its progress matches `moment`; returns what it printed."""
    started = time.monotonic()
    up = subprocess.Popen(
        ["pulumi", "up", "--yes", "--skip-preview", "--stack", project.stack, "--non-interactive"],
        cwd=project.dir, env=project.environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,  # its plugins in a group of their own, to end what the kill leaves behind
    )
    printed = []
    try:
        for line in up.stdout:
            printed.append(line)
            if re.search(moment, line):
                time.sleep(delay)
                for sent in signals:
                    up.send_signal(sent)
                    time.sleep(0.5)
                break
        else:
            raise AssertionError(f"`pulumi up` ended before {moment!r}:\n{''.join(printed)[-3000:]}")
        up.wait(timeout=120)
        time.sleep(SETTLE_SECONDS)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(up.pid, signal.SIGKILL)
        up.wait()
    project.timings[f"real: up until killed ({moment})"] = time.monotonic() - started
    return "".join(printed)


def up_with_a_fault(project: RealProject, moment: str, fault: Callable[[], None]) -> tuple[int, str]:
    """Runs `pulumi up` to its end, calling `fault` once when its progress matches `moment`; its exit code and output."""
    started = time.monotonic()
    up = subprocess.Popen(
        ["pulumi", "up", "--yes", "--skip-preview", "--stack", project.stack, "--non-interactive"],
        cwd=project.dir, env=project.environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    printed, faulted = [], False
    for line in up.stdout:
        printed.append(line)
        if not faulted and re.search(moment, line):
            fault()
            faulted = True
    returncode = up.wait()
    project.timings[f"real: up with a fault at {moment}"] = time.monotonic() - started
    assert faulted, f"`pulumi up` never showed {moment!r}:\n{''.join(printed)[-3000:]}"
    return returncode, "".join(printed)


def make(project: RealProject, target: str) -> subprocess.CompletedProcess:
    started = time.monotonic()
    completed = subprocess.run(["make", target, f"STACK={project.stack}"], cwd=project.dir, env=project.environment, capture_output=True, text=True, timeout=900)
    project.timings[f"real: make {target}"] = time.monotonic() - started
    assert completed.returncode == 0, f"make {target}: exit {completed.returncode}\n{completed.stdout[-4000:]}\n{completed.stderr[-4000:]}"
    return completed
