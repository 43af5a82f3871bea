"""A host for the sandbox: a container running its own Docker engine (Docker-in-Docker).

The nested engine answers on tcp://<address>:2375 without TLS, on a private network of
the machine that runs it: reach it only from there (see docs/sandbox.md).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import pulumi
import pulumi_docker as docker

from components.engine_forms import capability
from components.options import child_options, component_options
from components.pulled_image import pulled_image

ENGINE_PORT = 2375
DATA_DIR = "/var/lib/docker"
CGROUP_ROOT = "/sys/fs/cgroup"
# Where the outer engine itself lacks a capability (SYS_RESOURCE on some sandboxed machines),
# --privileged asks for it and fails; every other capability is enough for a nested engine.
GRANTED_CAPABILITIES = ("ALL",)
WITHHELD_CAPABILITIES = ("SYS_RESOURCE",)
# `systempaths=unconfined` is missing on purpose: it is a docker CLI flag, which the engine API
# refuses as a security option; without it the nested engine only logs that it cannot turn off
# IPv6 router advertisements.
UNCONFINED = ("seccomp=unconfined", "apparmor=unconfined")


@dataclass(frozen=True)
class DockerInDockerHostArgs:
    host_name: str
    """The host's hostname: swarm lists the node under it."""
    container_name: str
    image: pulumi.Input[str]
    """An image with dockerd and the docker CLI inside (apps/dind-host builds one)."""
    network_name: pulumi.Input[str]
    address: str
    """Fixed IPv4 address on the network: the engine, and every port published on the host, answer there."""
    privileged: bool = True
    """--privileged, as ordinary Docker installs allow; False grants every capability but the withheld ones, unconfined."""
    insecure_registries: Sequence[str] = ()
    """host:port of plain-HTTP registries this engine pushes to and pulls from."""


def dockerd_command(cgroup_parent: str, insecure_registries: Sequence[str]) -> list[str]:
    """The nested engine's command line: the local socket for the healthcheck, TCP for everyone else."""
    return [
        "dockerd",
        "--host=unix:///var/run/docker.sock",
        f"--host=tcp://0.0.0.0:{ENGINE_PORT}",
        # Plain TCP is meant: newer engines stall or refuse to start on it unless told so.
        "--tls=false",
        # Keeps the nested engines' container cgroups apart in the shared cgroup tree.
        f"--cgroup-parent={cgroup_parent}",
        *(f"--insecure-registry={registry}" for registry in insecure_registries),
    ]


def engine_url(address: str) -> str:
    return f"tcp://{address}:{ENGINE_PORT}"


class DockerInDockerHost(pulumi.ComponentResource):
    docker_url: pulumi.Output[str]
    """tcp://<address>:2375; known once the nested engine answers."""
    address: pulumi.Output[str]
    """The host's private address on the network."""

    def __init__(self, name: str, args: DockerInDockerHostArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("orchestration:sandbox:DockerInDockerHost", name, None, component_options(opts))
        child = child_options(self, opts)
        # overlay2 cannot stack on the container's own overlay root, and images should survive a replaced container.
        data = docker.Volume(f"{name}-data", name=f"{args.container_name}-data", opts=child)
        container = docker.Container(
            f"{name}-container",
            name=args.container_name,
            hostname=args.host_name,
            image=pulled_image(f"{name}-image", args.image, child).image_id,
            command=dockerd_command(f"/nested-{args.container_name}", args.insecure_registries),
            networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=args.network_name, ipv4_address=args.address)],
            privileged=args.privileged,
            capabilities=None
            if args.privileged
            else docker.ContainerCapabilitiesArgs(
                adds=[capability(name) for name in GRANTED_CAPABILITIES], drops=[capability(name) for name in WITHHELD_CAPABILITIES]
            ),
            security_opts=None if args.privileged else list(UNCONFINED),
            volumes=[
                docker.ContainerVolumeArgs(volume_name=data.name, container_path=DATA_DIR),
                # Read-write: the nested engine creates its containers' cgroups there.
                docker.ContainerVolumeArgs(host_path=CGROUP_ROOT, container_path=CGROUP_ROOT),
            ],
            # A restarted host must not find the previous dockerd's pid file and sockets.
            tmpfs={"/run": ""},
            healthcheck=docker.ContainerHealthcheckArgs(tests=["CMD", "docker", "info"], interval="2s", timeout="5s", retries=30),
            # Done only when the engine answers, so whatever drives the host next finds it ready.
            wait=True,
            restart="unless-stopped",
            # A fixed container name and address cannot exist twice, even for a moment.
            opts=child_options(self, opts, delete_before_replace=True),
        )
        self.docker_url = container.id.apply(lambda _: engine_url(args.address))
        self.address = container.id.apply(lambda _: args.address)
        self.register_outputs({"docker_url": self.docker_url, "address": self.address})
