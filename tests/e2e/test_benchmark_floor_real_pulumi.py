"""The converge benchmark's floor (`--floor`): a stack of nothing through the real CLI, up and destroyed
with and without the destroy's preview, and nothing left in its state. No engine is needed."""
from __future__ import annotations

import json

from benchmarks.converge import PHASES, EmptyStackSide

from .real_pulumi import skip_without_toolchain


def test_a_stack_of_nothing_goes_up_and_is_destroyed_through_the_real_cli() -> None:
    skip_without_toolchain()
    side = EmptyStackSide()
    try:
        timings = side.round()
        assert sorted(timings) == sorted(PHASES) and all(seconds > 0 for seconds in timings.values())
        assert len(side.destroys_with_preview) == 1
        state = json.loads(side.project.run("stack", "export").stdout)
        assert not state["deployment"].get("resources")
    finally:
        side.close()
