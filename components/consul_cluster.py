"""N Consul servers, on one engine or one per host, and a readiness gate on their quorum."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import pulumi
import pulumi_command as command
import pulumi_consul as consul
import pulumi_docker as docker

from components.consul_server import ConsulServer, ConsulServerArgs, PublishedPort
from components.options import child_options
from components.swarm_policy import Resources

VALID_SERVER_COUNTS = (1, 3, 5)
READINESS_SCRIPT = (Path(__file__).parent / "consul_readiness.py").read_text()


@dataclass(frozen=True)
class ConsulNodeSpec:
    node_name: str
    provider: docker.Provider
    """The engine this server runs on."""
    network_name: pulumi.Input[str]
    join_address: str
    """How the other servers reach this one: a container name on a shared network, or a host address."""
    advertise_address: Optional[str] = None
    published_ports: Sequence[PublishedPort] = ()
    ipv4_address: Optional[str] = None
    """A fixed address on `network_name`, where containers find this server's DNS."""


@dataclass(frozen=True)
class ConsulClusterArgs:
    name_prefix: str
    datacenter: str
    image: str
    nodes: Sequence[ConsulNodeSpec]
    http_address: str
    """host:port of the HTTP API as seen from where Pulumi runs; the readiness check polls it."""
    dns_address: str
    """host:port of the DNS interface as seen from where Pulumi runs."""
    recursors: Sequence[str] = ()
    ready_timeout_seconds: int = 180
    acl_token: Optional[pulumi.Input[str]] = None
    resources: Resources = Resources()
    """CPU and memory limits of each server's container."""


def retry_join_for(nodes: Sequence[ConsulNodeSpec], node: ConsulNodeSpec) -> list[str]:
    """Every other server's join address."""
    return [other.join_address for other in nodes if other is not node]


class ConsulCluster(pulumi.ComponentResource):
    http_address: str
    dns_address: str
    node_names: tuple[str, ...]
    ready: command.local.Command
    """Completes once there is a leader and every server is a raft peer; depend on it."""
    container_names: dict[str, str]
    """Node name -> the server's container name on its engine."""
    provider: consul.Provider
    """Manages what lives in this cluster; it waits for `ready`, so nothing is tried against a cluster that isn't there."""

    def __init__(self, name: str, args: ConsulClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("orchestration:consul:ConsulCluster", name, None, opts)
        if len(args.nodes) not in VALID_SERVER_COUNTS:
            raise ValueError(f"a Consul cluster needs {VALID_SERVER_COUNTS} servers, not {len(args.nodes)}")
        servers: list[ConsulServer] = []
        for node in args.nodes:
            servers.append(
                ConsulServer(
                    f"{name}-{node.node_name}",
                    ConsulServerArgs(
                        node_name=node.node_name,
                        container_name=f"{args.name_prefix}-{node.node_name}",
                        datacenter=args.datacenter,
                        bootstrap_expect=len(args.nodes),
                        retry_join=retry_join_for(args.nodes, node),
                        image=args.image,
                        network_name=node.network_name,
                        advertise_address=node.advertise_address,
                        published_ports=node.published_ports,
                        recursors=args.recursors,
                        ipv4_address=node.ipv4_address,
                        resources=args.resources,
                    ),
                    # One server after the other, each once it serves (see SERVING_CHECK): an update
                    # that replaces every server never takes them all down at once.
                    opts=child_options(self, opts, providers={"docker": node.provider}, depends_on=servers[-1:]),
                )
            )
        self.ready = command.local.Command(
            f"{name}-ready",
            # The script goes in on stdin, so it runs wherever Pulumi does, from any directory.
            create="python3 -",
            stdin=READINESS_SCRIPT,
            environment={
                "CONSUL_HTTP_ADDR": args.http_address,
                "CONSUL_EXPECTED_SERVERS": str(len(args.nodes)),
                "CONSUL_READY_TIMEOUT": str(args.ready_timeout_seconds),
            },
            # A replaced server must be waited for again.
            triggers=[server.container_id for server in servers],
            opts=child_options(self, opts, depends_on=servers),
        )
        self.provider = consul.Provider(
            f"{name}-api",
            address=args.http_address,
            datacenter=args.datacenter,
            token=args.acl_token,
            opts=child_options(self, opts, depends_on=[self.ready]),
        )
        self.http_address = args.http_address
        self.dns_address = args.dns_address
        self.node_names = tuple(node.node_name for node in args.nodes)
        self.container_names = {node.node_name: f"{args.name_prefix}-{node.node_name}" for node in args.nodes}
        self.register_outputs(
            {"http_address": self.http_address, "dns_address": self.dns_address, "node_names": list(self.node_names)}
        )
