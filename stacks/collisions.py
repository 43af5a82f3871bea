"""What the stack publishes and names on each engine, checked against itself before anything is declared.

Docker refuses a second container or network of one name on an engine, a network whose subnet overlaps
another's there, and a host port that something holds already on the same address; Swarm refuses a second
service of one name or on one published port, and a service name that is not a DNS label. Each is found here, from the parsed config, and refused with
the key that brought in the later one and what holds the name or port already.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator, Optional

from components import compose_app
from components.consul_cluster import server_container_name
from components.consul_server import host_ports
from components.distributed_app import worker_container_name
from components.mesh_pod import pod_container_name
from components.mesh_sidecar import sidecar_container_name
from components.swarm_cluster import MANAGER_PORT
from stacks import names
from stacks.config_values import ConfigError, ConfigValues

if TYPE_CHECKING:
    from components.compose_project import Project
    from stacks.config import ClusterConfig, LocalConfig, SandboxConfig, StackConfig

ONE_ENGINE = "the same engine"
SWARM = "the swarm"
# Every swarm node listens for the others' gossip on this port, TCP and UDP, on all its addresses.
SWARM_GOSSIP_PORT = 7946
# swarmkit's rule for a service's name (controlapi's validateAnnotations): a DNS label.
SWARM_NAME = re.compile(r"^[a-zA-Z0-9](?:[-_]*[A-Za-z0-9]+)*$")
SWARM_NAME_MAX = 63


@dataclass(frozen=True)
class Published:
    """A host port something publishes on an engine."""

    engine: str
    """Where, as an error says it: "the same engine", "host 'larry'"."""
    port: int
    protocol: str
    address: Optional[str]
    """None: every address of the engine (as Swarm publishes)."""
    key: Optional[str]
    """The config key it comes from; None where the stack publishes it whatever the config."""
    owner: str = ""
    """What it is, where its key does not say."""
    label: str = ""
    """Which part of the key's value it is, e.g. "service 'db'"."""


@dataclass(frozen=True)
class Named:
    """A name only one thing of its kind may have on an engine (or the swarm)."""

    kind: str
    engine: str
    name: str
    key: Optional[str]
    """The config key it comes from; None where the stack's name alone makes it."""
    owner: str = ""
    label: str = ""


@dataclass(frozen=True)
class Subnet:
    """A network's fixed subnet on an engine, or on the swarm for an overlay network (Docker keeps the two apart)."""

    engine: str
    subnet: ipaddress.IPv4Network | ipaddress.IPv6Network
    key: str
    owner: str = ""
    label: str = ""


def check_collisions(cfg: StackConfig, values: ConfigValues) -> None:
    """Raises, naming the later key, at the first name Swarm refuses, name taken twice, subnet overlapped or port published twice."""
    claims = declared_names(cfg)
    for named in claims:
        problem = _swarm_name_problem(named.name) if named.kind == "swarm service" else None
        if problem:
            raise _refusal(values, cfg.stack, named, f"swarm service name {named.name!r} {problem}")
    taken = first_name_clash(claims)
    if taken:
        later, earlier = taken
        raise _refusal(values, cfg.stack, later, f"{later.kind} name {later.name!r} is also taken by {_owner(values, earlier)} on {later.engine}")
    overlap = first_subnet_overlap(fixed_subnets(cfg))
    if overlap:
        later, earlier = overlap
        raise _refusal(
            values, cfg.stack, later, f"subnet {later.subnet} overlaps {_owner(values, earlier)} ({earlier.subnet}) on {later.engine}"
        )
    bound = first_port_clash(published_ports(cfg))
    if bound:
        later, earlier = bound
        protocol = "" if later.protocol == "tcp" else f"/{later.protocol}"
        raise _refusal(
            values, cfg.stack, later, f"port {later.port}{protocol} is also published by {_owner(values, earlier)} on {later.engine}"
        )


def first_name_clash(claims: list[Named]) -> Optional[tuple[Named, Named]]:
    """The first name taken twice, and what took it first."""
    seen: dict[tuple[str, str, str], Named] = {}
    for later in claims:
        earlier = seen.setdefault((later.kind, later.engine, later.name), later)
        if earlier is not later:
            return later, earlier
    return None


def first_port_clash(ports: list[Published]) -> Optional[tuple[Published, Published]]:
    """The first port and protocol bound twice on one engine at a shared address, and what bound it first."""
    seen: dict[tuple[str, int, str], list[Published]] = {}
    for later in ports:
        bound = seen.setdefault((later.engine, later.port, later.protocol), [])
        for earlier in bound:
            if later.address is None or earlier.address is None or later.address == earlier.address:
                return later, earlier
        bound.append(later)
    return None


def first_subnet_overlap(subnets: list[Subnet]) -> Optional[tuple[Subnet, Subnet]]:
    """The first subnet that overlaps an earlier one on its engine, and that one."""
    for index, later in enumerate(subnets):
        for earlier in subnets[:index]:
            if later.engine == earlier.engine and later.subnet.overlaps(earlier.subnet):
                return later, earlier
    return None


def fixed_subnets(cfg: StackConfig) -> list[Subnet]:
    """The subnets the stack's networks are given; Docker picks the others from what is free."""
    found = [Subnet(ONE_ENGINE, ipaddress.ip_network(cfg.local.network_subnet), "networkSubnet")] if cfg.local else []
    if cfg.compose is None:
        return found
    project = cfg.compose.project
    manager = _engine(cfg.cluster.swarm_manager) if cfg.cluster else ONE_ENGINE
    for key, network in project.networks.items():
        # An external network is one the file means to share: it is there already.
        if network.external:
            continue
        engine = SWARM if project.swarm_scoped(key, cfg.compose.swarm) else manager
        for pool in network.subnets:
            subnet = _network(pool.get("subnet"))
            if subnet is not None:
                found.append(Subnet(engine, subnet, "composeFile", label=f"network {key!r}"))
    return found


def published_ports(cfg: StackConfig) -> list[Published]:
    """Every host port the stack publishes, on each engine, in the order the config brings them in."""
    if cfg.local is not None:
        found = list(_local_ports(cfg, cfg.local))
        swarm_nodes: tuple[str, ...] = (ONE_ENGINE,)
        manager = ONE_ENGINE
    elif cfg.cluster is not None:
        found = list(_cluster_ports(cfg, cfg.cluster))
        swarm_nodes = tuple(_engine(host.name) for host in cfg.cluster.hosts)
        manager = _engine(cfg.cluster.swarm_manager)
    else:
        return []
    # A service's published port is held on every node: ingress mode is published there by the routing
    # mesh, and a host-mode task may be placed on any node the plan cannot tell apart.
    for service in cfg.swarm.services:
        for index, port in enumerate(service.ports):
            found += [Published(node, port.published, port.protocol, None, f"swarmServices.{service.name}.ports[{index}]") for node in swarm_nodes]
    if cfg.compose is not None:
        found += _compose_ports(cfg.compose.project, cfg.compose.swarm, manager, swarm_nodes)
    return found


def _local_ports(cfg: StackConfig, local: LocalConfig) -> Iterator[Published]:
    yield from _swarm_ports(ONE_ENGINE, manager=True)
    yield Published(ONE_ENGINE, local.consul_http_port, "tcp", _address(local.publish_address), "consulHttpPort")
    for protocol in ("udp", "tcp"):
        yield Published(ONE_ENGINE, local.consul_dns_port, protocol, _address(local.publish_address), "consulDnsPort")
    # A swarm service publishes on every address of the node.
    web_address = _address(local.publish_address) if cfg.swarm.compose_web.mode == "container" else None
    yield Published(ONE_ENGINE, cfg.workload.web_port, "tcp", web_address, "webPort")


def _cluster_ports(cfg: StackConfig, cluster: ClusterConfig) -> Iterator[Published]:
    for host in cluster.hosts:
        yield from _swarm_ports(_engine(host.name), manager=host.name == cluster.swarm_manager)
    for host in cluster.hosts:
        server = "consul-server" in host.roles
        for port in host_ports(host.address, tls=cfg.workload.consul_tls, server=server):
            owner = "the Consul server" if server else "the Consul client agent"
            yield Published(_engine(host.name), port.external, port.protocol, port.ip, None, owner=owner)
    for host in cluster.with_role("app"):
        for index, worker in enumerate(names.worker_ids(cfg.workload.app_workers)):
            yield Published(_engine(host.name), cfg.workload.worker_port + index, "tcp", host.address, "workerPort", label=f"worker {worker}")


def _swarm_ports(engine: str, manager: bool) -> Iterator[Published]:
    if manager:
        yield Published(engine, MANAGER_PORT, "tcp", None, None, owner="Swarm (its managers' API)")
    for protocol in ("tcp", "udp"):
        yield Published(engine, SWARM_GOSSIP_PORT, protocol, None, None, owner="Swarm (its nodes' gossip)")


def _compose_ports(project: Project, swarm: bool, manager: str, swarm_nodes: tuple[str, ...]) -> Iterator[Published]:
    # Containers run on the manager's engine; a service with `deploy` is a swarm service on a swarm.
    for service in project.services:
        for port in service.ports:
            if port.published is None:
                continue
            if service.deploy and swarm:
                for node in swarm_nodes:
                    yield Published(node, port.published, port.protocol, None, "composeFile", label=f"service {service.name!r}")
            else:
                yield Published(manager, port.published, port.protocol, _address(port.host_ip), "composeFile", label=f"service {service.name!r}")


def declared_names(cfg: StackConfig) -> list[Named]:
    """Every container, network and swarm service name the stack takes, in the order the config brings them in."""
    stack = cfg.stack
    if cfg.sandbox is not None:
        return list(_sandbox_names(stack, cfg.sandbox))
    if cfg.local is not None:
        found, manager = list(_local_names(cfg)), ONE_ENGINE
    else:
        assert cfg.cluster is not None, "every environment is local, cluster or sandbox"
        found, manager = list(_cluster_names(cfg, cfg.cluster)), _engine(cfg.cluster.swarm_manager)
    heyworld, heyworld_global = names.heyworld_services(stack)
    found += [Named("swarm service", SWARM, heyworld, None, owner="heyworld"), Named("swarm service", SWARM, heyworld_global, None, owner="heyworld_global")]
    if cfg.swarm.compose_web.mode == "swarm":
        found.append(Named("swarm service", SWARM, compose_app.web_name(stack), "composeWeb.mode", owner="the compose app's web"))
    found += [
        Named("swarm service", SWARM, names.configured_service(stack, service.name), f"swarmServices.{service.name}")
        for service in cfg.swarm.services
    ]
    if cfg.compose is not None:
        found += _compose_names(cfg.compose.project, cfg.compose.swarm, manager)
    return found


def _local_names(cfg: StackConfig) -> Iterator[Named]:
    stack, web_mode = cfg.stack, cfg.swarm.compose_web.mode
    for node in names.consul_nodes(cfg.workload.consul_servers):
        yield Named("container", ONE_ENGINE, server_container_name(stack, node), None, owner=f"Consul server {node}")
    yield from _worker_names(cfg, ONE_ENGINE)
    yield from _client_names(cfg, ONE_ENGINE)
    yield Named("container", ONE_ENGINE, compose_app.redis_container_name(stack), None, owner="the compose app's Redis")
    if web_mode == "container":
        yield Named("container", ONE_ENGINE, compose_app.web_name(stack), None, owner="the compose app's web")
    yield Named("network", ONE_ENGINE, names.network(stack), None, owner="the stack's network")
    yield Named("network", ONE_ENGINE, compose_app.network_name(stack, web_mode == "swarm"), None, owner="the compose app's network")


def _cluster_names(cfg: StackConfig, cluster: ClusterConfig) -> Iterator[Named]:
    stack = cfg.stack
    for host in cluster.hosts:
        yield Named("network", _engine(host.name), names.network(stack), None, owner="the stack's network")
    for host in cluster.with_role("app"):
        yield from _worker_names(cfg, _engine(host.name))
    for host in cluster.with_role("client"):
        yield from _client_names(cfg, _engine(host.name))
    # After the workers' and the client's, so a clash names the host whose name made it.
    for index, host in enumerate(cluster.hosts):
        agent = "the Consul server" if "consul-server" in host.roles else "the Consul client agent"
        yield Named(
            "container", _engine(host.name), server_container_name(stack, host.name), f"{cluster.hosts_key}[{index}].name",
            owner=f"{agent} of {host.name!r}",
        )


def _worker_names(cfg: StackConfig, engine: str) -> Iterator[Named]:
    for worker in names.worker_ids(cfg.workload.app_workers):
        container = worker_container_name(cfg.stack, worker)
        yield Named("container", engine, container, "appWorkers", owner=f"worker {worker}")
        if cfg.workload.consul_mesh is not None:
            yield Named("container", engine, pod_container_name(container), "appWorkers", owner=f"worker {worker}'s pod")
            yield Named("container", engine, sidecar_container_name(container), "appWorkers", owner=f"worker {worker}'s sidecar")


def _client_names(cfg: StackConfig, engine: str) -> Iterator[Named]:
    container = names.client_container(cfg.stack)
    yield Named("container", engine, container, None, owner="the client")
    if cfg.workload.consul_mesh is not None:
        yield Named("container", engine, sidecar_container_name(container), None, owner="the client's sidecar")


def _sandbox_names(stack: str, sandbox: SandboxConfig) -> Iterator[Named]:
    yield Named("container", ONE_ENGINE, names.sandbox_registry_container(stack), None, owner="the sandbox's registry")
    for host in sandbox.hosts:
        yield Named("container", ONE_ENGINE, names.sandbox_host_container(stack, host.name), "sandboxHosts", owner=f"sandbox host {host.name!r}")


def _compose_names(project: Project, swarm: bool, manager: str) -> Iterator[Named]:
    from components.compose_project.model import swarm_service_name

    for key, network in project.networks.items():
        # An external network is one the file means to share.
        if not network.external:
            yield Named("network", manager, network.name, "composeFile", label=f"network {key!r}")
    for service in project.services:
        if service.deploy and swarm:
            yield Named("swarm service", SWARM, swarm_service_name(project.name, service.name), "composeFile", label=f"service {service.name!r}")
        else:
            for name in service.container_names(project.name):
                yield Named("container", manager, name, "composeFile", label=f"service {service.name!r}")


def _swarm_name_problem(name: str) -> Optional[str]:
    if not SWARM_NAME.match(name):
        return "is not one Swarm takes: letters and digits, joined by '-' or '_'"
    if len(name) > SWARM_NAME_MAX:
        return f"is {len(name)} characters long; Swarm takes {SWARM_NAME_MAX} at most"
    return None


def _refusal(values: ConfigValues, stack: str, later: Published | Named | Subnet, problem: str) -> ConfigError:
    text = f"{later.label}: {problem}" if later.label else problem
    if later.key is None:
        return ConfigError(f"stack name {stack!r}: {text}")
    return values.fail(later.key, text)


def _owner(values: ConfigValues, claim: Published | Named | Subnet) -> str:
    if claim.owner:
        return claim.owner
    assert claim.key is not None, "a claim without a key says what it is"
    return f"{claim.label} of `{values.key(claim.key)}`" if claim.label else f"`{values.key(claim.key)}`"


def _engine(host: str) -> str:
    return f"host {host!r}"


def _network(subnet: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """The subnet, or None for what is none (Docker refuses that itself, naming it)."""
    try:
        return ipaddress.ip_network(subnet, strict=False)
    except (TypeError, ValueError):
        return None


def _address(address: Optional[str]) -> Optional[str]:
    """None for every address (unset, 0.0.0.0 or ::), else the address."""
    if not address:
        return None
    try:
        return None if ipaddress.ip_address(address).is_unspecified else address
    except ValueError:
        return address
