"""Whether a stack's lock is stale: taken on this machine by a pulumi process that no longer runs.

A lock taken on another machine can't be judged from here; neither can one whose process still
runs (another `pulumi up`, perhaps in another terminal): both are refused, naming the holder.
"""
from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Callable, Sequence

from .backend import Lock


def pulumi_runs(pid: int) -> bool:
    """Whether `pid` is a running pulumi process. Where /proc shows it, its program must be pulumi:
    a pid is reused once its process ends, and an unrelated process must not keep a stack locked."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: it exists
    cmdline = Path(f"/proc/{pid}/cmdline")
    if not cmdline.exists():
        return True
    program = cmdline.read_bytes().split(b"\0", 1)[0].decode(errors="replace")
    return os.path.basename(program).startswith("pulumi")


def describe(lock: Lock) -> str:
    return f"{lock.username}@{lock.hostname} (pid {lock.pid}) at {lock.timestamp}"


def live_holders(
    locks: Sequence[Lock], hostname: str | None = None, runs: Callable[[int], bool] = pulumi_runs
) -> list[str]:
    """Why each lock that is not stale still holds the stack; [] when every lock can go."""
    here = hostname or socket.gethostname()
    reasons = []
    for lock in locks:
        if lock.hostname != here:
            reasons.append(f"locked by {describe(lock)} on another machine: whether it still runs can't be seen from here")
        elif runs(lock.pid):
            reasons.append(f"locked by {describe(lock)}, which is still running: wait for it to finish or stop it")
    return reasons
