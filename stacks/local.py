"""The `dev` environment: everything on one Docker engine.

Deploys the compose app (web + Redis; web as a replicated swarm service with `composeWeb`),
a Consul cluster of 1, 3 or 5 servers, the distributed app's workers, the client, Redis and
web in Consul's catalog, the app's settings in Consul KV, and a one-node swarm running
`heyworld` and `heyworld_global`; with `composeFile`, that compose file as it is (services
with `deploy` as swarm services).
"""
from __future__ import annotations

import pulumi

from components.compose_app import REDIS_PORT, WEB_PORT, ComposeApp, ComposeAppArgs, ComposeWebSwarm
from components.consul_catalog import ConsulCatalog, ConsulCatalogArgs, ExternalService
from components.consul_cluster import ConsulCluster, ConsulClusterArgs, ConsulNodeSpec
from components.consul_server import (
    DNS_PORT,
    DOCKER_EMBEDDED_DNS,
    PublishedPort,
    api_port,
    dns_ports,
)
from components.distributed_app import DistributedApp, DistributedAppArgs
from components.distributed_client import DistributedClient, DistributedClientArgs
from components.docker_host import DockerHost, DockerHostArgs
from components.swarm_cluster import SwarmCluster, SwarmClusterArgs, SwarmNode
from stacks import names
from stacks.access import consul_tokens
from stacks.mesh import mesh_intentions, sidecar_image, sidecars
from stacks.config import StackConfig
from stacks.deploy_config import ComposeWeb
from stacks.workloads import app_settings, build_images, consul_and_swarm_outputs, inventory, on_the_swarm


def build(cfg: StackConfig) -> dict[str, pulumi.Input]:
    local = cfg.local
    assert local is not None, "the local builder needs the local config"
    prefix = cfg.stack
    host = DockerHost(
        "local", DockerHostArgs(docker_url=local.docker_url, network_name=names.network(prefix), network_subnet=local.network_subnet)
    )
    on_host = pulumi.ResourceOptions(providers={"docker": host.provider})
    images = build_images(cfg, registry=None, docker_url=local.docker_url, opts=on_host)

    node_names = names.consul_nodes(cfg.workload.consul_servers)
    # Only the first server publishes: one engine has one port 8500. Containers reach its DNS
    # on the stack network, at a fixed address.
    first_server_ports = (
        PublishedPort(api_port(cfg.workload.consul_tls), local.consul_http_port, local.publish_address),
        *dns_ports(local.publish_address, local.consul_dns_port),
    )
    consul = ConsulCluster(
        "consul",
        ConsulClusterArgs(
            resources=cfg.containers.consul,
            name_prefix=prefix,
            datacenter=cfg.datacenter,
            image=cfg.images.consul,
            nodes=[
                ConsulNodeSpec(
                    node_name=node,
                    provider=host.provider,
                    network_name=host.network_name,
                    join_address=node,
                    published_ports=first_server_ports if node == node_names[0] else (),
                    ipv4_address=local.consul_dns_address if node == node_names[0] else None,
                )
                for node in node_names
            ],
            http_address=f"{local.publish_address}:{local.consul_http_port}",
            dns_address=f"{local.publish_address}:{local.consul_dns_port}",
            recursors=[DOCKER_EMBEDDED_DNS],
            gossip_encryption=cfg.workload.consul_gossip_encryption,
            acl=cfg.workload.consul_acl,
            tls=cfg.workload.consul_tls,
            raft_multiplier=cfg.workload.consul_raft_multiplier,
            retain_data=cfg.workload.retain_data,
            connect=cfg.workload.consul_mesh is not None,
            grpc=cfg.workload.consul_mesh is not None and cfg.workload.consul_mesh.proxy == "envoy",
        ),
    )
    consul_dns = [local.consul_dns_address]
    consul_http = consul.api_url(node_names[0])
    after_consul = pulumi.ResourceOptions(providers={"docker": host.provider}, depends_on=[consul.ready])

    swarm = SwarmCluster(
        "swarm",
        SwarmClusterArgs(
            manager=SwarmNode("local", local.docker_url),
            advertise_address=local.swarm_advertise_address,
            autolock=cfg.swarm.autolock,
        ),
    )
    web = cfg.swarm.compose_web
    compose = ComposeApp(
        "compose",
        ComposeAppArgs(
            name_prefix=prefix,
            web_image=images["composeapp"].reference,
            web_image_triggers=[images["composeapp"].digest],
            redis_image=cfg.images.redis,
            published_port=cfg.workload.web_port,
            publish_address=local.publish_address,
            redis_host="redis.service.consul" if local.redis_through_consul else "redis",
            shared_network=host.network_name,
            redis_shared_address=local.redis_address,
            web_shared_address=local.web_address,
            dns=consul_dns,
            retain_data=cfg.workload.retain_data,
            web_swarm=_web_swarm(web, local.docker_url) if web.mode == "swarm" else None,
        ),
        # A swarm service and its overlay network need the swarm.
        opts=pulumi.ResourceOptions.merge(after_consul, pulumi.ResourceOptions(depends_on=list(swarm.ready)))
        if web.mode == "swarm"
        else after_consul,
    )
    worker_ids = names.worker_ids(cfg.workload.app_workers)
    catalog_node = f"{prefix}-compose"
    tokens = consul_tokens(cfg, consul, catalog_node=catalog_node, catalog_services=("redis", "web"))
    catalog = ConsulCatalog(
        "catalog",
        ConsulCatalogArgs(
            node_name=catalog_node,
            node_address=local.network_gateway,
            services=[
                ExternalService("redis", compose.redis_address, REDIS_PORT),
                # A swarm service's tasks come and go: it is registered where its port is published.
                ExternalService("web", compose.web_address, WEB_PORT)
                if compose.web_address is not None
                else ExternalService("web", local.network_gateway, cfg.workload.web_port),
            ],
            kv_prefix=cfg.workload.kv_prefix,
            kv=app_settings(cfg, worker_count=len(worker_ids)),
        ),
        opts=pulumi.ResourceOptions(providers={"consul": tokens.catalog}),
    )
    # Workers read their settings from KV when they start.
    after_catalog = pulumi.ResourceOptions.merge(after_consul, pulumi.ResourceOptions(depends_on=[catalog.settings]))
    app = DistributedApp(
        "app",
        DistributedAppArgs(
            resources=cfg.containers.workers,
            name_prefix=prefix,
            worker_ids=worker_ids,
            image=images["distributed_app"].reference,
            image_triggers=[images["distributed_app"].digest],
            consul_http_addr=consul_http,
            network_name=host.network_name,
            kv_prefix=cfg.workload.kv_prefix,
            dns=consul_dns,
            consul_token=tokens.app,
            consul_ca_pem=consul.ca_cert_pem,
            mesh=sidecars(cfg, consul, node_names[0], tokens.app_sidecar),
        ),
        opts=after_catalog,
    )
    intentions = mesh_intentions(cfg, consul)
    client = DistributedClient(
        "client",
        DistributedClientArgs(
            resources=cfg.containers.client,
            container_name=names.client_container(prefix),
            image=images["distributed_client"].reference,
            image_triggers=[images["distributed_client"].digest],
            consul_http_addr=consul_http,
            consul_dns_server=node_names[0],
            consul_dns_port=DNS_PORT,
            network_name=host.network_name,
            kv_prefix=cfg.workload.kv_prefix,
            dns=consul_dns,
            consul_token=tokens.client,
            consul_ca_pem=consul.ca_cert_pem,
            mesh=sidecars(cfg, consul, node_names[0], tokens.client_sidecar),
        ),
        # Its first report already lists every worker, and in the mesh reaches one.
        opts=pulumi.ResourceOptions.merge(
            after_catalog, pulumi.ResourceOptions(depends_on=[*app.workers, *app.sidecars, *intentions])
        ),
    )

    services, outputs = on_the_swarm(cfg, swarm, host.provider, local.docker_url)
    if compose.web_service is not None:
        services = (*services, compose.web_service)
    return {
        **outputs,
        **consul_and_swarm_outputs(consul, swarm, services),
        "webUrl": compose.url,
        "catalogServices": list(catalog.service_names),
        "kvPrefix": catalog.kv_prefix,
        "clientContainer": client.container_name,
        "inventory": inventory(
            {
                "local": {
                    compose.redis_container_name: cfg.images.redis,
                    **({compose.web_container_name: images["composeapp"].reference} if compose.web_container_name is not None else {}),
                    **dict.fromkeys(consul.container_names.values(), cfg.images.consul),
                    **{worker.name: images["distributed_app"].reference for worker in app.workers},
                    client.container_name: images["distributed_client"].reference,
                    **{sidecar.name: sidecar_image(cfg) for sidecar in (*app.sidecars, *([client.sidecar] if client.sidecar else []))},
                }
            },
            services,
        ),
    }


def _web_swarm(web: ComposeWeb, manager_docker_url: str) -> ComposeWebSwarm:
    return ComposeWebSwarm(
        replicas=web.replicas,
        publish_mode=web.publish_mode,
        rollout=web.deploy.rollout,
        placement=web.deploy.placement,
        resources=web.deploy.resources,
        converge_timeout=web.deploy.converge_timeout,
        manager_docker_url=manager_docker_url,
    )
