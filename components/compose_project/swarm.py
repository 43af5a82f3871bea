"""A compose service with `deploy`, on a swarm: our SwarmService, named as `docker stack deploy` names it."""
from __future__ import annotations

from typing import Any, Mapping

import pulumi
import pulumi_docker as docker

from components.compose_project.model import Project, Service, swarm_service_name
from components.swarm_policy import MeshPort, Placement, Resources
from components.swarm_service import SwarmService, SwarmServiceArgs


def swarm_service(
    name: str,
    project: Project,
    service: Service,
    image: pulumi.Input[str],
    networks: Mapping[str, pulumi.Input[str]],
    opts: pulumi.ResourceOptions,
) -> SwarmService:
    """`networks`: the ids of the service's networks, by their key in the file."""
    deploy = service.deploy
    assert deploy is not None
    return SwarmService(
        name,
        SwarmServiceArgs(
            service_name=swarm_service_name(project.name, service.name),
            image=image,
            args=service.command or (),
            command=service.entrypoint or (),
            mode=deploy.mode,
            replicas=deploy.replicas,
            env=dict(service.environment),
            networks=[networks[key] for key in service.networks],
            published_ports=[MeshPort(target=port.target, published=port.published, protocol=port.protocol) for port in service.ports],
            placement=Placement(constraints=tuple(deploy.constraints)),
            resources=Resources(
                cpu_limit=deploy.limits.get("cpus"),
                memory_limit_bytes=deploy.limits.get("memory"),
                cpu_reservation=deploy.reservations.get("cpus"),
                memory_reservation_bytes=deploy.reservations.get("memory"),
            ),
            update_config=docker.ServiceUpdateConfigArgs(**_policy(deploy.update_config)) if deploy.update_config else None,
            rollback_config=docker.ServiceRollbackConfigArgs(**_policy(deploy.rollback_config)) if deploy.rollback_config else None,
        ),
        opts=opts,
    )


def _policy(given: Mapping[str, Any]) -> dict[str, Any]:
    """Compose's update_config / rollback_config as pulumi-docker takes them (its ratio is a string)."""
    policy = dict(given)
    if "max_failure_ratio" in policy:
        policy["max_failure_ratio"] = f"{float(policy['max_failure_ratio']):g}"
    return policy
