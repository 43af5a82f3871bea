"""The placement check: which node could take a task, and the message when none can."""
from __future__ import annotations

from components.swarm_placement import placement_problem

GIB = 2**30


def node(hostname: str, role: str = "worker", labels: dict | None = None, cpus: int = 2, memory_gib: int = 4, availability: str = "active", state: str = "ready") -> dict:
    return {
        "ID": f"id-{hostname}",
        "Spec": {"Role": role, "Availability": availability, "Labels": labels or {}},
        "Status": {"State": state},
        "Description": {
            "Hostname": hostname,
            "Platform": {"OS": "linux", "Architecture": "x86_64"},
            "Resources": {"NanoCPUs": cpus * 10**9, "MemoryBytes": memory_gib * GIB},
            "Engine": {"Labels": {"storage": "ssd"}},
        },
    }


NODES = [
    node("larry", role="manager", labels={"zone": "a"}),
    node("curly", labels={"zone": "b"}, availability="drain"),
    node("moe", labels={"zone": "c"}, cpus=1),
]


def test_a_node_that_meets_every_constraint_and_has_the_reservation_takes_it() -> None:
    assert placement_problem("web", NODES, ["node.labels.zone!=c", "node.role==manager"], 10**9, GIB) is None
    assert placement_problem("web", NODES, ["engine.labels.storage==ssd", "node.platform.os==linux"], 0, 0) is None


def test_no_node_can_take_it_and_each_says_why() -> None:
    problem = placement_problem("dev-web", NODES, ["node.labels.zone!=a"], 2 * 10**9, 8 * GIB)
    assert problem == "\n".join(
        [
            "swarm service dev-web cannot be placed on any node:",
            "  curly: availability drain; reserves 8192 MiB, has 4096 MiB",
            "  larry: node.labels.zone!=a (node.labels.zone is 'a'); reserves 8192 MiB, has 4096 MiB",
            "  moe: reserves 2 CPUs, has 1; reserves 8192 MiB, has 4096 MiB",
        ]
    )


def test_a_label_a_node_lacks_fails_an_equality_and_meets_an_inequality() -> None:
    assert placement_problem("web", NODES[:1], ["node.labels.disk==ssd"], 0, 0) == (
        "swarm service web cannot be placed on any node:\n  larry: node.labels.disk==ssd (node.labels.disk is None)"
    )
    assert placement_problem("web", NODES[:1], ["node.labels.disk!=ssd"], 0, 0) is None
