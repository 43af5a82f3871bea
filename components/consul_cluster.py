"""N Consul servers, on one engine or one per host, a readiness gate on their quorum, and a client agent
on every host without a server."""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import pulumi
import pulumi_command as command
import pulumi_consul as consul
import pulumi_docker as docker
import pulumi_random as random

from components.consul_client_agent import ConsulClientAgent, ConsulClientAgentArgs
from components.consul_roll_order import roll_lanes
from components.consul_server import ConsulServer, ConsulServerArgs, PublishedPort, api_port
from components.consul_tls import AgentIdentity, ConsulCertificates, ConsulCertificatesArgs
from components.options import child_options, preparation_options, component_options
from components.swarm_policy import Resources

VALID_SERVER_COUNTS = (1, 3, 5)
HEX_DIGITS = "0123456789abcdef"
READINESS_SCRIPT = (Path(__file__).parent / "consul_readiness.py").read_text()


@dataclass(frozen=True)
class ConsulNodeSpec:
    """One agent of the cluster, server or client: its name, the engine it runs on and how the others reach it."""

    node_name: str
    provider: docker.Provider
    """The engine this server runs on."""
    network_name: pulumi.Input[str]
    join_address: str
    """How the other agents reach this one: a container name on a shared network, or a host address."""
    advertise_address: Optional[str] = None
    published_ports: Sequence[PublishedPort] = ()
    ipv4_address: Optional[str] = None
    """A fixed address on `network_name`, where containers find this server's DNS."""
    workloads: Sequence[str] = ()
    """What runs on this host by name (a Consul service, a client): client agents are rolled so that a
    workload on two or more hosts never loses every host's agent at once (components/consul_roll_order.py)."""


@dataclass(frozen=True)
class ConsulClusterArgs:
    name_prefix: str
    datacenter: str
    image: str
    nodes: Sequence[ConsulNodeSpec]
    """The servers."""
    http_address: str
    """host:port of the HTTP API as seen from where Pulumi runs; the readiness check polls it."""
    dns_address: str
    """host:port of the DNS interface as seen from where Pulumi runs."""
    recursors: Sequence[str] = ()
    ready_timeout_seconds: int = 180
    gossip_encryption: bool = False
    """Encrypt the servers' gossip with a key generated once for the cluster and kept secret."""
    acl: bool = False
    """Deny by default; a management token generated once, kept secret, held by `provider`."""
    retain_data: bool = False
    """Keep the servers' data volumes on destroy; a new cluster of the same names takes them up again."""
    resources: Resources = Resources()
    """CPU and memory limits of each server's container."""
    raft_multiplier: Optional[int] = None
    """Scales Consul's raft timeouts: 1, Consul's advice for production, finds a new leader in about 3 s
    where the default (None: 5) takes about 15 s; on a starved machine a low value may call needless elections."""
    tls: bool = False
    """HTTPS only and verified RPC, with a CA and a certificate per agent made for the cluster;
    `http_address` must then name the published HTTPS port."""
    connect: bool = False
    """Consul's service mesh on: its CA issues and rotates the sidecars' certificates."""
    grpc: bool = False
    """Envoy sidecars get their configuration from their agent (a server's, or a client agent's) over gRPC."""
    clients: Sequence[ConsulNodeSpec] = ()
    """Hosts without a server: a client agent on each, joined to the servers with the same gossip key,
    CA and ACLs (a token of its own, Consul's node identity), for that host's containers to register
    with and ask. `advertise_address` is required: the servers gossip with it there."""


def server_container_name(name_prefix: str, node_name: str) -> str:
    """A server's container name on its engine."""
    return f"{name_prefix}-{node_name}"


def retry_join_for(nodes: Sequence[ConsulNodeSpec], node: ConsulNodeSpec) -> list[str]:
    """Every other server's join address."""
    return [other.join_address for other in nodes if other is not node]


def server_identity(node: ConsulNodeSpec, http_address: str) -> AgentIdentity:
    """Every name and address a server may be dialled at.

    Each server's certificate also names the address Pulumi reaches the API at (`http_address`),
    whichever server stands behind it: the servers are peers that trust each other alike.
    """
    published = [port.ip for port in node.published_ports if port.ip not in ("", "0.0.0.0")]
    pulumi_dials = http_address.rsplit(":", 1)[0]
    dialled = [node.node_name, node.join_address, node.advertise_address, node.ipv4_address, *published, pulumi_dials]
    return AgentIdentity(node.node_name, [address for address in dialled if address])


def client_identity(node: ConsulNodeSpec) -> AgentIdentity:
    """Every name and address a client agent's API is dialled at: its host's containers use the host's address."""
    published = [port.ip for port in node.published_ports if port.ip not in ("", "0.0.0.0")]
    dialled = [node.node_name, node.join_address, node.advertise_address, *published]
    return AgentIdentity(node.node_name, [address for address in dialled if address])


class ConsulCluster(pulumi.ComponentResource):
    http_address: str
    dns_address: str
    node_names: tuple[str, ...]
    ready: command.local.Command
    """Completes once there is a leader and every server is a raft peer; depend on it."""
    container_names: dict[str, str]
    """Node name -> the agent's container name on its engine, server or client."""
    client_node_names: tuple[str, ...]
    """The hosts with a client agent."""
    provider: consul.Provider
    """Manages what lives in this cluster; it waits for `ready`, so nothing is tried against a cluster that isn't there."""
    management_token: Optional[pulumi.Output[str]]
    """With ACLs, the secret management token `provider` holds; None without."""
    scheme: str
    """How `http_address` is spoken: "https" with TLS, else "http"."""
    ca_cert_pem: Optional[pulumi.Output[str]]
    """With TLS, the CA that signed every server's certificate: what a client of the API verifies with."""

    def __init__(self, name: str, args: ConsulClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("orchestration:consul:ConsulCluster", name, None, component_options(opts))
        if len(args.nodes) not in VALID_SERVER_COUNTS:
            raise ValueError(f"a Consul cluster needs {VALID_SERVER_COUNTS} servers, not {len(args.nodes)}")
        names = [node.node_name for node in (*args.nodes, *args.clients)]
        duplicates = sorted({node for node in names if names.count(node) > 1})
        if duplicates:
            raise ValueError(f"nodes {duplicates} are named twice; each agent is a node of its own")
        unadvertised = [node.node_name for node in args.clients if not node.advertise_address]
        if unadvertised:
            raise ValueError(f"client agents {unadvertised} need an advertise_address: the servers gossip with them there")
        self.management_token = self._hex_secret(f"{name}-management-token", 32).apply(_as_uuid) if args.acl else None
        gossip = self._gossip_config(name, args)
        secret_config = _secret_config(gossip, self.management_token.apply(_server_acl_config) if self.management_token is not None else None)
        certificates = (
            ConsulCertificates(
                f"{name}-tls",
                ConsulCertificatesArgs(
                    args.datacenter,
                    servers=[server_identity(node, args.http_address) for node in args.nodes],
                    clients=[client_identity(node) for node in args.clients],
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            if args.tls
            else None
        )
        self.scheme = "https" if certificates else "http"
        self._api_port = api_port(args.tls)
        self.ca_cert_pem = certificates.ca_cert_pem if certificates else None
        servers: list[ConsulServer] = []
        for node in args.nodes:
            servers.append(
                ConsulServer(
                    f"{name}-{node.node_name}",
                    ConsulServerArgs(
                        node_name=node.node_name,
                        container_name=server_container_name(args.name_prefix, node.node_name),
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
                        secret_config=secret_config,
                        cli_token=self.management_token,
                        retain_data=args.retain_data,
                        tls=certificates.servers[node.node_name] if certificates else None,
                        raft_multiplier=args.raft_multiplier,
                        connect=args.connect,
                        grpc=args.grpc,
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
                "CONSUL_HTTP_ADDR": f"https://{args.http_address}" if certificates else args.http_address,
                "CONSUL_EXPECTED_SERVERS": str(len(args.nodes)),
                "CONSUL_READY_TIMEOUT": str(args.ready_timeout_seconds),
                **({"CONSUL_HTTP_TOKEN": self.management_token} if self.management_token is not None else {}),
                **({"CONSUL_CACERT_PEM": self.ca_cert_pem} if self.ca_cert_pem is not None else {}),
            },
            # A replaced server must be waited for again.
            triggers=[server.container_id for server in servers],
            opts=child_options(self, opts, depends_on=servers),
        )
        self.provider = consul.Provider(
            f"{name}-api",
            address=args.http_address,
            scheme="https" if certificates else None,
            ca_pem=self.ca_cert_pem,
            datacenter=args.datacenter,
            token=self.management_token,
            opts=child_options(self, opts, depends_on=[self.ready]),
        )
        # Containers, not their components: a dependency on a component is one on each of its children (the
        # volume and image too, which the container already waits for), each checked by the SDK for a cycle.
        self._agents: dict[str, docker.Container] = {server.node_name: server.container for server in servers}
        lanes = roll_lanes(
            [node.node_name for node in args.clients], {node.node_name: node.workloads for node in (*args.nodes, *args.clients)}
        )
        after = {host: lane[index - 1] for lane in lanes for index, host in enumerate(lane) if index}
        for node in args.clients:
            token = self._agent_token(name, args.name_prefix, args.datacenter, node.node_name) if args.acl else None
            agent = ConsulClientAgent(
                f"{name}-{node.node_name}",
                ConsulClientAgentArgs(
                    node_name=node.node_name,
                    container_name=server_container_name(args.name_prefix, node.node_name),
                    datacenter=args.datacenter,
                    retry_join=[server.join_address for server in args.nodes],
                    image=args.image,
                    network_name=node.network_name,
                    advertise_address=node.advertise_address or "",
                    published_ports=node.published_ports,
                    recursors=args.recursors,
                    resources=args.resources,
                    secret_config=_secret_config(gossip, token.apply(_client_acl_config) if token is not None else None),
                    agent_token=token,
                    retain_data=args.retain_data,
                    tls=certificates.clients[node.node_name] if certificates else None,
                    grpc=args.grpc,
                ),
                # After the servers, and after the host before it in its lane once that one's services pass
                # again (SYNCED_CHECK): an update that replaces every agent never takes a workload off every host.
                opts=child_options(
                    self,
                    opts,
                    providers={"docker": node.provider},
                    depends_on=[self.ready, *([self._agents[after[node.node_name]]] if node.node_name in after else [])],
                ),
            )
            self._agents[node.node_name] = agent.container
        self.http_address = args.http_address
        self.dns_address = args.dns_address
        self.node_names = tuple(node.node_name for node in args.nodes)
        self.client_node_names = tuple(node.node_name for node in args.clients)
        self.container_names = {node: server_container_name(args.name_prefix, node) for node in names}
        self.register_outputs(
            {
                "http_address": self.http_address,
                "dns_address": self.dns_address,
                "node_names": list(self.node_names),
                "client_node_names": list(self.client_node_names),
            }
        )

    def agent(self, node_name: str) -> docker.Container:
        """The agent of a node, its server's or its client agent's container: what that host's containers
        register with, so what they depend on."""
        return self._agents[node_name]

    def api_url(self, host: str) -> str:
        """The API of the server a container reaches at `host` (its name or address), as CONSUL_HTTP_ADDR takes it."""
        return f"{self.scheme}://{host}:{self._api_port}"

    def _gossip_config(self, name: str, args: ConsulClusterArgs) -> Optional[pulumi.Output[dict]]:
        """Every agent's `encrypt` setting, a key drawn once for the cluster; None without gossip encryption."""
        if not args.gossip_encryption:
            return None
        gossip_key = self._hex_secret(f"{name}-gossip-key", 64)
        return gossip_key.apply(lambda digits: {"encrypt": base64.b64encode(bytes.fromhex(digits)).decode()})

    def _agent_token(self, name: str, name_prefix: str, datacenter: str, node_name: str) -> pulumi.Output[str]:
        """A client agent's own ACL token: Consul's node identity, writing that node and reading services, no more."""
        token = consul.AclToken(
            f"{name}-{node_name}-agent-token",
            description=f"{name_prefix} agent {node_name}",
            node_identities=[consul.AclTokenNodeIdentityArgs(node_name=node_name, datacenter=datacenter)],
            opts=pulumi.ResourceOptions(parent=self, provider=self.provider),
        )
        # The token resource holds only its accessor; the secret is read back, and kept secret.
        return pulumi.Output.secret(
            consul.get_acl_token_secret_id_output(
                accessor_id=token.accessor_id,
                opts=pulumi.InvokeOutputOptions(parent=self, provider=self.provider, depends_on=[token]),
            ).secret_id
        )

    def _hex_secret(self, name: str, digits: int) -> pulumi.Output[str]:
        """`digits` random hex digits, drawn once and kept secret.

        A RandomPassword over the hex digits, not RandomBytes, RandomId or RandomUuid: those carry
        their value in their resource id, which the state keeps in plain text.
        """
        drawn = random.RandomPassword(
            name,
            length=digits,
            upper=False,
            lower=False,
            numeric=False,
            override_special=HEX_DIGITS,
            opts=preparation_options(self),
        )
        return pulumi.Output.secret(drawn.result)


def _as_uuid(digits: str) -> str:
    """Consul's tokens are UUIDs: 32 hex digits as 8-4-4-4-12."""
    return "-".join((digits[:8], digits[8:12], digits[12:16], digits[16:20], digits[20:32]))


def _secret_config(gossip: Optional[pulumi.Output[dict]], acl: Optional[pulumi.Output[dict]]) -> Optional[pulumi.Output[str]]:
    """An agent's secret configuration file, or None when there is nothing secret to hand it."""
    parts = [part for part in (gossip, acl) if part is not None]
    if not parts:
        return None
    return pulumi.Output.secret(
        pulumi.Output.all(*parts).apply(lambda found: json.dumps({k: v for part in found for k, v in part.items()}))
    )


def _client_acl_config(agent_token: str) -> dict:
    # No management token on a client agent: its own token is all its config file holds.
    return {"acl": {"enabled": True, "default_policy": "deny", "tokens": {"agent": agent_token}}}


def _server_acl_config(management_token: str) -> dict:
    return {
        "acl": {
            "enabled": True,
            "default_policy": "deny",
            # The servers' own registration in the catalog needs node write; their config file already
            # holds the management token, so it grants nothing a reader of the file does not have.
            "tokens": {"initial_management": management_token, "agent": management_token},
        }
    }
