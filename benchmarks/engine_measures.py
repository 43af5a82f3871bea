"""What the real-engine benchmarks share: the machine they ran on, percentiles, a poll loop."""
from __future__ import annotations

import math
import os
import platform
import time
from typing import Callable

POLL_SECONDS = 0.025


def machine() -> dict[str, object]:
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
    }


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile: the smallest value at least `fraction` of the values are no greater than."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def until(probe: Callable[[], bool], timeout: float, what: str) -> float:
    """Polls `probe` every POLL_SECONDS until true; returns the monotonic time it first was."""
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:.0f} s")
        time.sleep(POLL_SECONDS)
    return time.monotonic()
