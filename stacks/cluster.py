"""The `cluster` environment: one Docker engine per host (larry, curly and moe by default).

Deploys a Consul server on every `consul-server` host and a Consul client agent on every
other host (ports published on the host's private address only), the distributed app's
workers on every `app` host, the client on every `client` host, each registering with and
asking its own host's agent, the app's settings in Consul KV, and a swarm managed from
`swarmManager` that every other host joins, running `heyworld` and `heyworld_global`;
with `composeFile`, that compose file on the manager. Our images are built once and pushed to the registry every host pulls from.
"""
from __future__ import annotations

import pulumi
import pulumi_docker as docker

from components.consul_catalog import ConsulCatalog, ConsulCatalogArgs
from components.consul_cluster import ConsulCluster, ConsulClusterArgs, ConsulNodeSpec
from components.consul_server import (
    DNS_PORT,
    DOCKER_EMBEDDED_DNS,
    api_port,
    host_ports,
)
from components.distributed_app import SERVICE_NAME, DistributedApp, DistributedAppArgs
from components.distributed_client import DistributedClient, DistributedClientArgs
from components.docker_host import DockerHost, DockerHostArgs
from components.registry import RegistryLogin
from components.swarm_cluster import SwarmCluster, SwarmClusterArgs, SwarmNode
from stacks import names
from stacks.access import consul_tokens
from stacks.config import ClusterConfig, Host, StackConfig
from stacks.mesh import mesh_intentions, sidecar_image, sidecars
from stacks.reachability import check_engines_reachable
from stacks.workloads import app_settings, build_images, consul_and_swarm_outputs, inventory, on_the_swarm

# What each role runs on its host, by name: the client agents roll so that none of these, where it
# runs on two or more hosts, ever has every host's agent away at once (the servers run no workload of their own).
ROLE_WORKLOADS = {"app": SERVICE_NAME, "client": "distributed_client"}


def host_workloads(host: Host) -> tuple[str, ...]:
    return tuple(sorted(ROLE_WORKLOADS[role] for role in host.roles if role in ROLE_WORKLOADS))


def build(cfg: StackConfig) -> dict[str, pulumi.Input]:
    cluster = cfg.cluster
    assert cluster is not None, "the cluster builder needs the cluster config"
    # Every `pulumi preview` and `pulumi up` plans first: fail there, before any provider hangs on a host.
    if pulumi.runtime.is_dry_run():
        check_engines_reachable({**{host.name: host.docker_url for host in cluster.hosts}, "build engine": cluster.build_docker_url})
    prefix = cfg.stack
    registry = cluster.registry
    engines = {host.name: DockerHost(host.name, _host_args(cluster, host, prefix, registry)) for host in cluster.hosts}

    build_engine = docker.Provider("build-engine", host=cluster.build_docker_url)
    # The compose app is dev's: nothing in the cluster runs it.
    images = build_images(
        cfg,
        registry=registry,
        docker_url=cluster.build_docker_url,
        opts=pulumi.ResourceOptions(providers={"docker": build_engine}),
        apps=("distributed_app", "distributed_client"),
    )

    servers = cluster.with_role("consul-server")
    mesh = cfg.workload.consul_mesh
    # Envoy sidecars take their configuration from their own host's agent, over gRPC.
    envoy = mesh is not None and mesh.proxy == "envoy"

    def agent(host: Host) -> ConsulNodeSpec:
        return ConsulNodeSpec(
            node_name=host.name,
            provider=engines[host.name].provider,
            network_name=engines[host.name].network_name,
            join_address=host.address,
            advertise_address=host.address,
            published_ports=host_ports(host.address, tls=cfg.workload.consul_tls, server=host in servers, grpc=envoy),
            workloads=host_workloads(host),
        )

    consul = ConsulCluster(
        "consul",
        ConsulClusterArgs(
            resources=cfg.containers.consul,
            name_prefix=prefix,
            datacenter=cfg.datacenter,
            image=cfg.images.consul,
            nodes=[agent(host) for host in servers],
            clients=[agent(host) for host in cluster.hosts if host not in servers],
            http_address=f"{servers[0].address}:{api_port(cfg.workload.consul_tls)}",
            dns_address=f"{servers[0].address}:{DNS_PORT}",
            recursors=[DOCKER_EMBEDDED_DNS],
            gossip_encryption=cfg.workload.consul_gossip_encryption,
            acl=cfg.workload.consul_acl,
            tls=cfg.workload.consul_tls,
            raft_multiplier=cfg.workload.consul_raft_multiplier,
            retain_data=cfg.workload.retain_data,
            connect=mesh is not None,
            grpc=envoy,
        ),
    )
    tokens = consul_tokens(cfg, consul)
    catalog = ConsulCatalog(
        "catalog",
        ConsulCatalogArgs(
            kv_prefix=cfg.workload.kv_prefix,
            kv=app_settings(cfg, worker_count=cfg.workload.app_workers * len(cluster.with_role("app"))),
        ),
        opts=pulumi.ResourceOptions(providers={"consul": tokens.catalog}),
    )

    def on(host: Host) -> pulumi.ResourceOptions:
        # Workers read their settings from KV when they start, through their host's agent.
        return pulumi.ResourceOptions(
            providers={"docker": engines[host.name].provider}, depends_on=[consul.ready, catalog.settings, consul.agent(host.name)]
        )

    worker_ids = names.worker_ids(cfg.workload.app_workers)
    workers = []
    containers: dict[str, dict] = {host.name: {consul.container_names[host.name]: cfg.images.consul} for host in cluster.hosts}
    # Every host's containers register with and ask the agent on their own host, at the host's address.
    for host in cluster.with_role("app"):
        app = DistributedApp(
            f"app-{host.name}",
            DistributedAppArgs(
                resources=cfg.containers.workers,
                name_prefix=prefix,
                worker_ids=worker_ids,
                image=images["distributed_app"].reference,
                consul_http_addr=consul.api_url(host.address),
                network_name=engines[host.name].network_name,
                publish_address=host.address,
                first_port=cfg.workload.worker_port,
                kv_prefix=cfg.workload.kv_prefix,
                dns=[host.address],
                consul_token=tokens.app,
                consul_ca_pem=consul.ca_cert_pem,
                mesh=sidecars(cfg, consul, host.address, tokens.app_sidecar),
            ),
            opts=on(host),
        )
        workers += [*app.workers, *app.sidecars]
        containers.setdefault(host.name, {}).update(
            {
                **{container.name: images["distributed_app"].reference for container in (*app.pods, *app.workers)},
                **{sidecar.name: sidecar_image(cfg) for sidecar in app.sidecars},
            }
        )
    intentions = mesh_intentions(cfg, consul)
    clients = {}
    for host in cluster.with_role("client"):
        clients[host.name] = DistributedClient(
            f"client-{host.name}",
            DistributedClientArgs(
                resources=cfg.containers.client,
                container_name=names.client_container(prefix),
                image=images["distributed_client"].reference,
                consul_http_addr=consul.api_url(host.address),
                consul_dns_server=host.address,
                consul_dns_port=DNS_PORT,
                network_name=engines[host.name].network_name,
                kv_prefix=cfg.workload.kv_prefix,
                dns=[host.address],
                consul_token=tokens.client,
                consul_ca_pem=consul.ca_cert_pem,
                mesh=sidecars(cfg, consul, host.address, tokens.client_sidecar),
            ),
            # Its first report already lists every worker, and in the mesh reaches one.
            opts=pulumi.ResourceOptions.merge(on(host), pulumi.ResourceOptions(depends_on=[*workers, *intentions])),
        )
        client = clients[host.name]
        containers.setdefault(host.name, {})[client.container_name] = images["distributed_client"].reference
        if client.sidecar is not None:
            containers[host.name][client.sidecar.name] = sidecar_image(cfg)

    manager = cluster.host(cluster.swarm_manager)
    def node(host: Host) -> SwarmNode:
        return SwarmNode(
            host.name, host.docker_url, labels=cluster.nodes.labels.get(host.name, {}), drain=host.name in cluster.nodes.drained
        )

    swarm = SwarmCluster(
        "swarm",
        SwarmClusterArgs(
            manager=node(manager),
            advertise_address=manager.address,
            workers=[node(host) for host in cluster.hosts if host is not manager],
            autolock=cfg.swarm.autolock,
        ),
    )
    services, outputs = on_the_swarm(cfg, swarm, engines[manager.name].provider, manager.docker_url)
    return {
        **outputs,
        **consul_and_swarm_outputs(consul, swarm, services),
        "hosts": [host.name for host in cluster.hosts],
        "consulClientAgents": list(consul.client_node_names),
        "kvPrefix": catalog.kv_prefix,
        "clientContainers": {name: client.container_name for name, client in clients.items()},
        "swarmManager": manager.name,
        "images": {app: image.reference for app, image in images.items()},
        "inventory": inventory(containers, services),
    }


def _host_args(cluster: ClusterConfig, host: Host, prefix: str, registry: RegistryLogin) -> DockerHostArgs:
    tls = cluster.tls if host.docker_url.startswith("tcp://") else None
    return DockerHostArgs(
        docker_url=host.docker_url,
        network_name=names.network(prefix),
        ca_material=tls.ca if tls else None,
        cert_material=tls.cert if tls else None,
        key_material=tls.key if tls else None,
        registry=registry,
    )

