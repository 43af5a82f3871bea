"""One Consul server agent in a container, with its data on a volume."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import pulumi
import pulumi_docker as docker

from components.container_resources import container_resource_args
from components.options import child_options
from components.pulled_image import pulled_image
from components.swarm_policy import Resources

HTTP_PORT = 8500
# Consul answers DNS on 53 inside its container (Consul's default is 8600): a container's resolv.conf
# can name a DNS server but not a port, and each address Consul is published on must map to a port
# of its own inside, or pulumi-docker reads the bindings back in an order that replaces the container.
DNS_PORT = 53
# Server RPC, Serf LAN and Serf WAN: what other servers must reach.
SERVER_PORTS = (8300, 8301, 8302)
SERF_PORTS = (8301, 8302)
DATA_DIR = "/consul/data"
# Healthy once this server follows a leader, or while it has never been part of a cluster (nothing
# in its raft log yet: the servers of a new cluster must all start before any of them has a leader).
# A replaced server keeps its raft log on the data volume, so it is healthy again only once it has
# rejoined: the cluster waits for that before it replaces the next server.
SERVING_CHECK = "consul info | grep -Eq 'leader_addr = [0-9a-f]|last_log_index = 0$'"
# Docker's embedded DNS, as seen from inside the Consul container: a recursor that knows the
# containers on the server's network and forwards everything else to the engine's own resolvers.
DOCKER_EMBEDDED_DNS = "127.0.0.11"


@dataclass(frozen=True)
class PublishedPort:
    internal: int
    external: int
    ip: str
    protocol: str = "tcp"


@dataclass(frozen=True)
class ConsulServerArgs:
    node_name: str
    container_name: str
    datacenter: str
    bootstrap_expect: int
    """How many servers form the cluster; 1 bootstraps a single node."""
    retry_join: Sequence[str]
    """The other servers' addresses; retried until they answer, unlike a one-shot join."""
    image: pulumi.Input[str]
    network_name: pulumi.Input[str]
    advertise_address: Optional[str] = None
    """Address the others reach this server at; by default the container's own."""
    published_ports: Sequence[PublishedPort] = ()
    recursors: Sequence[str] = ()
    """Upstream DNS servers for names outside `.consul`."""
    ui: bool = True
    ipv4_address: Optional[str] = None
    resources: Resources = Resources()
    """CPU and memory limits of the agent's container."""
    """A fixed address on `network_name`, for containers that use this server as their DNS server."""


def agent_command(args: ConsulServerArgs) -> list[str]:
    """The `consul agent` command line for one server."""
    command = [
        "consul",
        "agent",
        "-server",
        f"-node={args.node_name}",
        f"-datacenter={args.datacenter}",
        f"-bootstrap-expect={args.bootstrap_expect}",
        f"-data-dir={DATA_DIR}",
        "-client=0.0.0.0",
        f"-http-port={HTTP_PORT}",
        f"-dns-port={DNS_PORT}",
    ]
    if args.advertise_address:
        command.append(f"-advertise={args.advertise_address}")
    command += [f"-retry-join={address}" for address in args.retry_join]
    command += [f"-recursor={recursor}" for recursor in args.recursors]
    if args.ui:
        command.append("-ui")
    return command


def host_ports(address: str) -> tuple[PublishedPort, ...]:
    """Every port a server on its own host publishes, bound to that host's private address only."""
    ports = [PublishedPort(port, port, address) for port in SERVER_PORTS]
    ports += [PublishedPort(port, port, address, "udp") for port in SERF_PORTS]
    ports += [PublishedPort(HTTP_PORT, HTTP_PORT, address)]
    ports += dns_ports(address, DNS_PORT)
    return tuple(ports)


def dns_ports(address: str, external: int) -> tuple[PublishedPort, ...]:
    """Consul DNS published on `address:external`, over UDP and TCP."""
    return (PublishedPort(DNS_PORT, external, address, "udp"), PublishedPort(DNS_PORT, external, address, "tcp"))


def published_once_each(ports: Sequence[PublishedPort]) -> None:
    """Refuses two bindings of one container port and protocol (see DNS_PORT): they would replace the server on every update."""
    seen: dict[tuple[int, str], PublishedPort] = {}
    for port in ports:
        key = (port.internal, port.protocol)
        if key in seen:
            raise ValueError(f"container port {port.internal}/{port.protocol} is published twice: {seen[key]} and {port}")
        seen[key] = port


class ConsulServer(pulumi.ComponentResource):
    container_id: pulumi.Output[str]
    node_name: str

    def __init__(self, name: str, args: ConsulServerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("orchestration:consul:ConsulServer", name, None, opts)
        published_once_each(args.published_ports)
        child = child_options(self, opts)
        data = docker.Volume(f"{name}-data", name=f"{args.container_name}-data", opts=child)
        container = docker.Container(
            f"{name}-agent",
            **container_resource_args(args.resources),
            name=args.container_name,
            hostname=args.node_name,
            image=pulled_image(f"{name}-image", args.image, child).image_id,
            command=agent_command(args),
            networks_advanced=[
                docker.ContainerNetworksAdvancedArgs(
                    name=args.network_name, aliases=[args.node_name], ipv4_address=args.ipv4_address
                )
            ],
            # The official image drops to an unprivileged user; this lets Consul still bind DNS_PORT.
            envs=["CONSUL_ALLOW_PRIVILEGED_PORTS=yes"],
            ports=[
                docker.ContainerPortArgs(internal=p.internal, external=p.external, ip=p.ip, protocol=p.protocol)
                for p in args.published_ports
            ]
            or None,
            volumes=[docker.ContainerVolumeArgs(volume_name=data.name, container_path=DATA_DIR)],
            restart="unless-stopped",
            healthcheck=docker.ContainerHealthcheckArgs(
                tests=["CMD-SHELL", SERVING_CHECK], interval="2s", timeout="3s", start_period="45s", retries=5
            ),
            wait=True,
            # The name and the published ports cannot be held twice on one engine.
            opts=child_options(self, opts, delete_before_replace=True),
        )
        self.node_name = args.node_name
        self.container_id = container.id
        self.register_outputs({"container_id": self.container_id})
