"""What every environment runs, whatever its hosts: our images, the swarm services, the app's KV settings."""
from __future__ import annotations

from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_docker as docker

from components.app_image import AppImage, AppImageArgs
from components.consul_cluster import ConsulCluster
from components.registry import RegistryLogin
from components.swarm_cluster import SwarmCluster
from components.swarm_service import SwarmService, SwarmServiceArgs
from stacks import names
from stacks.config import StackConfig
from stacks.deploy_config import ServiceDeploy

APPS = ("composeapp", "distributed_app", "distributed_client")
# A shell as PID 1 ignores SIGTERM unless it traps it; trapped, a task stops at once instead of after
# Swarm's 10 s grace, and `sleep` runs in the background so the trap fires without waiting for it.
HEYWORLD_ARGS = ("sh", "-c", "trap 'exit 0' TERM; while true; do echo hey world from $(hostname); sleep 10 & wait $!; done")


def build_images(
    cfg: StackConfig,
    registry: Optional[RegistryLogin],
    docker_url: str,
    opts: pulumi.ResourceOptions,
    apps: tuple[str, ...] = APPS,
) -> dict[str, AppImage]:
    """Our images (those of `apps`), built from apps/<app>/Dockerfile (paths relative to the project, where
    Pulumi runs) on the engine at `docker_url`, which `opts`' provider names."""
    repository = f"{registry.server}/orchestration" if registry else "orchestration"
    return {
        app: AppImage(
            f"{app}-image",
            AppImageArgs(
                context=f"apps/{app}",
                image_name=f"{repository}/{app}:{cfg.stack}",
                base_image=cfg.images.app_base,
                platform=cfg.images.platform,
                docker_url=docker_url,
                ca_certificates=cfg.images.build_ca_certificates,
                registry=registry,
            ),
            opts=opts,
        )
        for app in apps
    }


def on_the_swarm(
    cfg: StackConfig, swarm: SwarmCluster, manager: docker.Provider, manager_docker_url: str
) -> tuple[tuple[SwarmService, ...], dict[str, pulumi.Input]]:
    """heyworld, the `swarmServices` and the compose file (if any), once the swarm is ready: the services,
    and the compose file's outputs."""
    on_swarm = pulumi.ResourceOptions(providers={"docker": manager}, depends_on=list(swarm.ready))
    heyworld, heyworld_global = heyworld_services(cfg, on_swarm, manager_docker_url)
    services = (heyworld, heyworld_global, *configured_services(cfg, on_swarm, manager_docker_url))
    outputs: dict[str, pulumi.Input] = {}
    if cfg.compose:
        from components.compose_project import ComposeProject, ComposeProjectArgs

        # On the manager: its containers run there, its swarm services (`composeSwarm`) across the swarm.
        project = ComposeProject(
            "compose-file",
            ComposeProjectArgs(file=cfg.compose.file, variables=cfg.compose.variables, swarm=cfg.compose.swarm),
            opts=on_swarm,
        )
        outputs["composeContainers"] = project.container_names
        outputs["composeSwarmServices"] = project.swarm_service_names
    return services, outputs


def consul_and_swarm_outputs(
    consul: ConsulCluster, swarm: SwarmCluster, services: Sequence[SwarmService]
) -> dict[str, pulumi.Input]:
    """The stack outputs every environment with Consul and a swarm has alike."""
    return {
        "consulUiUrl": f"{consul.scheme}://{consul.http_address}/ui",
        "consulHttpAddress": consul.http_address,
        "consulDnsAddress": consul.dns_address,
        "consulNodes": list(consul.node_names),
        # Secret, as the management token is: `pulumi stack output --show-secrets consulManagementToken`.
        **({"consulManagementToken": consul.management_token} if consul.management_token is not None else {}),
        # What a client of the HTTPS API verifies it with: `pulumi stack output consulCaCert > consul-ca.pem`.
        **({"consulCaCert": consul.ca_cert_pem} if consul.ca_cert_pem is not None else {}),
        **({"swarmUnlockKey": swarm.unlock_key} if swarm.unlock_key is not None else {}),
        "swarmServices": [service.service_name for service in services],
    }


def heyworld_services(cfg: StackConfig, opts: pulumi.ResourceOptions, manager_docker_url: str) -> tuple[SwarmService, SwarmService]:
    """The seed's two services: `heyworld` replicated, `heyworld_global` on every node, both as `heyworldDeploy` says."""
    deploy = cfg.swarm.heyworld
    replicated_name, global_name = names.heyworld_services(cfg.stack)
    replicated = SwarmService(
        "heyworld",
        SwarmServiceArgs(
            service_name=replicated_name,
            image=cfg.images.heyworld,
            args=HEYWORLD_ARGS,
            replicas=cfg.workload.heyworld_replicas,
            manager_docker_url=manager_docker_url,
            **_deploy_args(deploy),
        ),
        opts=opts,
    )
    global_ = SwarmService(
        "heyworld-global",
        SwarmServiceArgs(
            service_name=global_name,
            image=cfg.images.heyworld,
            args=HEYWORLD_ARGS,
            mode="global",
            manager_docker_url=manager_docker_url,
            **_deploy_args(deploy),
        ),
        opts=opts,
    )
    return replicated, global_


def configured_services(cfg: StackConfig, opts: pulumi.ResourceOptions, manager_docker_url: str) -> tuple[SwarmService, ...]:
    """The services `swarmServices` lists, named `<stack>-<name>` on the swarm."""
    return tuple(
        SwarmService(
            f"service-{service.name}",
            SwarmServiceArgs(
                service_name=names.configured_service(cfg.stack, service.name),
                image=service.image,
                args=service.args,
                mode=service.mode,
                replicas=service.replicas,
                health_check=service.health_check,
                published_ports=service.ports,
                manager_docker_url=manager_docker_url,
                **_deploy_args(service.deploy),
            ),
            opts=opts,
        )
        for service in cfg.swarm.services
    )


def _deploy_args(deploy: ServiceDeploy) -> dict:
    return {
        "placement": deploy.placement,
        "resources": deploy.resources,
        "rollout": deploy.rollout,
        "converge_timeout": deploy.converge_timeout,
    }


def inventory(
    containers: Mapping[str, Mapping[pulumi.Input[str], pulumi.Input[str]]], services: Sequence[SwarmService]
) -> dict[str, pulumi.Input]:
    """What runs where, as Centurion's list and Helios' status show it: per host each container and its
    image, per swarm service its mode, replicas (None when global) and image."""
    return {
        "hosts": {
            host: pulumi.Output.all(*(pulumi.Output.all(name, image) for name, image in by_name.items())).apply(dict)
            for host, by_name in containers.items()
        },
        "services": pulumi.Output.all(
            *(
                pulumi.Output.all(service.service_name, service.image).apply(
                    lambda found, service=service: (found[0], {"mode": service.mode, "replicas": service.replicas, "image": found[1]})
                )
                for service in services
            )
        ).apply(dict),
    }


def app_settings(cfg: StackConfig, worker_count: int) -> dict[str, str]:
    """The distributed app's configuration as it is kept in Consul KV."""
    return {"greeting": cfg.workload.greeting, "workers": str(worker_count)}
