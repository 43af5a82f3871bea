"""One Consul server agent in a container, with its data on a volume; what every agent's container shares."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import pulumi
import pulumi_docker as docker

from components.consul_tls import CA_FILE, HTTPS_PORT, TLS_CONFIG_FILE, AgentTls
from components.container_resources import container_resource_args
from components.options import child_options, component_options, preparation_options
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
# Where Envoy sidecars get their configuration (xDS) from an agent: plain gRPC, or gRPC over TLS when the
# agent's API is HTTPS only (Consul's defaults for the two).
GRPC_PORT = 8502
GRPC_TLS_PORT = 8503
# Serf LAN: what the servers and the other agents gossip with a client agent on.
CLIENT_PORTS = (8301,)
DATA_DIR = "/consul/data"
# Secrets reach the agent in a file uploaded before it starts, never on its command line or in its
# environment, where `docker inspect` shows them.
SECRET_CONFIG_FILE = "/consul/config/secrets.json"
# Where the server's own `consul` commands (its health check, an operator's `docker exec`) find a token
# once ACLs deny by default.
TOKEN_FILE = "/consul/config/cli.token"
# Healthy once this server follows a leader, or while it has never been part of a cluster (nothing
# in its raft log yet: the servers of a new cluster must all start before any of them has a leader).
# A replaced server keeps its raft log on the data volume, so it is healthy again only once it has
# rejoined: the cluster waits for that before it replaces the next server. With ACLs, a cluster that
# never had a leader refuses `consul info` ("ACL system must be bootstrapped"): that is the new
# cluster's case too, whereas a server holding the cluster's data resolves its token itself.
SERVING_CHECK = "consul info 2>&1 | grep -Eq 'leader_addr = [0-9a-f]|last_log_index = 0$|ACL system must be bootstrapped'"
# Docker's embedded DNS, as seen from inside the Consul container: a recursor that knows the
# containers on the server's network and forwards everything else to the engine's own resolvers.
DOCKER_EMBEDDED_DNS = "127.0.0.11"


@dataclass(frozen=True)
class PublishedPort:
    """A container port published on the engine's host: `ip:external` reaches `internal`."""

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
    """A fixed address on `network_name`, for containers that use this server as their DNS server."""
    resources: Resources = Resources()
    """CPU and memory limits of the agent's container."""
    secret_config: Optional[pulumi.Input[str]] = None
    """Agent configuration (JSON) holding secrets, such as the gossip key; give it as a secret."""
    cli_token: Optional[pulumi.Input[str]] = None
    """The ACL token the server's own `consul` commands use; give it as a secret."""
    retain_data: bool = False
    """Keep the data volume when the server is destroyed (Pulumi's retain_on_delete)."""
    tls: Optional[AgentTls] = None
    """Serve the API over HTTPS only (on HTTPS_PORT) and verify the other servers on RPC."""
    raft_multiplier: Optional[int] = None
    """Scales Consul's raft timeouts, 1 (fastest failover) to 10; None keeps Consul's default, 5."""
    connect: bool = False
    """Consul's service mesh: its built-in CA issues the sidecars' certificates and the agent answers them."""
    grpc: bool = False
    """Serve Envoy sidecars their configuration on gRPC (GRPC_PORT, or GRPC_TLS_PORT with TLS)."""


def api_port(tls: bool) -> int:
    """The port the HTTP API listens on inside the container: HTTPS only, with TLS."""
    return HTTPS_PORT if tls else HTTP_PORT


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
        # A flag would win over the TLS config file, which turns plain HTTP off.
        *([f"-http-port={HTTP_PORT}"] if args.tls is None else []),
        f"-dns-port={DNS_PORT}",
    ]
    if args.advertise_address:
        command.append(f"-advertise={args.advertise_address}")
    command += [f"-retry-join={address}" for address in args.retry_join]
    command += [f"-recursor={recursor}" for recursor in args.recursors]
    if args.ui:
        command.append("-ui")
    if args.secret_config is not None:
        command.append(f"-config-file={SECRET_CONFIG_FILE}")
    if args.tls is not None:
        command.append(f"-config-file={TLS_CONFIG_FILE}")
    if args.raft_multiplier is not None:
        command.append(f"-hcl=performance {{ raft_multiplier = {args.raft_multiplier} }}")
    if args.connect:
        command.append("-hcl=connect { enabled = true }")
    if args.grpc:
        command.append(f"-hcl=ports {{ grpc_tls = {GRPC_TLS_PORT} }}" if args.tls is not None else f"-grpc-port={GRPC_PORT}")
    return command


def uploads(
    secret_config: Optional[pulumi.Input[str]], cli_token: Optional[pulumi.Input[str]], tls: Optional[AgentTls]
) -> list[docker.ContainerUploadArgs]:
    """An agent's files: its secret configuration, its own commands' token, its TLS material."""
    files = {SECRET_CONFIG_FILE: secret_config, TOKEN_FILE: cli_token}
    found = [docker.ContainerUploadArgs(file=path, content=content) for path, content in files.items() if content is not None]
    return found + (tls.uploads() if tls is not None else [])


def agent_environment(cli_token: Optional[pulumi.Input[str]], tls: Optional[AgentTls]) -> list[str]:
    """What an agent's own `consul` commands need: the right to bind DNS_PORT, and how to reach the API."""
    # The official image drops to an unprivileged user; this lets Consul still bind DNS_PORT.
    env = ["CONSUL_ALLOW_PRIVILEGED_PORTS=yes"]
    if cli_token is not None:
        env.append(f"CONSUL_HTTP_TOKEN_FILE={TOKEN_FILE}")
    if tls is not None:
        env += [f"CONSUL_HTTP_ADDR=https://127.0.0.1:{HTTPS_PORT}", f"CONSUL_CACERT={CA_FILE}"]
    return env


def host_ports(address: str, tls: bool = False, server: bool = True, grpc: bool = False) -> tuple[PublishedPort, ...]:
    """Every port an agent on its own host publishes, bound to that host's private address only: a
    server's RPC, Serf LAN and WAN; a client agent's Serf LAN only (it calls the servers, nobody calls it
    on RPC); both agents' API and DNS, which the host's containers use; with `grpc`, the gRPC port the
    host's Envoy sidecars take their configuration from."""
    ports = [PublishedPort(port, port, address) for port in (SERVER_PORTS if server else CLIENT_PORTS)]
    ports += [PublishedPort(port, port, address, "udp") for port in (SERF_PORTS if server else CLIENT_PORTS)]
    ports += [PublishedPort(api_port(tls), api_port(tls), address)]
    if grpc:
        ports.append(PublishedPort(grpc_port(tls), grpc_port(tls), address))
    ports += dns_ports(address, DNS_PORT)
    return tuple(ports)


def grpc_port(tls: bool) -> int:
    """Where an agent serves Envoy its configuration: gRPC over TLS with TLS on, else plain."""
    return GRPC_TLS_PORT if tls else GRPC_PORT


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


@dataclass(frozen=True)
class AgentContainer:
    """An agent's container, server or client: what tells the two apart is its command and health check."""

    container_name: str
    node_name: str
    image: pulumi.Input[str]
    network_name: pulumi.Input[str]
    command: list[str]
    envs: list[str]
    health_check: str
    published_ports: Sequence[PublishedPort]
    uploads: list[docker.ContainerUploadArgs]
    resources: Resources
    retain_data: bool
    ipv4_address: Optional[str] = None


def agent_container(
    parent: pulumi.ComponentResource, name: str, spec: AgentContainer, opts: pulumi.ResourceOptions | None
) -> docker.Container:
    """The agent's data volume, its image and its container, healthy (`wait`) once `health_check` passes."""
    published_once_each(spec.published_ports)
    data = docker.Volume(
        f"{name}-data",
        name=f"{spec.container_name}-data",
        opts=preparation_options(parent, retain_on_delete=spec.retain_data),
    )
    return docker.Container(
        f"{name}-agent",
        **container_resource_args(spec.resources),
        name=spec.container_name,
        hostname=spec.node_name,
        image=pulled_image(f"{name}-image", spec.image, preparation_options(parent)).image_id,
        command=spec.command,
        networks_advanced=[
            docker.ContainerNetworksAdvancedArgs(
                name=spec.network_name, aliases=[spec.node_name], ipv4_address=spec.ipv4_address
            )
        ],
        envs=spec.envs,
        ports=[
            docker.ContainerPortArgs(internal=p.internal, external=p.external, ip=p.ip, protocol=p.protocol)
            for p in spec.published_ports
        ]
        or None,
        volumes=[docker.ContainerVolumeArgs(volume_name=data.name, container_path=DATA_DIR)],
        uploads=spec.uploads or None,
        restart="unless-stopped",
        healthcheck=docker.ContainerHealthcheckArgs(
            tests=["CMD-SHELL", spec.health_check], interval="2s", timeout="3s", start_period="45s", retries=5
        ),
        wait=True,
        # The name and the published ports cannot be held twice on one engine.
        opts=child_options(parent, opts, delete_before_replace=True),
    )


class ConsulServer(pulumi.ComponentResource):
    container_id: pulumi.Output[str]
    node_name: str

    def __init__(self, name: str, args: ConsulServerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("orchestration:consul:ConsulServer", name, None, component_options(opts))
        container = agent_container(
            self,
            name,
            AgentContainer(
                container_name=args.container_name,
                node_name=args.node_name,
                image=args.image,
                network_name=args.network_name,
                command=agent_command(args),
                envs=agent_environment(args.cli_token, args.tls),
                health_check=SERVING_CHECK,
                published_ports=args.published_ports,
                uploads=uploads(args.secret_config, args.cli_token, args.tls),
                resources=args.resources,
                retain_data=args.retain_data,
                ipv4_address=args.ipv4_address,
            ),
            opts,
        )
        self.node_name = args.node_name
        # Created once the server serves (SERVING_CHECK), after the volume and image: what the host's
        # containers wait for. A handle in the program, not an output of the provider's schema.
        self.container = container
        self.container_id = container.id
        self.register_outputs({"container_id": self.container_id})
