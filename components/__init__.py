"""Reusable component resources: they take plain typed args and know no environment.

The public API is what `__all__` lists; install the package with
`pip install "orchestration-components @ git+https://<this repository>"` or `pip install <path to it>`.
Other languages get the same components through the provider in provider/ (`components.cross_language`).

Each name is imported when it is first used (PEP 562), so a program imports only the components, and
the provider SDKs, that it uses.
"""
from __future__ import annotations

import importlib
from typing import Any

_MODULES = {
    "AppImage": "components.app_image",
    "AppImageArgs": "components.app_image",
    "ComposeApp": "components.compose_app",
    "ComposeAppArgs": "components.compose_app",
    "ComposeWebSwarm": "components.compose_app",
    "ComposeFileError": "components.compose_project",
    "ComposeProject": "components.compose_project",
    "ComposeProjectArgs": "components.compose_project",
    "ConsulCatalog": "components.consul_catalog",
    "ConsulCatalogArgs": "components.consul_catalog",
    "ExternalService": "components.consul_catalog",
    "ConsulCluster": "components.consul_cluster",
    "ConsulClusterArgs": "components.consul_cluster",
    "ConsulNodeSpec": "components.consul_cluster",
    "ConsulMesh": "components.consul_mesh",
    "ConsulMeshArgs": "components.consul_mesh",
    "Intention": "components.consul_mesh",
    "DNS_PORT": "components.consul_server",
    "DOCKER_EMBEDDED_DNS": "components.consul_server",
    "HTTP_PORT": "components.consul_server",
    "ConsulServer": "components.consul_server",
    "ConsulServerArgs": "components.consul_server",
    "PublishedPort": "components.consul_server",
    "DistributedApp": "components.distributed_app",
    "DistributedAppArgs": "components.distributed_app",
    "DistributedClient": "components.distributed_client",
    "DistributedClientArgs": "components.distributed_client",
    "DockerHost": "components.docker_host",
    "DockerHostArgs": "components.docker_host",
    "DockerInDockerHost": "components.docker_in_docker_host",
    "DockerInDockerHostArgs": "components.docker_in_docker_host",
    "ImageRegistry": "components.image_registry",
    "ImageRegistryArgs": "components.image_registry",
    "MeshSidecars": "components.mesh_sidecar",
    "RegistryLogin": "components.registry",
    "SwarmCluster": "components.swarm_cluster",
    "SwarmClusterArgs": "components.swarm_cluster",
    "SwarmNode": "components.swarm_cluster",
    "HealthCheck": "components.swarm_policy",
    "MeshPort": "components.swarm_policy",
    "Placement": "components.swarm_policy",
    "Resources": "components.swarm_policy",
    "Rollout": "components.swarm_policy",
    "SwarmService": "components.swarm_service",
    "SwarmServiceArgs": "components.swarm_service",
}

__all__ = [
    "AppImage", "AppImageArgs",
    "ComposeApp", "ComposeAppArgs", "ComposeWebSwarm",
    "ComposeProject", "ComposeProjectArgs", "ComposeFileError",
    "ConsulCatalog", "ConsulCatalogArgs", "ExternalService",
    "ConsulCluster", "ConsulClusterArgs", "ConsulNodeSpec",
    "ConsulMesh", "ConsulMeshArgs", "Intention",
    "ConsulServer", "ConsulServerArgs", "PublishedPort", "HTTP_PORT", "DNS_PORT", "DOCKER_EMBEDDED_DNS",
    "DistributedApp", "DistributedAppArgs",
    "DistributedClient", "DistributedClientArgs",
    "DockerHost", "DockerHostArgs",
    "DockerInDockerHost", "DockerInDockerHostArgs",
    "ImageRegistry", "ImageRegistryArgs",
    "MeshSidecars",
    "RegistryLogin",
    "SwarmCluster", "SwarmClusterArgs", "SwarmNode",
    "SwarmService", "SwarmServiceArgs",
    "HealthCheck", "MeshPort", "Placement", "Resources", "Rollout",
]


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module 'components' has no attribute {name!r}")
    value = getattr(importlib.import_module(_MODULES[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
