"""An image registry (the Distribution registry, `registry:2`) on a fixed address, serving plain HTTP."""
from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from components.options import child_options, component_options
from components.pulled_image import pulled_image

REGISTRY_PORT = 5000
DATA_DIR = "/var/lib/registry"
# The registry API's base endpoint answers 200 once the registry serves (registry:2 has busybox's wget).
SERVING_CHECK = ("CMD", "wget", "-q", "-O", "/dev/null", f"http://127.0.0.1:{REGISTRY_PORT}/v2/")


@dataclass(frozen=True)
class ImageRegistryArgs:
    container_name: str
    image: pulumi.Input[str]
    """registry:2, or any image serving the registry API on port 5000 with its data in /var/lib/registry."""
    network_name: pulumi.Input[str]
    address: str
    """Fixed IPv4 address on the network, so engines can be told to trust it before it exists."""


def registry_server(address: str) -> str:
    """host:port engines push to and pull from; plain HTTP, so each lists it with --insecure-registry."""
    return f"{address}:{REGISTRY_PORT}"


class ImageRegistry(pulumi.ComponentResource):
    server: pulumi.Output[str]
    """host:port of the registry; known once its container runs."""

    def __init__(self, name: str, args: ImageRegistryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("orchestration:sandbox:ImageRegistry", name, None, component_options(opts))
        child = child_options(self, opts)
        data = docker.Volume(f"{name}-data", name=f"{args.container_name}-data", opts=child)
        container = docker.Container(
            f"{name}-container",
            name=args.container_name,
            image=pulled_image(f"{name}-image", args.image, child).image_id,
            networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=args.network_name, ipv4_address=args.address)],
            volumes=[docker.ContainerVolumeArgs(volume_name=data.name, container_path=DATA_DIR)],
            restart="unless-stopped",
            healthcheck=docker.ContainerHealthcheckArgs(
                tests=list(SERVING_CHECK), interval="5s", timeout="3s", start_period="10s", retries=3
            ),
            # A fixed container name and address cannot exist twice, even for a moment.
            opts=child_options(self, opts, delete_before_replace=True),
        )
        self.server = container.id.apply(lambda _: registry_server(args.address))
        self.register_outputs({"server": self.server})
