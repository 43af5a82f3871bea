"""In what order the client agents are created and replaced: lanes, each one host after the other.

A Consul image change replaces every client agent. One chain of all of them kept any service from
being away on every host at once, but made `up` as slow as the host count, and the plan too: the
Pulumi SDK walks everything a resource depends on, transitively, for each dependency it is given,
and a chain reaches every host before it. Lanes bound both. The hosts are dealt into lanes of at most
LANE_LENGTH; each lane rolls one host after the other, each host once its services pass again, and
the lanes roll side by side. So at most one host a lane is away at a time, the number of steps a
first `up` takes one after the other is a lane's length, and a host's agent depends on the few
before it in its lane only.

What guarantees that no workload goes away on every host at once: of the hosts of a workload that
runs on two or more, either one has a server (the servers roll, one at a time, before any client
agent) or two share a lane, and those never roll together.
"""
from __future__ import annotations

import math
from typing import Collection, Mapping, Sequence

LANE_LENGTH = 10
"""Hosts a lane holds at most, unless hosts that must share a lane do not fit otherwise."""


def roll_lanes(
    clients: Sequence[str], workloads: Mapping[str, Collection[str]], lane_length: int = LANE_LENGTH
) -> tuple[tuple[str, ...], ...]:
    """The client hosts dealt into lanes, each in the order `clients` gives them.

    `workloads` maps every host of the cluster (servers too) to the workloads it runs. With up to
    `lane_length` client hosts, a single lane: one host after the other.
    """
    if lane_length < 1:
        raise ValueError(f"a lane holds at least one host, not {lane_length}")
    order = {host: index for index, host in enumerate(clients)}
    group_of = {host: [host] for host in clients}
    for hosts in _workloads_on_client_hosts_only(clients, workloads):
        groups = {id(group_of[host]): group_of[host] for host in hosts}.values()
        if len(groups) < len(hosts):
            continue  # two of its hosts already share a group, so a lane
        smallest, second = sorted(groups, key=lambda group: (len(group), order[group[0]]))[:2]
        smallest.extend(second)
        for host in second:
            group_of[host] = smallest
    groups = sorted(
        {id(group): sorted(group, key=order.__getitem__) for group in group_of.values()}.values(),
        key=lambda group: (-len(group), order[group[0]]),
    )
    lanes: list[list[str]] = [[] for _ in range(math.ceil(len(clients) / lane_length))]
    for group in groups:
        # The shortest lane (the first of those), so lanes stay within one group's size of each other.
        min(lanes, key=len).extend(group)
    return tuple(tuple(sorted(lane, key=order.__getitem__)) for lane in lanes if lane)


def _workloads_on_client_hosts_only(clients: Sequence[str], workloads: Mapping[str, Collection[str]]) -> list[list[str]]:
    """The hosts of each workload that runs on two or more hosts, all of them client hosts; by name."""
    client_hosts = set(clients)
    hosts_of: dict[str, list[str]] = {}
    for host, names in workloads.items():
        for name in set(names):
            hosts_of.setdefault(name, []).append(host)
    return [
        hosts
        for _, hosts in sorted(hosts_of.items())
        if len(hosts) >= 2 and set(hosts) <= client_hosts
    ]
