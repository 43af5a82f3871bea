"""`dev` without its swarm part, what Docker Compose can bring up under `up`: for the converge benchmark's
harness side (in-process) and its real-CLI side (the program's entry point in the project's copy runs
under it). Kept apart from benchmarks.converge so the real CLI's program imports nothing more."""
from __future__ import annotations

import contextlib
from types import SimpleNamespace
from typing import Iterator
from unittest import mock

# The real CLI runs the program through this in the copy (`__main__.py`, the original renamed).
ENTRY_POINT = """from benchmarks.without_swarm import without_swarm
import runpy

with without_swarm():
    runpy.run_path("program_main.py", run_name="__main__")
"""


@contextlib.contextmanager
def without_swarm() -> Iterator[None]:
    import stacks.local

    no_swarm = SimpleNamespace(unlock_key=None, ready=())
    with mock.patch.object(stacks.local, "SwarmCluster", lambda *_, **__: no_swarm), mock.patch.object(
        stacks.local, "on_the_swarm", lambda *_, **__: ((), {})
    ):
        yield
