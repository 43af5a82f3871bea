"""Reusable component resources: they take plain typed args and know no environment.

The public API is what `__all__` lists; install the package with
`pip install "orchestration-components @ git+https://<this repository>"` or `pip install <path to it>`.
Other languages get the same components through the provider in provider/ (`components.cross_language`).
"""
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
