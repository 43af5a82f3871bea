"""The seed's distributed_app: web workers that register themselves in Consul."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import pulumi
import pulumi_docker as docker

from components.consul_tls import WORKLOAD_CA_ENV, workload_ca_uploads
from components.container_resources import container_resource_args
from components.environment import env_entry
from components.mesh_pod import PodArgs, in_pod, pod_container, pod_container_name, published_sidecar
from components.mesh_sidecar import SIDECAR_PORT, MeshSidecars, mesh_labels, sidecar_container
from components.options import child_options, preparation_options, component_options
from components.pulled_image import pulled_image
from components.swarm_policy import Resources

SERVICE_NAME = "distributed_app"
CONTAINER_PORT = 8080


@dataclass(frozen=True)
class DistributedAppArgs:
    name_prefix: str
    worker_ids: Sequence[str]
    """One container per id; each registers under its id (server1, server2, ...)."""
    image: pulumi.Input[str]
    consul_http_addr: pulumi.Input[str]
    """The Consul agent the workers register with."""
    network_name: pulumi.Input[str]
    publish_address: Optional[str] = None
    """Publish each worker on this host address from `first_port` on, and advertise that (in the mesh, its
    sidecar's public listener, and the address is the Consul agent's, which the workers register with);
    without it workers advertise their container address on the shared network."""
    first_port: int = CONTAINER_PORT
    kv_prefix: Optional[str] = None
    dns: Sequence[pulumi.Input[str]] = ()
    image_triggers: Sequence[pulumi.Input[str]] = ()
    resources: Resources = Resources()
    """CPU and memory limits of each worker's container."""
    consul_token: Optional[pulumi.Input[str]] = None
    """The ACL token the workers register with, where ACLs are on; give it as a secret."""
    consul_ca_pem: Optional[pulumi.Input[str]] = None
    """The CA the Consul servers' certificates are signed with, where the API is HTTPS."""
    mesh: Optional[MeshSidecars] = None
    """In Consul's service mesh: each worker listens on its loopback only, behind a sidecar, both in a pod of
    their own (components/mesh_pod.py); only the sidecar's public listener is published, with `publish_address`."""


def worker_container_name(name_prefix: str, worker_id: str) -> str:
    return f"{name_prefix}-{worker_id}"


def worker_environment(args: DistributedAppArgs, worker_id: str, port: int) -> list[pulumi.Input[str]]:
    """What one worker is told: where Consul is, who it is, and what it advertises."""
    env: list[pulumi.Input[str]] = [
        env_entry("CONSUL_HTTP_ADDR", args.consul_http_addr),
        f"SERVICE_NAME={SERVICE_NAME}",
        f"SERVICE_ID={worker_id}",
        f"PORT={CONTAINER_PORT}",
        f"CHECK_INTERVAL={CHECK_INTERVAL}",
    ]
    if args.publish_address and args.mesh is None:
        env += [f"SERVICE_ADDRESS={args.publish_address}", f"SERVICE_PORT={port}"]
    if args.kv_prefix:
        env.append(f"CONSUL_KV_PREFIX={args.kv_prefix}")
    if args.consul_token is not None:
        env.append(env_entry("CONSUL_HTTP_TOKEN", args.consul_token))
    if args.consul_ca_pem is not None:
        env.append(WORKLOAD_CA_ENV)
    if args.mesh is not None:
        env += ["LISTEN_ADDRESS=127.0.0.1", f"SIDECAR_PORT={sidecar_port(args, port)}"]
        if args.publish_address:
            # Reached at its node's address, where its host publishes the sidecar: registered without an
            # address of its own, so Consul gives it and its sidecar the node's, and the built-in proxy, which
            # binds the sidecar's registered address, listens on every address of the pod.
            env.append(f"NODE_ADDRESS={args.publish_address}")
    return env


def sidecar_port(args: DistributedAppArgs, port: int) -> int:
    """Where a worker's sidecar listens in its pod: the port its host publishes it on, else the mesh's one."""
    return port if args.publish_address else SIDECAR_PORT


# Healthy once the catalog lists this worker passing, read through the servers as any lookup is: the
# agent's own view turns passing a moment before its servers hear of it, so a check of that view let
# `pulumi up` return while a lookup still missed the worker. From then on the catalog and Consul DNS
# list it. (With ACLs its token reads nodes too: the catalog leaves out entries of nodes it cannot read.)
REGISTERED_CHECK = (
    "import json, os, ssl, sys, urllib.parse, urllib.request; "
    "agent = os.environ['CONSUL_HTTP_ADDR'].rstrip('/'); "
    "agent = agent if '://' in agent else 'http://' + agent; "
    "tls = ssl.create_default_context(cafile=os.environ.get('CONSUL_CACERT')); "
    "token = {'X-Consul-Token': os.environ['CONSUL_HTTP_TOKEN']} if os.environ.get('CONSUL_HTTP_TOKEN') else {}; "
    "query = urllib.parse.urlencode({'passing': 'true', 'filter': 'Service.ID == \"%s\"' % os.environ['SERVICE_ID']}); "
    "url = agent + '/v1/health/service/' + os.environ['SERVICE_NAME'] + '?' + query; "
    "sys.exit(0 if json.load(urllib.request.urlopen(urllib.request.Request(url, headers=token), timeout=2, context=tls)) else 1)"
)
# Consul runs a new check first at a random point within its interval: at the app's default 5 s a
# started worker took up to 4.6 s (p95) to be found; at 1 s, 0.73 s (benchmarks/discovery.py).
CHECK_INTERVAL = "1s"


class DistributedApp(pulumi.ComponentResource):
    worker_ids: tuple[str, ...]
    workers: tuple[docker.Container, ...]
    """Each is created only once registered and passing in Consul: depend on them to find them there."""
    container_names: pulumi.Output[list[str]]
    sidecars: tuple[docker.Container, ...]
    """In the mesh, each worker's proxy (in the workers' order); depend on these to call a worker through the mesh."""
    pods: tuple[docker.Container, ...]
    """In the mesh, each worker's pod, holding the namespace the worker and its sidecar share (in the workers' order)."""

    def __init__(self, name: str, args: DistributedAppArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("orchestration:apps:DistributedApp", name, None, component_options(opts))
        image = pulled_image(
            f"{name}-image", args.image, preparation_options(self), triggers=list(args.image_triggers)
        )
        workers, pods = [], []
        for index, worker_id in enumerate(args.worker_ids):
            port = args.first_port + index
            container_name = worker_container_name(args.name_prefix, worker_id)
            if args.mesh is None:
                network: dict = dict(
                    hostname=worker_id,
                    networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=args.network_name, aliases=[worker_id])],
                    ports=[docker.ContainerPortArgs(internal=CONTAINER_PORT, external=port, ip=args.publish_address)]
                    if args.publish_address
                    else None,
                    dns=list(args.dns) or None,
                )
            else:
                pod = pod_container(
                    f"{name}-{worker_id}-pod",
                    PodArgs(
                        container_name=pod_container_name(container_name),
                        image=image.image_id,
                        hostname=worker_id,
                        network_name=args.network_name,
                        aliases=[worker_id],
                        dns=args.dns,
                        ports=published_sidecar(args.publish_address, sidecar_port(args, port)),
                        labels=mesh_labels(SERVICE_NAME, sidecar_port(args, port) if args.publish_address else None),
                    ),
                    child_options(self, opts),
                )
                pods.append(pod)
                network = dict(network_mode=in_pod(pod))
            workers.append(
                docker.Container(
                    f"{name}-{worker_id}",
                    **container_resource_args(args.resources),
                    **network,
                    name=container_name,
                    image=image.image_id,
                    envs=worker_environment(args, worker_id, port),
                    uploads=workload_ca_uploads(args.consul_ca_pem),
                    restart="unless-stopped",
                    labels=mesh_labels(SERVICE_NAME) if args.mesh is not None else None,
                    healthcheck=docker.ContainerHealthcheckArgs(
                        tests=["CMD", "python3", "-c", REGISTERED_CHECK], interval="1s", timeout="3s", start_period="45s", retries=3
                    ),
                    wait=True,
                    # Pulumi force-removes a container unless told to stop it first; stopped,
                    # the worker deregisters itself from Consul on SIGTERM.
                    destroy_grace_seconds=15,
                    opts=child_options(self, opts, delete_before_replace=True),
                )
            )
        self.pods = tuple(pods)
        self.workers = tuple(workers)
        self.sidecars = self._sidecars(name, args, opts, workers, pods) if args.mesh is not None else ()
        self.worker_ids = tuple(args.worker_ids)
        self.container_names = pulumi.Output.all(*[worker.name for worker in workers])
        self.register_outputs({"worker_ids": list(self.worker_ids), "container_names": self.container_names})

    def _sidecars(
        self, name: str, args: DistributedAppArgs, opts: pulumi.ResourceOptions | None, workers: list[docker.Container],
        pods: list[docker.Container],
    ) -> tuple[docker.Container, ...]:
        assert args.mesh is not None
        image = pulled_image(f"{name}-sidecar-image", args.mesh.image, preparation_options(self))
        # Each after its worker is registered: the proxy starts only for a registered sidecar.
        return tuple(
            sidecar_container(
                f"{name}-{worker_id}-sidecar",
                args.mesh.for_instance(
                    image.image_id, worker_id, worker_container_name(args.name_prefix, worker_id), pod.id,
                    args.consul_http_addr, args.consul_ca_pem, listen_port=sidecar_port(args, args.first_port + index),
                ),
                child_options(self, opts, depends_on=[worker]),
            )
            for index, (worker_id, worker, pod) in enumerate(zip(args.worker_ids, workers, pods))
        )
