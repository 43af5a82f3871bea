"""The seed's client: finds distributed_app through Consul's HTTP API and its DNS."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import pulumi
import pulumi_docker as docker

from components.consul_tls import WORKLOAD_CA_ENV, workload_ca_uploads
from components.container_resources import container_resource_args
from components.environment import env_entry
from components.mesh_sidecar import SIDECAR_PORT, UPSTREAM_PORT, MeshSidecars, mesh_labels, sidecar_container
from components.options import child_options, preparation_options, component_options
from components.pulled_image import pulled_image
from components.swarm_policy import Resources

# Healthy while the Consul agent it reports from answers: without it, every report fails.
CONSUL_ANSWERS_CHECK = (
    "import os, ssl, urllib.request; "
    "agent = os.environ['CONSUL_HTTP_ADDR'].rstrip('/'); "
    "tls = ssl.create_default_context(cafile=os.environ.get('CONSUL_CACERT')); "
    "agent = agent if '://' in agent else 'http://' + agent; "
    "urllib.request.urlopen(agent + '/v1/status/leader', timeout=2, context=tls)"
)
# In the mesh, also registered with its sidecar (what `consul connect proxy -sidecar-for` needs to start).
MESH_REGISTERED_CHECK = (
    CONSUL_ANSWERS_CHECK + "; "
    "token = {'X-Consul-Token': os.environ['CONSUL_HTTP_TOKEN']} if os.environ.get('CONSUL_HTTP_TOKEN') else {}; "
    "urllib.request.urlopen(urllib.request.Request(agent + '/v1/agent/service/' + os.environ['SERVICE_ID'] + '-sidecar-proxy', "
    "headers=token), timeout=2, context=tls)"
)
# The app's service name in Consul, which the client's sidecar proxies to, and the client's own in the mesh.
APP_SERVICE = "distributed_app"
CLIENT_SERVICE = "distributed_client"

@dataclass(frozen=True)
class DistributedClientArgs:
    container_name: str
    image: pulumi.Input[str]
    consul_http_addr: pulumi.Input[str]
    consul_dns_server: pulumi.Input[str]
    consul_dns_port: int
    network_name: pulumi.Input[str]
    interval_seconds: int = 10
    """How often it reports; it runs as a long-lived container."""
    kv_prefix: Optional[str] = None
    dns: Sequence[pulumi.Input[str]] = ()
    image_triggers: Sequence[pulumi.Input[str]] = ()
    resources: Resources = Resources()
    """CPU and memory limits of its container."""
    consul_token: Optional[pulumi.Input[str]] = None
    """The ACL token it reads Consul with, where ACLs are on; give it as a secret."""
    consul_ca_pem: Optional[pulumi.Input[str]] = None
    """The CA the Consul servers' certificates are signed with, where the API is HTTPS."""
    mesh: Optional[MeshSidecars] = None
    """In Consul's service mesh: the client registers itself with a sidecar and calls the app through its
    upstream on its own loopback, reporting the app's answer."""


def mesh_environment(args: DistributedClientArgs) -> list[str]:
    """The client's own instance in Consul and the upstream its sidecar opens for it."""
    return [
        f"SERVICE_ID={args.container_name}",
        f"SIDECAR_PORT={SIDECAR_PORT}",
        f"UPSTREAM={APP_SERVICE}:{UPSTREAM_PORT}",
        f"APP_URL=http://127.0.0.1:{UPSTREAM_PORT}/",
    ]


class DistributedClient(pulumi.ComponentResource):
    container_name: pulumi.Output[str]
    """`docker logs` of this container shows the client's reports."""
    sidecar: Optional[docker.Container]
    """In the mesh, the client's proxy."""

    def __init__(self, name: str, args: DistributedClientArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("orchestration:apps:DistributedClient", name, None, component_options(opts))
        image = pulled_image(
            f"{name}-image", args.image, preparation_options(self), triggers=list(args.image_triggers)
        )
        envs: list[pulumi.Input[str]] = [
            env_entry("CONSUL_HTTP_ADDR", args.consul_http_addr),
            env_entry("CONSUL_DNS_SERVER", args.consul_dns_server),
            f"CONSUL_DNS_PORT={args.consul_dns_port}",
            f"INTERVAL={args.interval_seconds}",
        ]
        if args.kv_prefix:
            envs.append(f"CONSUL_KV_PREFIX={args.kv_prefix}")
        if args.consul_token is not None:
            envs.append(env_entry("CONSUL_HTTP_TOKEN", args.consul_token))
        if args.consul_ca_pem is not None:
            envs.append(WORKLOAD_CA_ENV)
        if args.mesh is not None:
            envs += mesh_environment(args)
        container = docker.Container(
            f"{name}-container",
            **container_resource_args(args.resources),
            name=args.container_name,
            image=image.image_id,
            envs=envs,
            uploads=workload_ca_uploads(args.consul_ca_pem),
            networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=args.network_name)],
            dns=list(args.dns) or None,
            restart="unless-stopped",
            labels=mesh_labels(CLIENT_SERVICE) if args.mesh is not None else None,
            healthcheck=docker.ContainerHealthcheckArgs(
                tests=["CMD", "python3", "-c", CONSUL_ANSWERS_CHECK if args.mesh is None else MESH_REGISTERED_CHECK],
                interval="10s" if args.mesh is None else "2s",
                timeout="3s",
                start_period="30s",
                retries=3,
            ),
            # In the mesh its sidecar waits for it to be registered.
            wait=args.mesh is not None,
            # Stopped, not killed: in the mesh it deregisters itself (and its sidecar) on SIGTERM.
            destroy_grace_seconds=15 if args.mesh is not None else None,
            opts=child_options(self, opts, delete_before_replace=True),
        )
        self.sidecar = None
        if args.mesh is not None:
            sidecar_image = pulled_image(f"{name}-sidecar-image", args.mesh.image, preparation_options(self))
            self.sidecar = sidecar_container(
                f"{name}-sidecar",
                args.mesh.for_instance(
                    sidecar_image.image_id, args.container_name, args.container_name, container.id, args.consul_http_addr, args.consul_ca_pem
                ),
                child_options(self, opts, depends_on=[container]),
            )
        self.container_name = container.name
        self.register_outputs({"container_name": self.container_name})
