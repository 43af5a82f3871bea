"""A Consul service mesh sidecar: a proxy container in its service's network namespace.

The proxy shares the service's network (Docker's `container:<id>` mode), so the service can listen on
loopback, where only its sidecar reaches it, and the sidecar's upstreams listen on the service's own
loopback. The proxy takes its configuration and certificates from the Consul agent the service
registered with (`-sidecar-for` the service's instance id). A worker's namespace is held by a pod
container of its own (components/mesh_pod.py), so the worker restarting in place keeps its sidecar.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_docker as docker

from components.consul_tls import WORKLOAD_CA_ENV, workload_ca_uploads
from components.environment import env_entry

PROXIES = ("builtin", "envoy")
# The sidecar's public listener, mutual TLS only: the one way in to its service. Each sidecar owns its
# container's network namespace, so every sidecar can take the same port.
SIDECAR_PORT = 21000
# Where a client's sidecar listens, on the client's loopback, for its upstream (the app).
UPSTREAM_PORT = 9191
# The proxy's ACL token reaches it in a file, never in its environment, where `docker inspect` shows it.
TOKEN_FILE = "/consul/config/proxy.token"
# Docker labels a mesh service's container with its service's name: the policy pack finds such containers by it.
MESH_LABEL = "orchestration.consul-mesh"
# Docker labels a pod that publishes its sidecar's public listener with that port: the one port of a mesh
# service the policy pack lets it publish on a host address (mutual TLS only, intentions checked).
SIDECAR_PORT_LABEL = "orchestration.consul-mesh-sidecar-port"


def listening_check(port: int) -> str:
    """Healthy while the public listener listens on `port`. The built-in proxy binds the sidecar's registered
    address (the service's, or every address where it has none), so the check reads the kernel's socket tables,
    which every image has, whatever the address. Every address is `[::]` where the kernel has IPv6, which only
    the IPv6 table lists."""
    return (
        f"cat /proc/net/tcp /proc/net/tcp6 2>/dev/null"
        f" | awk '$4 == \"0A\" && $2 ~ /:{port:04X}$/ {{ found = 1 }} END {{ exit !found }}'"
    )


@dataclass(frozen=True)
class MeshSidecars:
    """How a component's instances join the mesh: each with a sidecar of this kind."""

    image: str
    """An image with `consul` (and, for Envoy, `envoy`) on its PATH."""
    proxy: str = "builtin"
    grpc_addr: Optional[pulumi.Input[str]] = None
    """Envoy only: the agent's gRPC address."""
    token: Optional[pulumi.Input[str]] = None
    """With ACLs, the sidecars' token (a service identity); give it as a secret."""

    def for_instance(
        self, image_id: pulumi.Input[str], service_id: str, container_name: str, service_container_id: pulumi.Input[str],
        consul_http_addr: pulumi.Input[str], ca_pem: Optional[pulumi.Input[str]], listen_port: int = SIDECAR_PORT,
    ) -> "SidecarArgs":
        """One sidecar's arguments: `image_id` is `image` made present on the engine (see pulled_image);
        `service_container_id` the container whose network namespace it joins (a worker's pod)."""
        return SidecarArgs(
            service_id=service_id,
            container_name=sidecar_container_name(container_name),
            service_container_id=service_container_id,
            image=image_id,
            consul_http_addr=consul_http_addr,
            proxy=self.proxy,
            grpc_addr=self.grpc_addr,
            token=self.token,
            ca_pem=ca_pem,
            listen_port=listen_port,
        )


def sidecar_container_name(service_container_name: str) -> str:
    return f"{service_container_name}-sidecar"


def mesh_labels(service_name: str, sidecar_port: Optional[int] = None) -> list[docker.ContainerLabelArgs]:
    """The label that marks a service's container as reachable through its sidecar only, and on the container
    that publishes the sidecar's public listener, that listener's port."""
    labels = [docker.ContainerLabelArgs(label=MESH_LABEL, value=service_name)]
    if sidecar_port is not None:
        labels.append(docker.ContainerLabelArgs(label=SIDECAR_PORT_LABEL, value=str(sidecar_port)))
    return labels


@dataclass(frozen=True)
class SidecarArgs:
    service_id: str
    """The service instance the proxy stands for, as registered with the agent at `consul_http_addr`."""
    container_name: str
    service_container_id: pulumi.Input[str]
    """The container whose network namespace the proxy joins (the service's, or its pod's); a new one replaces the proxy."""
    image: pulumi.Input[str]
    """The id of an image with `consul` (and, for Envoy, `envoy`) on its PATH, present on the engine."""
    consul_http_addr: pulumi.Input[str]
    proxy: str = "builtin"
    """Consul's built-in proxy (`consul connect proxy`) or Envoy (`consul connect envoy`)."""
    grpc_addr: Optional[pulumi.Input[str]] = None
    """Envoy only: the agent's gRPC address (scheme://host:port) it takes its configuration from."""
    token: Optional[pulumi.Input[str]] = None
    """With ACLs, the proxy's token (a service identity); give it as a secret."""
    ca_pem: Optional[pulumi.Input[str]] = None
    """With an HTTPS API, the CA its certificates are signed with."""
    listen_port: int = SIDECAR_PORT
    """The port its public listener binds in the namespace: the sidecar's registered port."""


def proxy_command(args: SidecarArgs) -> list[pulumi.Input[str]]:
    """How Consul documents running each proxy for a registered sidecar."""
    if args.proxy not in PROXIES:
        raise ValueError(f"proxy {args.proxy!r} is not one of {list(PROXIES)}")
    if args.proxy == "builtin":
        return ["consul", "connect", "proxy", "-sidecar-for", args.service_id]
    if args.grpc_addr is None:
        raise ValueError("an Envoy sidecar needs the agent's gRPC address (grpc_addr)")
    # Envoy's admin interface stays on the namespace's loopback (Consul's default, localhost:19000).
    return ["consul", "connect", "envoy", "-sidecar-for", args.service_id, "-grpc-addr", args.grpc_addr]


def proxy_environment(args: SidecarArgs) -> list[pulumi.Input[str]]:
    env = [env_entry("CONSUL_HTTP_ADDR", args.consul_http_addr)]
    if args.token is not None:
        env.append(f"CONSUL_HTTP_TOKEN_FILE={TOKEN_FILE}")
    if args.ca_pem is not None:
        env.append(WORKLOAD_CA_ENV)
        if args.proxy == "envoy":
            env.append(WORKLOAD_CA_ENV.replace("CONSUL_CACERT", "CONSUL_GRPC_CACERT", 1))
    return env


def proxy_uploads(args: SidecarArgs) -> Optional[list[docker.ContainerUploadArgs]]:
    found = list(workload_ca_uploads(args.ca_pem) or [])
    if args.token is not None:
        found.append(docker.ContainerUploadArgs(file=TOKEN_FILE, content=args.token))
    return found or None


def sidecar_container(name: str, args: SidecarArgs, opts: pulumi.ResourceOptions) -> docker.Container:
    """The proxy's container, made with `opts` (its parent: the component of the service it stands for)."""
    return docker.Container(
        name,
        name=args.container_name,
        image=args.image,
        command=proxy_command(args),
        envs=proxy_environment(args),
        uploads=proxy_uploads(args),
        network_mode=pulumi.Output.concat("container:", args.service_container_id),
        restart="unless-stopped",
        healthcheck=docker.ContainerHealthcheckArgs(
            tests=["CMD-SHELL", listening_check(args.listen_port)], interval="2s", timeout="3s", start_period="30s", retries=3
        ),
        wait=True,
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(delete_before_replace=True)),
    )
