"""A pod: a container that only holds a network namespace, which a service and its sidecar both join.

As Kubernetes' pause container does: the namespace belongs to neither the service nor its proxy, so either
restarting in place (a crash, `docker restart`) comes back into the same namespace, beside the other, with
no `pulumi up`. The pod carries what Docker ties to a namespace: the hostname, the network and its aliases,
the DNS servers and the published ports.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import pulumi
import pulumi_docker as docker

# Sleeps until stopped: a shell as PID 1 ignores SIGTERM unless it traps it, and waits on a background
# sleep so the trap fires at once.
HOLD_COMMAND = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 3600 & wait $!; done"]
# Healthy while it runs: all it does is hold the namespace.
RUNNING_CHECK = ["CMD-SHELL", "true"]


@dataclass(frozen=True)
class PodArgs:
    container_name: str
    image: pulumi.Input[str]
    """The id of an image with `sh` present on the engine (the service's own will do)."""
    hostname: str
    network_name: pulumi.Input[str]
    aliases: Sequence[str] = ()
    dns: Sequence[pulumi.Input[str]] = ()
    ports: Sequence[docker.ContainerPortArgs] = ()
    """What the namespace publishes: in the mesh, only its sidecar's public listener."""
    labels: Sequence[docker.ContainerLabelArgs] = ()


def pod_container_name(service_container_name: str) -> str:
    return f"{service_container_name}-pod"


def in_pod(pod: docker.Container) -> pulumi.Output[str]:
    """The network mode that joins `pod`'s namespace: a new pod replaces whatever joined it."""
    return pulumi.Output.concat("container:", pod.id)


def pod_container(name: str, args: PodArgs, opts: pulumi.ResourceOptions) -> docker.Container:
    """The pod's container, made with `opts` (its parent: the component of the service that joins it)."""
    return docker.Container(
        name,
        name=args.container_name,
        image=args.image,
        command=HOLD_COMMAND,
        hostname=args.hostname,
        networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=args.network_name, aliases=list(args.aliases) or None)],
        dns=list(args.dns) or None,
        ports=list(args.ports) or None,
        labels=list(args.labels) or None,
        restart="unless-stopped",
        healthcheck=docker.ContainerHealthcheckArgs(tests=RUNNING_CHECK, interval="30s", timeout="3s", retries=3),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(delete_before_replace=True)),
    )


def published_sidecar(address: Optional[str], port: int) -> list[docker.ContainerPortArgs]:
    """The sidecar's public listener published on the host's `address`, on the same port as inside (the
    built-in proxy listens on the port it is registered with, which is the one other hosts call); nothing
    without an address."""
    return [docker.ContainerPortArgs(internal=port, external=port, ip=address)] if address else []
