"""Reusable component resources: they take plain typed args and know no environment.

The public API is what `__all__` lists; install the package with
`pip install "orchestration-components @ git+https://<this repository>"` or `pip install <path to it>`.
Other languages get the same components through the provider in provider/ (`components.cross_language`).

Each name is imported when it is first used (PEP 562), so a program imports only the components, and
the provider SDKs, that it uses.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    # What type checkers read; at run time each name is imported on first use (__getattr__ below).
    from components.app_image import AppImage, AppImageArgs
    from components.compose_app import ComposeApp, ComposeAppArgs, ComposeWebSwarm
    from components.compose_project import ComposeFileError, ComposeProject, ComposeProjectArgs
    from components.consul_catalog import ConsulCatalog, ConsulCatalogArgs, ExternalService
    from components.consul_cluster import ConsulCluster, ConsulClusterArgs, ConsulNodeSpec
    from components.consul_mesh import ConsulMesh, ConsulMeshArgs, Intention
    from components.consul_server import DNS_PORT, DOCKER_EMBEDDED_DNS, HTTP_PORT, ConsulServer, ConsulServerArgs, PublishedPort
    from components.distributed_app import DistributedApp, DistributedAppArgs
    from components.distributed_client import DistributedClient, DistributedClientArgs
    from components.docker_host import DockerHost, DockerHostArgs
    from components.docker_in_docker_host import DockerInDockerHost, DockerInDockerHostArgs
    from components.image_registry import ImageRegistry, ImageRegistryArgs
    from components.mesh_sidecar import MeshSidecars
    from components.registry import RegistryLogin
    from components.swarm_cluster import SwarmCluster, SwarmClusterArgs, SwarmNode
    from components.swarm_policy import HealthCheck, MeshPort, Placement, Resources, Rollout
    from components.swarm_service import SwarmService, SwarmServiceArgs

# Each public name's module, for __getattr__; tests/unit/test_package_api.py keeps it equal to the imports above.
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
