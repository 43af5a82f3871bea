"""The lanes client agents roll in: bounded, and never every host of a workload away at once.

Hosts in one lane roll one after the other; hosts of different lanes may roll at the same moment, in
any combination (at most one a lane). So a workload on two or more hosts is safe when one of its hosts
has a server (servers roll before every client agent) or two of its hosts share a lane.
"""
from __future__ import annotations

import math
import random
from typing import Collection, Mapping, Sequence

import pytest

from components.consul_roll_order import LANE_LENGTH, roll_lanes
from stacks.cluster import host_workloads
from stacks.config import Host


def away_at_once_everywhere(
    lanes: Sequence[Sequence[str]], workloads: Mapping[str, Collection[str]]
) -> list[str]:
    """The workloads on two or more hosts whose hosts may all be away at once: none has a server
    (is outside every lane) and no two share a lane."""
    lane_of = {host: index for index, lane in enumerate(lanes) for host in lane}
    hosts_of: dict[str, set[str]] = {}
    for host, names in workloads.items():
        for name in names:
            hosts_of.setdefault(name, set()).add(host)
    return sorted(
        name
        for name, hosts in hosts_of.items()
        if len(hosts) >= 2 and all(host in lane_of for host in hosts) and len({lane_of[host] for host in hosts}) == len(hosts)
    )


def random_layout(rng: random.Random, count: int) -> list[Host]:
    """`count` hosts with roles as the config accepts them: 1, 3 or 5 servers, `app` and `client` each on
    some hosts, few (two or three: the layouts a careless order parts) or many."""
    roles: list[set[str]] = [set() for _ in range(count)]
    for role, how_many in (
        ("consul-server", rng.choice([n for n in (1, 3, 5) if n <= count])),
        ("app", min(count, rng.choice((1, 2, 3, rng.randint(1, count))))),
        ("client", min(count, rng.choice((1, 2, 3, rng.randint(1, count))))),
    ):
        for index in rng.sample(range(count), how_many):
            roles[index].add(role)
    return [Host(f"h{index}", "unix:///var/run/docker.sock", f"10.1.{index // 250}.{index % 250 + 1}", frozenset(given)) for index, given in enumerate(roles)]


def lanes_of(hosts: Sequence[Host]) -> tuple[tuple[str, ...], ...]:
    clients = [host.name for host in hosts if "consul-server" not in host.roles]
    return roll_lanes(clients, {host.name: host_workloads(host) for host in hosts})


@pytest.mark.parametrize("seed", range(300))
def test_in_any_role_layout_no_workload_can_be_away_on_every_host_and_no_lane_is_longer_than_ten(seed: int) -> None:
    rng = random.Random(seed)
    hosts = random_layout(rng, rng.choice((rng.randint(1, 12), rng.randint(13, 60), rng.randint(61, 260))))
    clients = [host.name for host in hosts if "consul-server" not in host.roles]
    lanes = lanes_of(hosts)
    layout = {host.name: sorted(host.roles) for host in hosts}
    assert sorted(host for lane in lanes for host in lane) == sorted(clients), layout
    assert all(list(lane) == [host for host in clients if host in lane] for lane in lanes), "a lane keeps the hosts' order"
    assert len(lanes) == math.ceil(len(clients) / LANE_LENGTH), layout
    assert max(map(len, lanes), default=0) <= LANE_LENGTH, lanes
    assert away_at_once_everywhere(lanes, {host.name: host_workloads(host) for host in hosts}) == [], (layout, lanes)


@pytest.mark.parametrize("seed", range(300))
def test_with_any_workloads_on_any_hosts_none_can_be_away_on_every_host(seed: int) -> None:
    """Beyond the stack's two workloads: many, each on a few hosts, some with a server among them."""
    rng = random.Random(seed)
    hosts = [f"h{index}" for index in range(rng.randint(2, 120))]
    servers = set(rng.sample(hosts, rng.choice((1, 3, 5)) if len(hosts) > 5 else 1))
    workloads: dict[str, set[str]] = {host: set() for host in hosts}
    for name in range(rng.randint(1, 40)):
        for host in rng.sample(hosts, rng.randint(1, min(len(hosts), rng.choice((2, 3, 8))))):
            workloads[host].add(f"w{name}")
    clients = [host for host in hosts if host not in servers]
    lanes = roll_lanes(clients, {host: frozenset(names) for host, names in workloads.items()})
    assert sorted(host for lane in lanes for host in lane) == sorted(clients)
    assert away_at_once_everywhere(lanes, {host: frozenset(names) for host, names in workloads.items()}) == [], lanes


def test_up_to_ten_client_hosts_roll_one_after_the_other_in_the_given_order() -> None:
    clients = [f"h{index}" for index in range(10)]
    assert roll_lanes(clients, {host: frozenset({"distributed_app"}) for host in clients}) == (tuple(clients),)
    assert roll_lanes(["shemp", "joe"], {"larry": {"distributed_app"}, "shemp": {"distributed_app"}, "joe": {"distributed_client"}}) == (
        ("shemp", "joe"),
    )


def test_two_hosts_of_a_workload_found_on_client_hosts_only_share_a_lane_where_dealing_in_turn_would_part_them() -> None:
    clients = [f"h{index}" for index in range(30)]
    # Dealt in turn into three lanes, h0 and h1 would roll at the same moment.
    lanes = roll_lanes(clients, {"h0": {"distributed_client"}, "h1": {"distributed_client"}, "server": {"distributed_app"}})
    assert len(lanes) == 3 and max(map(len, lanes)) == 10
    assert any({"h0", "h1"} <= set(lane) for lane in lanes), lanes


def test_a_workload_on_one_host_only_or_with_a_server_asks_nothing() -> None:
    clients = [f"h{index}" for index in range(20)]
    lanes = roll_lanes(clients, {"h0": {"alone"}, "h1": {"shared"}, "h2": {"shared"}, "s": {"shared"}})
    assert lanes == (tuple(clients[0::2]), tuple(clients[1::2]))


def test_a_lane_holds_at_least_one_host() -> None:
    with pytest.raises(ValueError, match="a lane holds at least one host, not 0"):
        roll_lanes(["h0"], {}, lane_length=0)


def test_a_workload_named_twice_on_one_host_is_still_on_one_host() -> None:
    clients = [f"h{index}" for index in range(11)]
    workloads = {"h0": ("x", "x"), "h1": ("x",)}
    assert away_at_once_everywhere(roll_lanes(clients, workloads), workloads) == []
