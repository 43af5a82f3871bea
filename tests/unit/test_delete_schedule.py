"""A destroy as the engine schedules it: pulumi-docker takes 2 s to delete any network or volume, so
they are all deleted in one antichain, and few antichains follow the containers."""
from __future__ import annotations

import pytest

from benchmarks.graph_shape import registrations as planned
from tests.support.delete_schedule import delete_antichains

WAITING_DELETES = ("docker:index/network:Network", "docker:index/volume:Volume")


@pytest.mark.parametrize("stack, overrides", [("dev", {}), ("dev", {"consulServers": 3}), ("cluster", {})])
def test_every_network_and_volume_is_deleted_in_one_antichain(stack: str, overrides: dict) -> None:
    antichains = delete_antichains(planned(stack, overrides, components=True))
    holding = {index for index, antichain in enumerate(antichains) for r in antichain if r.type in WAITING_DELETES}
    assert len(holding) == 1, {index: [r.name for r in antichains[index] if r.type in WAITING_DELETES] for index in sorted(holding)}


def test_the_schedule_is_the_engines() -> None:
    """dev's destroy as the real CLI ran it (the antichains of `pulumi destroy -v=4`'s log), in part:
    dependents first, networks and volumes together, providers and components last."""
    antichains = [{r.name for r in antichain} for antichain in delete_antichains(planned("dev", {}, components=True))]
    place = {name: index for index, names in enumerate(antichains) for name in names}
    assert place["client-container"] == 0
    assert place["client-container"] < place["app-server1"] == place["app-server2"] < place["consul-consul-1-agent"]
    assert place["compose-web"] < place["compose-redis"] < place["compose-network"] == place["local-network"]
    assert place["local-network"] < place["local-engine"] < place["local"]
