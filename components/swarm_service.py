"""A Swarm service, replicated or global: placed, sized, health-checked and rolled out as `components.swarm_policy` says."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_command as command
import pulumi_docker as docker

from components.options import child_options, preparation_options, component_options
from components.pulled_image import pulled_image
from components.swarm_policy import (
    HealthCheck,
    Placement,
    MeshPort,
    Resources,
    Rollout,
    endpoint_args,
    health_check_args,
    placement_args,
    resources_args,
    rollback_config_args,
    update_config_args,
)

MODES = ("replicated", "global")
PLACEMENT_SCRIPT = (Path(__file__).parent / "swarm_placement.py").read_text()
IMAGE_TRIGGER_LABEL = "orchestration.image-trigger"
REGISTRY_PLATFORMS = "taskSpec.placement.platforms"


@dataclass(frozen=True)
class SwarmServiceArgs:
    service_name: str
    image: pulumi.Input[str]
    args: Sequence[str] = ()
    mode: str = "replicated"
    replicas: int = 1
    """Ignored for global services, which run one task per node."""
    command: Sequence[str] = ()
    """Replaces the image's entrypoint."""
    env: Mapping[str, str] = field(default_factory=dict)
    image_triggers: Sequence[pulumi.Input[str]] = ()
    """Values that change with the image behind an unchanged tag (a local build's id): a change rolls the
    tasks, which take the tag's new image. A registry's digest pins the image without them."""
    networks: Sequence[pulumi.Input[str]] = ()
    """Ids of the (overlay) networks its tasks join."""
    rollout: Rollout = Rollout()
    placement: Placement = Placement()
    resources: Resources = Resources()
    health_check: Optional[HealthCheck] = None
    published_ports: Sequence[MeshPort] = ()
    converge_timeout: str = "3m"
    """How long `pulumi up` waits for every replica to run before it fails (a task no node can take never does)."""
    manager_docker_url: Optional[str] = None
    """The manager's engine URL. With it, a service with constraints or reservations is first checked
    against the nodes, and `pulumi up` stops at once saying why no node can take it."""
    # Compose files' `deploy.update_config` and `rollback_config` as written, the provider's defaults
    # for what they leave out: each, when given, replaces the block `rollout` makes.
    update_config: Optional[docker.ServiceUpdateConfigArgs] = None
    rollback_config: Optional[docker.ServiceRollbackConfigArgs] = None


class SwarmService(pulumi.ComponentResource):
    service_name: pulumi.Output[str]
    mode: str
    replicas: Optional[int]
    """None for a global service."""
    image: pulumi.Output[str]
    """The image the tasks run, pinned by digest where a registry serves it."""

    def __init__(self, name: str, args: SwarmServiceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("orchestration:swarm:SwarmService", name, None, component_options(opts))
        if args.mode not in MODES:
            raise ValueError(f"service mode {args.mode!r} is not one of {MODES}")
        mode = (
            docker.ServiceModeArgs(global_=True)
            if args.mode == "global"
            else docker.ServiceModeArgs(replicated=docker.ServiceModeReplicatedArgs(replicas=args.replicas))
        )
        # Swarm pins a task's image to the digest its registry serves, and pulumi-docker stores that:
        # declaring the tag would show a change on every `pulumi up`. An image no registry serves
        # (built on this engine) has no digest and stays as named.
        checks = _placement_check(name, self, args, opts)
        pulled = pulled_image(f"{name}-image", args.image, preparation_options(self), triggers=list(args.image_triggers) or None)
        image = pulumi.Output.all(pulled.repo_digest, args.image).apply(lambda found: found[0] or found[1])
        service = docker.Service(
            f"{name}-service",
            name=args.service_name,
            task_spec=docker.ServiceTaskSpecArgs(
                container_spec=docker.ServiceTaskSpecContainerSpecArgs(
                    image=image,
                    args=list(args.args) or None,
                    commands=list(args.command) or None,
                    env=dict(args.env) or None,
                    healthcheck=health_check_args(args.health_check) if args.health_check else None,
                    labels=[docker.ServiceTaskSpecContainerSpecLabelArgs(label=IMAGE_TRIGGER_LABEL, value=_joined(args.image_triggers))]
                    if args.image_triggers
                    else None,
                ),
                networks_advanceds=[docker.ServiceTaskSpecNetworksAdvancedArgs(id=network) for network in args.networks] or None,
                placement=placement_args(args.placement),
                resources=resources_args(args.resources),
                # The provider stores an unset window as "0s" (pulumi/pulumi-docker#1285): say it.
                restart_policy=docker.ServiceTaskSpecRestartPolicyArgs(condition="any", delay="5s", window="0s"),
            ),
            mode=mode,
            # `pulumi up` returns once every replica runs. Replicated only: pulumi-docker's wait
            # fails on a global service ("no replica count").
            converge_config=docker.ServiceConvergeConfigArgs(delay="1s", timeout=args.converge_timeout) if args.mode == "replicated" else None,
            update_config=args.update_config or update_config_args(args.rollout),
            rollback_config=args.rollback_config or rollback_config_args(args.rollout),
            endpoint_spec=endpoint_args(args.published_ports),
            # The provider's create asks the Docker client to query the registry, which places the tasks on
            # the platforms the registry serves the image for; its update asks no registry. Those platforms
            # are declared nowhere here, so the first preview after a create would propose removing them.
            opts=child_options(self, opts, depends_on=checks, ignore_changes=[REGISTRY_PLATFORMS]),
        )
        self.service_name = service.name
        self.mode = args.mode
        self.replicas = args.replicas if args.mode == "replicated" else None
        self.image = image
        self.register_outputs({"service_name": self.service_name, "image": self.image})


def _joined(triggers: Sequence[pulumi.Input[str]]) -> pulumi.Output[str]:
    return pulumi.Output.all(*triggers).apply(lambda values: " ".join(str(value) for value in values))


def _placement_check(name: str, service: SwarmService, args: SwarmServiceArgs, opts) -> list[pulumi.Resource]:
    """A command that fails, naming each node and why, when no node meets the constraints and reservation."""
    reservation = args.resources
    if args.manager_docker_url is None or not (
        args.placement.constraints or reservation.cpu_reservation or reservation.memory_reservation_bytes
    ):
        return []
    check = command.local.Command(
        f"{name}-placement",
        # The script goes in on stdin, so it runs wherever Pulumi does, from any directory.
        create="python3 -",
        stdin=PLACEMENT_SCRIPT,
        environment={
            "DOCKER_HOST": args.manager_docker_url,
            "SERVICE_NAME": args.service_name,
            "SERVICE_CONSTRAINTS": json.dumps(list(args.placement.constraints)),
            "SERVICE_NANO_CPUS": str(round((reservation.cpu_reservation or 0) * 1e9)),
            "SERVICE_MEMORY_BYTES": str(reservation.memory_reservation_bytes or 0),
        },
        opts=child_options(service, opts),
    )
    return [check]
