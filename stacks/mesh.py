"""Consul's service mesh in a stack: how the sidecars run and which calls the intentions allow."""
from __future__ import annotations

from typing import Optional

import pulumi

from components.consul_cluster import ConsulCluster
from components.consul_mesh import ConsulMesh, ConsulMeshArgs, Intention
from components.consul_server import GRPC_PORT, GRPC_TLS_PORT
from components.distributed_app import SERVICE_NAME
from components.distributed_client import CLIENT_SERVICE
from components.mesh_sidecar import MeshSidecars
from stacks.config import StackConfig

# The one call the mesh lets through.
ALLOWED = (Intention(source=CLIENT_SERVICE, destination=SERVICE_NAME),)


def sidecar_image(cfg: StackConfig) -> str:
    """The image the sidecars run: Consul's own for its built-in proxy, `meshEnvoyImage` for Envoy."""
    mesh = cfg.workload.consul_mesh
    return mesh.envoy_image if mesh is not None and mesh.envoy_image else cfg.images.consul


def sidecars(
    cfg: StackConfig, consul: ConsulCluster, agent_host: str, token: Optional[pulumi.Output[str]]
) -> Optional[MeshSidecars]:
    """How a workload's sidecars run, talking to the agent at `agent_host`; None without the mesh."""
    mesh = cfg.workload.consul_mesh
    if mesh is None:
        return None
    if mesh.proxy == "builtin":
        return MeshSidecars(image=sidecar_image(cfg), token=token)
    grpc = f"https://{agent_host}:{GRPC_TLS_PORT}" if consul.ca_cert_pem is not None else f"http://{agent_host}:{GRPC_PORT}"
    return MeshSidecars(image=sidecar_image(cfg), proxy="envoy", grpc_addr=grpc, token=token)


def mesh_intentions(cfg: StackConfig, consul: ConsulCluster) -> list[pulumi.Resource]:
    """Deny by default, the client allowed to call the app: the intentions to depend on; none without the mesh."""
    if cfg.workload.consul_mesh is None:
        return []
    mesh = ConsulMesh("mesh", ConsulMeshArgs(allowed=ALLOWED), opts=pulumi.ResourceOptions(providers={"consul": consul.provider}))
    return [mesh.deny_all, *mesh.intentions.values()]
