"""One Consul client agent in a container: the agent of a host without a server.

The host's containers register their services with it and ask it (API and DNS), so they depend on
no other host's agent; the agent forwards to the servers it joined. Its data volume keeps its node
id and the services registered with it: a replaced agent takes them up again, and runs their checks.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import pulumi
import pulumi_docker as docker

from components.consul_server import (
    DATA_DIR,
    DNS_PORT,
    GRPC_PORT,
    GRPC_TLS_PORT,
    HTTP_PORT,
    SECRET_CONFIG_FILE,
    AgentContainer,
    PublishedPort,
    agent_container,
    agent_environment,
    uploads,
)
from components.consul_tls import TLS_CONFIG_FILE, AgentTls
from components.options import component_options
from components.swarm_policy import Resources

# Healthy once the servers' catalog (what every lookup reads) holds this node with every check on it
# passing: its Serf health, so it joined, and the checks of the services registered with it. A new
# agent has no service yet; a replaced one takes its services up again from its data volume, and is
# healthy only once they pass again, so a rolling update waits for each host's services before the
# next host. Read with the agent's own token (node identity): Consul lists only the checks of nodes a
# token may read, so this node's. `consul watch` without a handler prints one answer and exits.
SYNCED_CHECK = (
    "checks=$(consul watch -type=checks -state=any) && echo \"$checks\" | grep -q '\"CheckID\": \"serfHealth\"' "
    "&& ! echo \"$checks\" | grep -Eq '\"Status\": \"(critical|warning)\"'"
)


@dataclass(frozen=True)
class ConsulClientAgentArgs:
    node_name: str
    container_name: str
    datacenter: str
    retry_join: Sequence[str]
    """The servers' addresses; retried until one answers."""
    image: pulumi.Input[str]
    network_name: pulumi.Input[str]
    advertise_address: str
    """The host's address, where the servers and the other agents gossip with this one."""
    published_ports: Sequence[PublishedPort] = ()
    recursors: Sequence[str] = ()
    """Upstream DNS servers for names outside `.consul`."""
    resources: Resources = Resources()
    secret_config: Optional[pulumi.Input[str]] = None
    """Agent configuration (JSON) holding secrets: the gossip key, the agent's ACL token; give it as a secret."""
    agent_token: Optional[pulumi.Input[str]] = None
    """With ACLs, this node's token (node identity), also what its own `consul` commands use; a secret."""
    retain_data: bool = False
    tls: Optional[AgentTls] = None
    """HTTPS only on HTTPS_PORT with a client certificate, and verified RPC to the servers."""
    grpc: bool = False
    """Serve the host's Envoy sidecars their configuration on gRPC (GRPC_PORT, or GRPC_TLS_PORT with TLS)."""


def client_agent_command(args: ConsulClientAgentArgs) -> list[str]:
    """The `consul agent` command line for one client agent (no -server)."""
    command = [
        "consul",
        "agent",
        f"-node={args.node_name}",
        f"-datacenter={args.datacenter}",
        f"-data-dir={DATA_DIR}",
        "-client=0.0.0.0",
        *([f"-http-port={HTTP_PORT}"] if args.tls is None else []),
        f"-dns-port={DNS_PORT}",
        f"-advertise={args.advertise_address}",
    ]
    command += [f"-retry-join={address}" for address in args.retry_join]
    command += [f"-recursor={recursor}" for recursor in args.recursors]
    if args.secret_config is not None:
        command.append(f"-config-file={SECRET_CONFIG_FILE}")
    if args.tls is not None:
        command.append(f"-config-file={TLS_CONFIG_FILE}")
    if args.grpc:
        command.append(f"-hcl=ports {{ grpc_tls = {GRPC_TLS_PORT} }}" if args.tls is not None else f"-grpc-port={GRPC_PORT}")
    return command


class ConsulClientAgent(pulumi.ComponentResource):
    container: docker.Container
    """The agent's container, created once it is healthy (SYNCED_CHECK); it waits for the volume and image."""
    container_id: pulumi.Output[str]
    """Known once the agent is healthy (SYNCED_CHECK): depend on it to register with it."""
    node_name: str

    def __init__(self, name: str, args: ConsulClientAgentArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("orchestration:consul:ConsulClientAgent", name, None, component_options(opts))
        container = agent_container(
            self,
            name,
            AgentContainer(
                container_name=args.container_name,
                node_name=args.node_name,
                image=args.image,
                network_name=args.network_name,
                command=client_agent_command(args),
                envs=agent_environment(args.agent_token, args.tls),
                health_check=SYNCED_CHECK,
                published_ports=args.published_ports,
                uploads=uploads(args.secret_config, args.agent_token, args.tls),
                resources=args.resources,
                retain_data=args.retain_data,
            ),
            opts,
        )
        self.node_name = args.node_name
        self.container = container
        self.container_id = container.id
        self.register_outputs({"container_id": self.container_id})
