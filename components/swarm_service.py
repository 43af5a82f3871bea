"""A Swarm service, replicated or global, with a rolling update policy."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import pulumi
import pulumi_docker as docker

from components.options import child_options

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
        service = docker.Service(
            f"{name}-service",
            name=args.service_name,
            task_spec=docker.ServiceTaskSpecArgs(
                container_spec=docker.ServiceTaskSpecContainerSpecArgs(image=args.image, args=list(args.args) or None),
                restart_policy=docker.ServiceTaskSpecRestartPolicyArgs(condition="any", delay="5s"),
            ),
            mode=mode,
            update_config=docker.ServiceUpdateConfigArgs(
                parallelism=args.update_parallelism,
                delay=args.update_delay,
                failure_action="rollback",
                order="start-first",
            ),
            opts=child_options(self, opts),
        )
        self.service_name = service.name
        self.register_outputs({"service_name": self.service_name})
