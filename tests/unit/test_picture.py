"""The pictures of the system (docs/dev.svg, docs/cluster.svg) are what the program deploys: drawn from its
registrations under mocks by `make picture`, and equal to a fresh drawing."""
from __future__ import annotations

import pytest

from scripts.picture import PICTURED_STACKS, picture, picture_path
from scripts.picture.model import system


@pytest.mark.parametrize("stack", PICTURED_STACKS)
def test_the_committed_picture_is_the_programs(stack: str) -> None:
    assert picture_path(stack).read_text() == picture(stack), f"docs/{stack}.svg is stale: run `make picture`"


def test_the_dev_picture_shows_who_talks_to_whom() -> None:
    dev = system("dev")
    [host] = dev.hosts
    names = {node.key: node.name for node in host.nodes}
    talks = {(names[e.source], names[e.target]): e.label for e in dev.edges}
    assert talks[("dev-server1", "dev-consul-1")] == "Consul API, DNS"
    assert talks[("dev-client", "dev-server2")] == "HTTP (found in Consul)"
    assert talks[("dev-web", "dev-redis")] == "Redis"
    assert host.swarm_role == "swarm manager"
    assert [s.name for s in dev.swarm_services] == ["dev-heyworld", "dev-heyworld_global"]


def test_the_cluster_picture_has_a_consul_server_per_host_joined_to_the_others() -> None:
    cluster = system("cluster")
    assert [(h.name, h.swarm_role) for h in cluster.hosts] == [
        ("larry", "swarm manager"), ("curly", "swarm worker"), ("moe", "swarm worker")
    ]
    servers = {n.key: h.name for h in cluster.hosts for n in h.nodes if n.role == "Consul server"}
    assert sorted(servers.values()) == ["curly", "larry", "moe"]
    gossip = {frozenset((servers[e.source], servers[e.target])) for e in cluster.edges if e.label == "gossip, raft"}
    assert gossip == {frozenset(pair) for pair in (("larry", "curly"), ("larry", "moe"), ("curly", "moe"))}
