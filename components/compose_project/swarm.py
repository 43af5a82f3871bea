"""A compose service with `deploy`, on a swarm: our SwarmService, named as `docker stack deploy` names it."""
from __future__ import annotations

from typing import Any, Mapping

import pulumi
import pulumi_docker as docker

from components.compose_project.model import Project, Service
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
            service_name=f"{project.name}_{service.name}",
            image=image,
            args=service.command or (),
            command=service.entrypoint or (),
            mode=deploy.mode,
            replicas=deploy.replicas,
            env=dict(service.environment),
            networks=[networks[key] for key in service.networks],
            ports=[
                docker.ServiceEndpointSpecPortArgs(target_port=port.target, published_port=port.published, protocol=port.protocol)
                for port in service.ports
            ],
            placement_constraints=deploy.constraints,
            resources=docker.ServiceTaskSpecResourcesArgs(
                limits=docker.ServiceTaskSpecResourcesLimitsArgs(**_amounts(deploy.limits)) if deploy.limits else None,
                reservation=docker.ServiceTaskSpecResourcesReservationArgs(**_amounts(deploy.reservations)) if deploy.reservations else None,
            )
            if deploy.limits or deploy.reservations
            else None,
            update_config=docker.ServiceUpdateConfigArgs(**_policy(deploy.update_config)) if deploy.update_config else None,
            rollback_config=docker.ServiceRollbackConfigArgs(**_policy(deploy.rollback_config)) if deploy.rollback_config else None,
        ),
        opts=opts,
    )


def _amounts(given: Mapping[str, Any]) -> dict[str, int]:
    amounts = {}
    if "cpus" in given:
        amounts["nano_cpus"] = int(round(given["cpus"] * 1e9))
    if "memory" in given:
        amounts["memory_bytes"] = given["memory"]
    return amounts


def _policy(given: Mapping[str, Any]) -> dict[str, Any]:
    """Compose's update_config / rollback_config as pulumi-docker takes them (its ratio is a string)."""
    policy = dict(given)
    if "max_failure_ratio" in policy:
        policy["max_failure_ratio"] = f"{float(policy['max_failure_ratio']):g}"
    return policy
