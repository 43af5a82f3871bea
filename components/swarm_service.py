"""A Swarm service, replicated or global, with a rolling update policy."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_docker as docker

from components.options import child_options, preparation_options
from components.pulled_image import pulled_image

MODES = ("replicated", "global")


@dataclass(frozen=True)
class SwarmServiceArgs:
    service_name: str
    image: pulumi.Input[str]
    args: Sequence[str] = ()
    mode: str = "replicated"
    replicas: int = 1
    """Ignored for global services, which run one task per node."""
    update_parallelism: int = 1
    update_delay: str = "10s"
    # Added for compose files' `deploy`; every default leaves a service as it was declared before.
    command: Sequence[str] = ()
    """Replaces the image's entrypoint."""
    env: Mapping[str, str] = field(default_factory=dict)
    networks: Sequence[pulumi.Input[str]] = ()
    """Ids of the (overlay) networks its tasks join."""
    ports: Sequence[docker.ServiceEndpointSpecPortArgs] = ()
    placement_constraints: Sequence[str] = ()
    resources: Optional[docker.ServiceTaskSpecResourcesArgs] = None
    update_config: Optional[docker.ServiceUpdateConfigArgs] = None
    """Replaces the rolling update built from update_parallelism and update_delay."""
    rollback_config: Optional[docker.ServiceRollbackConfigArgs] = None


class SwarmService(pulumi.ComponentResource):
    service_name: pulumi.Output[str]

    def __init__(self, name: str, args: SwarmServiceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("orchestration:swarm:SwarmService", name, None, opts)
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
        pulled = pulled_image(f"{name}-image", args.image, preparation_options(self))
        image = pulumi.Output.all(pulled.repo_digest, args.image).apply(lambda found: found[0] or found[1])
        service = docker.Service(
            f"{name}-service",
            name=args.service_name,
            task_spec=docker.ServiceTaskSpecArgs(
                container_spec=docker.ServiceTaskSpecContainerSpecArgs(
                    image=image, args=list(args.args) or None, commands=list(args.command) or None, env=dict(args.env) or None
                ),
                networks_advanceds=[docker.ServiceTaskSpecNetworksAdvancedArgs(id=network) for network in args.networks] or None,
                placement=docker.ServiceTaskSpecPlacementArgs(constraints=list(args.placement_constraints))
                if args.placement_constraints
                else None,
                resources=args.resources,
                # The provider stores an unset window as "0s" (pulumi/pulumi-docker#1285): say it.
                restart_policy=docker.ServiceTaskSpecRestartPolicyArgs(condition="any", delay="5s", window="0s"),
            ),
            mode=mode,
            # `pulumi up` returns once every replica runs. Replicated only: pulumi-docker's wait
            # fails on a global service ("no replica count").
            converge_config=docker.ServiceConvergeConfigArgs(delay="1s", timeout="3m") if args.mode == "replicated" else None,
            update_config=args.update_config
            or docker.ServiceUpdateConfigArgs(
                parallelism=args.update_parallelism,
                delay=args.update_delay,
                failure_action="rollback",
                order="start-first",
            ),
            rollback_config=args.rollback_config,
            endpoint_spec=docker.ServiceEndpointSpecArgs(ports=list(args.ports)) if args.ports else None,
            opts=child_options(self, opts),
        )
        self.service_name = service.name
        self.register_outputs({"service_name": self.service_name})
