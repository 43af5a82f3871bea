"""The converge benchmark's floors (`--floor`) through the real CLI, each up and destroyed with and without
the destroy's preview, and nothing left in its state: a stack of nothing (no engine needed) and one of a
single docker network (the engine's)."""
from __future__ import annotations

import json

import pytest

from benchmarks.converge import PHASES, FloorStackSide, empty_stack_side, one_network_side

from .real_pulumi import skip_without_toolchain


def _up_and_destroyed(side: FloorStackSide) -> None:
    try:
        timings = side.round()
        assert sorted(timings) == sorted(PHASES) and all(seconds > 0 for seconds in timings.values())
        assert len(side.destroys_with_preview) == 1
        state = json.loads(side.project.run("stack", "export").stdout)
        assert not state["deployment"].get("resources")
    finally:
        side.close()


def test_a_stack_of_nothing_goes_up_and_is_destroyed_through_the_real_cli() -> None:
    skip_without_toolchain()
    _up_and_destroyed(empty_stack_side())


@pytest.mark.docker
def test_a_stack_of_one_network_goes_up_and_is_destroyed_leaving_no_network(engine) -> None:
    skip_without_toolchain()
    side = one_network_side()
    _up_and_destroyed(side)
    assert [network.name for network in engine.networks.list() if network.name.startswith("bench-floor-")] == []
