"""The system a stack deploys, as the picture shows it, read from the program's own registrations under mocks.

Hosts are the stack's Docker providers; what runs on each is its containers; who talks to whom is read
from what the program gives each container: the Consul address in its environment (CONSUL_HTTP_ADDR), its
DNS server, the Redis it is pointed at (REDIS_HOST), the servers a Consul server joins (-retry-join). The
one relation no input carries, a client calling the workers it finds in Consul, comes from the components:
a DistributedClient calls every DistributedApp's containers.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from tests.support.program import run_program
from tests.support.recording import ComputedOutputs, RecordingMonitor, Registration

CONTAINER = "docker:index/container:Container"
NETWORK = "docker:index/network:Network"
SERVICE = "docker:index/service:Service"
DOCKER_PROVIDER = "pulumi:providers:docker"
COMMAND = "command:local:Command"

# A container's role, by the component of ours it belongs to; and the row it is drawn in.
ROLES = {
    "ConsulServer": ("Consul server", 0),
    "DistributedApp": ("worker", 1),
    "DistributedClient": ("client", 1),
    "ComposeApp": ("compose service", 1),
    "ComposeProject": ("compose service", 1),
    "ImageRegistry": ("image registry", 1),
    "DockerInDockerHost": ("sandbox host", 1),
}


@dataclass(frozen=True)
class Node:
    key: str
    name: str
    role: str
    row: int
    details: tuple[str, ...]


@dataclass
class Host:
    name: str
    engine: str
    networks: list[str] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)
    swarm_role: str = ""


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str
    both_ways: bool = False


@dataclass
class System:
    stack: str
    hosts: list[Host]
    edges: list[Edge]
    swarm_services: list[Node]


def registrations(stack: str) -> list[Registration]:
    mocks = ComputedOutputs()
    monitor = RecordingMonitor(mocks)
    run_program(mocks, stack, monitor=monitor)
    return sorted(monitor.registrations, key=lambda r: r.urn)


def system(stack: str) -> System:
    return read_system(stack, registrations(stack))


def read_system(stack: str, resources: list[Registration]) -> System:
    by_urn = {r.urn: r for r in resources}
    providers = [r for r in resources if r.type == DOCKER_PROVIDER]
    used = {r.provider_urn for r in resources if r.type in (CONTAINER, NETWORK, SERVICE)}
    hosts = {p.urn: Host(name=_host_name(p, by_urn), engine=p.inputs.get("host", "")) for p in providers if p.urn in used}
    for network in (r for r in resources if r.type == NETWORK):
        host = hosts[network.provider_urn]
        subnets = [c["subnet"] for c in network.inputs.get("ipamConfigs") or [] if c.get("subnet")]
        host.networks.append(" ".join([network.inputs["name"], *subnets, f"({network.inputs.get('driver', 'bridge')})"]))
    containers = [r for r in resources if r.type == CONTAINER]
    component = {c.urn: _component(c, by_urn) for c in containers}
    for container in containers:
        role, row = ROLES.get(component[container.urn], (component[container.urn], 1))
        hosts[container.provider_urn].nodes.append(
            Node(container.urn, container.inputs["name"], role, row, _details(container))
        )
    for host in hosts.values():
        host.nodes.sort(key=lambda n: (n.row, _role_order(n.role), n.name))
    _swarm_roles(resources, hosts, by_urn)
    services = [
        Node(s.urn, s.inputs["name"], "swarm service", 2, (_service_mode(s), s.inputs["taskSpec"]["containerSpec"]["image"].split("@")[0]))
        for s in sorted((r for r in resources if r.type == SERVICE), key=lambda r: r.inputs["name"])
    ]
    # The swarm's manager first, then the others in the order of their engines' addresses.
    ordered = sorted(hosts.values(), key=lambda h: (h.swarm_role != "swarm manager", h.engine, h.name))
    return System(stack, ordered, _edges(containers, component), services)


def _edges(containers: list[Registration], component: dict[str, str]) -> list[Edge]:
    find = _Addresses(containers)
    labels: dict[tuple[str, str], list[str]] = {}
    gossip: set[tuple[str, str]] = set()

    def talk(source: Registration, target: str | None, label: str) -> None:
        if target and target != source.urn and label not in labels.setdefault((source.urn, target), []):
            labels[(source.urn, target)].append(label)

    for container in containers:
        env = dict(item.split("=", 1) for item in container.inputs.get("envs") or [])
        if "CONSUL_HTTP_ADDR" in env:
            address = urlsplit(env["CONSUL_HTTP_ADDR"])
            talk(container, find(container, address.hostname, address.port), "Consul API")
        for server in container.inputs.get("dns") or []:
            talk(container, find(container, server, 53), "DNS")
        if "REDIS_HOST" in env:
            talk(container, find(container, env["REDIS_HOST"], int(env.get("REDIS_PORT", 6379))), "Redis")
        for argument in container.inputs.get("command") or []:
            if argument.startswith("-retry-join="):
                peer = find(container, argument.split("=", 1)[1], 8301)
                if peer:
                    gossip.add(tuple(sorted((container.urn, peer))))  # type: ignore[arg-type]
    workers = [c.urn for c in containers if component[c.urn] == "DistributedApp"]
    for client in (c for c in containers if component[c.urn] == "DistributedClient"):
        for worker in workers:
            talk(client, worker, "HTTP (found in Consul)")
    edges = [Edge(source, target, ", ".join(names)) for (source, target), names in labels.items()]
    edges += [Edge(a, b, "gossip, raft", both_ways=True) for a, b in sorted(gossip)]
    return sorted(edges, key=lambda e: (e.source, e.target))


class _Addresses:
    """Which container an address names: a published port on a host address, or a name on its engine."""

    def __init__(self, containers: list[Registration]) -> None:
        self.published: dict[tuple[str, int], str] = {}
        self.local: dict[tuple[str, str], str] = {}
        for container in containers:
            for port in container.inputs.get("ports") or []:
                self.published[(port.get("ip", "0.0.0.0"), int(port["external"]))] = container.urn
            names = [container.inputs["name"]]
            for network in container.inputs.get("networksAdvanced") or []:
                names += network.get("aliases") or []
                names += [network["ipv4Address"]] if network.get("ipv4Address") else []
            for name in names:
                self.local[(container.provider_urn, name)] = container.urn

    def __call__(self, source: Registration, host: str | None, port: int | None) -> str | None:
        if host is None:
            return None
        if host in ("127.0.0.1", "localhost"):
            return source.urn  # inside a container, loopback is the container itself
        return self.local.get((source.provider_urn, host)) or self.published.get((host, port or 0))


def _details(container: Registration) -> tuple[str, ...]:
    lines = []
    for network in container.inputs.get("networksAdvanced") or []:
        lines.append(" ".join(filter(None, [network["name"], network.get("ipv4Address")])))
    by_address: dict[str, list[int]] = {}
    for port in container.inputs.get("ports") or []:
        by_address.setdefault(port.get("ip", "0.0.0.0"), []).append(int(port["external"]))
    for address, ports in sorted(by_address.items()):
        lines.append(f"publishes {address}: {_ranges(sorted(set(ports)))}")
    return tuple(lines)


def _ranges(ports: list[int]) -> str:
    runs: list[list[int]] = []
    for port in ports:
        if runs and port == runs[-1][-1] + 1:
            runs[-1].append(port)
        else:
            runs.append([port])
    return ", ".join(f"{run[0]}-{run[-1]}" if len(run) > 2 else ", ".join(map(str, run)) for run in runs)


def _component(resource: Registration, by_urn: dict[str, Registration]) -> str:
    while resource.parent in by_urn:
        resource = by_urn[resource.parent]
        if resource.type.startswith("orchestration:"):
            return resource.type.rsplit(":", 1)[1]
    return "container"


def _host_name(provider: Registration, by_urn: dict[str, Registration]) -> str:
    parent = by_urn.get(provider.parent)
    return parent.name if parent is not None else provider.name


def _role_order(role: str) -> int:
    order = ["worker", "client"]
    return order.index(role) if role in order else len(order)


def _service_mode(service: Registration) -> str:
    mode = service.inputs.get("mode") or {}
    if mode.get("global"):
        return "global: a task on every node"
    replicas = int((mode.get("replicated") or {}).get("replicas", 1))
    return f"replicated: {replicas} task{'s' if replicas != 1 else ''}"


def _swarm_roles(resources: list[Registration], hosts: dict[str, Host], by_urn: dict[str, Registration]) -> None:
    """A host that runs the swarm's init is its manager; one that runs a join, a worker."""
    engines = {r.inputs.get("host"): hosts[r.urn] for r in resources if r.urn in hosts}
    for command in (r for r in resources if r.type == COMMAND and _component(r, by_urn) == "SwarmCluster"):
        host = engines.get((command.inputs.get("environment") or {}).get("DOCKER_HOST"))
        if host is None:
            continue
        if command.name.endswith("-init"):
            host.swarm_role = "swarm manager"
        elif "-join-" in command.name and not host.swarm_role:
            host.swarm_role = "swarm worker"
