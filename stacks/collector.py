"""The garbage collector's settings for a plan.

The SDK makes an Output (an asyncio task and its futures) of every property of every resource,
set or not (a pulumi-docker Container has 78): at 200 hosts about a million objects are alive at
once, and at CPython's default threshold (a collection every 700 allocations) the collector walks
them all again and again, about a third of the plan's CPU time. Collecting less often cost no
memory that shows: the peak at 200 hosts stayed at 250 MiB.
"""
from __future__ import annotations

import gc

THRESHOLDS = (50_000, 10, 10)


def relax() -> None:
    gc.set_threshold(*THRESHOLDS)


def keep_declared() -> None:
    """Once every resource is declared: they live until the process ends, so the collector can stop walking them.

    That counts twice: in the registrations that follow, and when the interpreter exits, whose
    last collections over them took 0.2-0.3 s of a `dev` plan. Only reference cycles among what is
    frozen stay unfreed, and the process ends with the plan.
    """
    gc.freeze()
