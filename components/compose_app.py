"""The seed's compose app: a Python web app counting hits in Redis, on one private network."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import pulumi
import pulumi_docker as docker

from components.options import child_options, preparation_options
from components.pulled_image import pulled_image

WEB_PORT = 5000
REDIS_PORT = 6379


@dataclass(frozen=True)
class ComposeAppArgs:
    name_prefix: str
    """Prefix of every Docker name, so several stacks can share an engine."""
    web_image: pulumi.Input[str]
    redis_image: pulumi.Input[str]
    published_port: int
    publish_address: str = "0.0.0.0"
    web_image_triggers: Sequence[pulumi.Input[str]] = ()
    redis_host: str = "redis"
    """Name web uses to reach Redis: the container's alias, or e.g. `redis.service.consul`."""
    shared_network: Optional[pulumi.Input[str]] = None
    """A network both containers also join, whose addresses they are registered under elsewhere."""
    dns: Sequence[pulumi.Input[str]] = ()
    retain_data: bool = False
    """Keep Redis's data volume when the app is destroyed (Pulumi's retain_on_delete)."""


class ComposeApp(pulumi.ComponentResource):
    url: pulumi.Output[str]
    """Where the web app answers."""
    network_name: pulumi.Output[str]
    redis_address: pulumi.Output[str]
    """Redis's IP on the shared network (else the private one), for catalog registration."""
    web_address: pulumi.Output[str]
    redis_container_name: pulumi.Output[str]
    web_container_name: pulumi.Output[str]

    def __init__(self, name: str, args: ComposeAppArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("orchestration:compose:ComposeApp", name, None, opts)
        network = docker.Network(f"{name}-network", name=f"{args.name_prefix}-compose", driver="bridge", opts=preparation_options(self))
        data = docker.Volume(
            f"{name}-redis-data",
            name=f"{args.name_prefix}-redis-data",
            opts=preparation_options(self, retain_on_delete=args.retain_data),
        )
        redis = docker.Container(
            f"{name}-redis",
            name=f"{args.name_prefix}-redis",
            image=pulled_image(f"{name}-redis-image", args.redis_image, preparation_options(self)).image_id,
            command=["redis-server", "--appendonly", "yes"],
            networks_advanced=_networks(network.name, args.shared_network, "redis"),
            volumes=[docker.ContainerVolumeArgs(volume_name=data.name, container_path="/data")],
            dns=list(args.dns) or None,
            restart="unless-stopped",
            healthcheck=docker.ContainerHealthcheckArgs(
                tests=["CMD", "redis-cli", "ping"], interval="1s", timeout="3s", start_period="30s", retries=5
            ),
            wait=True,
            # A fixed container name cannot exist twice, even for a moment.
            opts=child_options(self, opts, delete_before_replace=True),
        )
        web = docker.Container(
            f"{name}-web",
            name=f"{args.name_prefix}-web",
            image=pulled_image(f"{name}-web-image", args.web_image, preparation_options(self), triggers=list(args.web_image_triggers)).image_id,
            envs=[
                f"REDIS_HOST={args.redis_host}",
                f"REDIS_PORT={REDIS_PORT}",
                f"PORT={WEB_PORT}",
            ],
            networks_advanced=_networks(network.name, args.shared_network, "web"),
            ports=[docker.ContainerPortArgs(internal=WEB_PORT, external=args.published_port, ip=args.publish_address)],
            dns=list(args.dns) or None,
            restart="unless-stopped",
            healthcheck=docker.ContainerHealthcheckArgs(
                tests=["CMD", "python3", "-c", f"import urllib.request; urllib.request.urlopen('http://127.0.0.1:{WEB_PORT}/health')"],
                interval="1s",
                timeout="3s",
                start_period="30s",
                retries=5,
            ),
            # `pulumi up` returns once web answers, so the user's first request counts.
            wait=True,
            opts=child_options(self, opts, delete_before_replace=True, depends_on=[redis]),
        )
        self.network_name = network.name
        self.redis_container_name = redis.name
        self.web_container_name = web.name
        self.url = pulumi.Output.concat("http://", _browsable(args.publish_address), ":", str(args.published_port))
        reported_network = args.shared_network or network.name
        self.redis_address = _address_on(redis, reported_network)
        self.web_address = _address_on(web, reported_network)
        self.register_outputs(
            {
                "url": self.url,
                "network_name": self.network_name,
                "redis_address": self.redis_address,
                "web_address": self.web_address,
            }
        )


def _browsable(address: str) -> str:
    return "localhost" if address in ("0.0.0.0", "127.0.0.1") else address


def _networks(private: pulumi.Input[str], shared: Optional[pulumi.Input[str]], alias: str) -> list:
    networks = [docker.ContainerNetworksAdvancedArgs(name=private, aliases=[alias])]
    if shared is not None:
        networks.append(docker.ContainerNetworksAdvancedArgs(name=shared))
    return networks


def _address_on(container: docker.Container, network_name: pulumi.Input[str]) -> pulumi.Output[str]:
    return pulumi.Output.all(container.network_datas, network_name).apply(
        lambda values: next(data["ip_address"] for data in values[0] if data["network_name"] == values[1])
    )
