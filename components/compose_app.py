"""The seed's compose app: a Python web app counting hits in Redis, on one private network.

Web runs as a container, or (`web_swarm`) as a replicated swarm service on the component's engine, which
must then be a swarm manager: its tasks reach Redis, still a container there with its volume, over an
attachable overlay network, and a new image rolls task by task, each new task healthy before an old one stops.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import pulumi
import pulumi_docker as docker

from components.options import child_options, preparation_options, component_options
from components.pulled_image import pulled_image
from components.swarm_policy import PUBLISH_MODES, HealthCheck, MeshPort, Placement, Resources, Rollout
from components.swarm_service import SwarmService, SwarmServiceArgs

WEB_PORT = 5000
REDIS_PORT = 6379
WEB_HEALTH_TEST = ("CMD", "python3", "-c", f"import urllib.request; urllib.request.urlopen('http://127.0.0.1:{WEB_PORT}/health')")


@dataclass(frozen=True)
class ComposeWebSwarm:
    """Web as a replicated swarm service: how many tasks, how its port is published, how it rolls."""

    replicas: int = 3
    publish_mode: str = "ingress"
    """`ingress`: the routing mesh, every node answers on the port and balances over the tasks; `host`: only
    a node running a task answers, and it holds the port, so a node runs one task at most."""
    rollout: Rollout = Rollout()
    placement: Placement = Placement()
    resources: Resources = Resources()
    converge_timeout: str = "3m"
    manager_docker_url: Optional[str] = None
    """The manager's engine URL, for the placement check (see SwarmServiceArgs)."""


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
    redis_shared_address: Optional[str] = None
    web_shared_address: Optional[str] = None
    """Fixed IPv4 addresses on the shared network. A restarted engine hands dynamic addresses out again
    in the order containers start, so an address registered elsewhere would point at another container."""
    dns: Sequence[pulumi.Input[str]] = ()
    retain_data: bool = False
    """Keep Redis's data volume when the app is destroyed (Pulumi's retain_on_delete)."""
    web_swarm: Optional[ComposeWebSwarm] = None
    """Run web as a swarm service, not a container; `publish_address`, `shared_network` and `dns` then
    apply to Redis only (Swarm publishes on every address, and a task joins overlay networks only)."""


def redis_container_name(name_prefix: str) -> str:
    return f"{name_prefix}-redis"


def web_name(name_prefix: str) -> str:
    """Web's container name, or its swarm service's."""
    return f"{name_prefix}-web"


def network_name(name_prefix: str, swarm: bool) -> str:
    # Its own name per driver: a new network is made before the old one goes, so the two coexist.
    return f"{name_prefix}-compose" + ("-overlay" if swarm else "")


class ComposeApp(pulumi.ComponentResource):
    url: pulumi.Output[str]
    """Where the web app answers."""
    network_name: pulumi.Output[str]
    redis_address: pulumi.Output[str]
    """Redis's IP on the shared network (else the private one), for catalog registration."""
    web_address: Optional[pulumi.Output[str]]
    """Web's IP like Redis's; None for a swarm service, whose tasks come and go (its published port stays)."""
    redis_container_name: pulumi.Output[str]
    web_container_name: Optional[pulumi.Output[str]]
    """None when web is a swarm service."""
    web_service_name: Optional[pulumi.Output[str]]
    """The swarm service's name; None when web is a container."""

    def __init__(self, name: str, args: ComposeAppArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("orchestration:compose:ComposeApp", name, None, component_options(opts))
        swarm = args.web_swarm
        if swarm is not None and swarm.publish_mode not in PUBLISH_MODES:
            raise ValueError(f"publish mode {swarm.publish_mode!r} is not one of {PUBLISH_MODES}")
        network = docker.Network(
            f"{name}-network",
            name=network_name(args.name_prefix, swarm is not None),
            driver="overlay" if swarm else "bridge",
            # Swarm tasks join an overlay network; attachable, so the Redis container can join it too.
            attachable=True if swarm else None,
            # An overlay network needs the swarm: ordered after what the component waits for (swarm init).
            opts=child_options(self, opts) if swarm else preparation_options(self),
        )
        data = docker.Volume(
            f"{name}-redis-data",
            name=f"{args.name_prefix}-redis-data",
            opts=preparation_options(self, retain_on_delete=args.retain_data),
        )
        redis = docker.Container(
            f"{name}-redis",
            name=redis_container_name(args.name_prefix),
            image=pulled_image(f"{name}-redis-image", args.redis_image, preparation_options(self)).image_id,
            command=["redis-server", "--appendonly", "yes"],
            networks_advanced=_networks(network.name, args.shared_network, "redis", args.redis_shared_address),
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
        web_env = {"REDIS_HOST": args.redis_host, "REDIS_PORT": str(REDIS_PORT), "PORT": str(WEB_PORT)}
        reported_network = args.shared_network or network.name
        self.network_name = network.name
        self.redis_container_name = redis.name
        self.redis_address = _address_on(redis, reported_network)
        if swarm is None:
            web = docker.Container(
                f"{name}-web",
                name=web_name(args.name_prefix),
                image=pulled_image(f"{name}-web-image", args.web_image, preparation_options(self), triggers=list(args.web_image_triggers)).image_id,
                envs=[f"{key}={value}" for key, value in web_env.items()],
                networks_advanced=_networks(network.name, args.shared_network, "web", args.web_shared_address),
                ports=[docker.ContainerPortArgs(internal=WEB_PORT, external=args.published_port, ip=args.publish_address)],
                dns=list(args.dns) or None,
                restart="unless-stopped",
                healthcheck=docker.ContainerHealthcheckArgs(
                    tests=list(WEB_HEALTH_TEST), interval="1s", timeout="3s", start_period="30s", retries=5
                ),
                # `pulumi up` returns once web answers, so the user's first request counts.
                wait=True,
                opts=child_options(self, opts, delete_before_replace=True, depends_on=[redis]),
            )
            self.web_container_name = web.name
            self.web_address = _address_on(web, reported_network)
            self.web_service_name = None
            # Not an output: the stack lists the service in its inventory (None when web is a container).
            self.web_service: Optional[SwarmService] = None
            published = args.publish_address
        else:
            self.web_service = SwarmService(
                f"{name}-web",
                SwarmServiceArgs(
                    service_name=web_name(args.name_prefix),
                    image=args.web_image,
                    image_triggers=args.web_image_triggers,
                    env=web_env,
                    networks=[network.id],
                    replicas=swarm.replicas,
                    # A task counts as running once it answers, Redis included: the next one waits for it.
                    health_check=HealthCheck(test=WEB_HEALTH_TEST, interval="1s", timeout="3s", start_period="30s", retries=3),
                    published_ports=[MeshPort(target=WEB_PORT, published=args.published_port, mode=swarm.publish_mode)],
                    rollout=swarm.rollout,
                    placement=swarm.placement,
                    resources=swarm.resources,
                    converge_timeout=swarm.converge_timeout,
                    manager_docker_url=swarm.manager_docker_url,
                ),
                opts=child_options(self, opts, depends_on=[redis]),
            )
            self.web_container_name = None
            self.web_address = None
            self.web_service_name = self.web_service.service_name
            # Swarm publishes on every address of the node.
            published = "0.0.0.0"
        self.url = pulumi.Output.concat("http://", _browsable(published), ":", str(args.published_port))
        self.register_outputs(
            {
                "url": self.url,
                "network_name": self.network_name,
                "redis_address": self.redis_address,
                "web_address": self.web_address,
                "web_service_name": self.web_service_name,
            }
        )


def _browsable(address: str) -> str:
    return "localhost" if address in ("0.0.0.0", "127.0.0.1") else address


def _networks(private: pulumi.Input[str], shared: Optional[pulumi.Input[str]], alias: str, shared_address: Optional[str]) -> list:
    networks = [docker.ContainerNetworksAdvancedArgs(name=private, aliases=[alias])]
    if shared is not None:
        networks.append(docker.ContainerNetworksAdvancedArgs(name=shared, ipv4_address=shared_address))
    return networks


def _address_on(container: docker.Container, network_name: pulumi.Input[str]) -> pulumi.Output[str]:
    return pulumi.Output.all(container.network_datas, network_name).apply(
        lambda values: next(data["ip_address"] for data in values[0] if data["network_name"] == values[1])
    )
