"""The names the stacks give what they run, where a stack (not a component) chooses them.

The stacks build their resources with these and stacks/collisions.py checks the same names before
anything is declared; the names components derive from a prefix come from the components' own functions.
"""
from __future__ import annotations


def network(stack: str) -> str:
    """The network every container of the stack joins on its engine."""
    return f"{stack}-net"


def consul_nodes(count: int) -> tuple[str, ...]:
    """dev's Consul servers, all on its one engine (in the cluster each is named after its host)."""
    return tuple(f"consul-{index}" for index in range(1, count + 1))


def worker_ids(count: int) -> tuple[str, ...]:
    return tuple(f"server{index}" for index in range(1, count + 1))


def client_container(stack: str) -> str:
    return f"{stack}-client"


def heyworld_services(stack: str) -> tuple[str, str]:
    """heyworld's swarm service and heyworld_global's."""
    return f"{stack}-heyworld", f"{stack}-heyworld_global"


def configured_service(stack: str, name: str) -> str:
    """A `swarmServices` entry's name on the swarm."""
    return f"{stack}-{name}"


def sandbox_registry_container(stack: str) -> str:
    return f"{stack}-registry"


def sandbox_host_container(stack: str, host: str) -> str:
    return f"{stack}-{host}"
