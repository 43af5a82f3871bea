"""The five-host layout of the Consul agents e2e (harness and real CLI alike), and what a user asks of it."""
from __future__ import annotations

from components.distributed_app import SERVICE_NAME

from .cluster_support import ClusterProbes, SandboxProbes

HOSTS = ("larry", "curly", "moe", "shemp", "joe")
SERVERS = ("larry", "curly", "moe")
CLIENT_AGENTS = ("shemp", "joe")
ROLES = {"larry": ["consul-server", "app"], "curly": ["consul-server"], "moe": ["consul-server"], "shemp": ["app"], "joe": ["client"]}
WORKER_HOSTS = ("larry", "shemp")
WORKER_PORTS = (8081, 8082)
# A worker a user starts by hand during a fault, on a port no stack worker holds.
EXTRA_PORT = 8095
SRV = f"{SERVICE_NAME}.service.consul"


def endpoints(sandbox: SandboxProbes, hosts: tuple[str, ...] = WORKER_HOSTS) -> list[tuple[str, int]]:
    return sorted((sandbox.address(host), port) for host in hosts for port in WORKER_PORTS)


def passing(cluster: ClusterProbes, host: str) -> list[tuple[str, str, int]]:
    """(node, address, port) of every passing worker, as `host`'s agent answers the HTTP API."""
    entries = cluster.consul(host, f"/v1/health/service/{SERVICE_NAME}", passing="true")
    return sorted((e["Node"]["Node"], e["Service"]["Address"], e["Service"]["Port"]) for e in entries)


def srv(cluster: ClusterProbes, host: str) -> list[tuple[str, int]]:
    """The SRV answer for the workers from `host`'s own Consul DNS (port 53 of its address)."""
    return cluster.resolve_srv(host, 53, SRV, tcp=True)


def every_node_resolves(cluster: ClusterProbes, sandbox: SandboxProbes, asking: tuple[str, ...], nodes: tuple[str, ...] = HOSTS) -> bool:
    return all(cluster.resolve(host, 53, f"{node}.node.consul") == [sandbox.address(node)] for host in asking for node in nodes)
