"""A topology the orchestration project's stacks don't have, from its components alone: five Consul
servers on one engine, one self-registering worker beside each (registered with its own server), and
a replicated swarm service."""
import pulumi

from components import (
    DOCKER_EMBEDDED_DNS,
    DNS_PORT,
    HTTP_PORT,
    ConsulCluster,
    ConsulClusterArgs,
    ConsulNodeSpec,
    DistributedApp,
    DistributedAppArgs,
    DockerHost,
    DockerHostArgs,
    PublishedPort,
    SwarmCluster,
    SwarmClusterArgs,
    SwarmNode,
    SwarmService,
    SwarmServiceArgs,
)

SERVERS = 5

config = pulumi.Config()
prefix = f"five-{pulumi.get_stack()}"
docker_url = config.require("dockerHost")
http_port = config.require_int("consulHttpPort")

host = DockerHost(
    "engine",
    DockerHostArgs(docker_url=docker_url, network_name=f"{prefix}-net", network_subnet=config.require("networkSubnet")),
)
nodes = [f"consul-{index}" for index in range(1, SERVERS + 1)]
consul = ConsulCluster(
    "consul",
    ConsulClusterArgs(
        name_prefix=prefix,
        datacenter="dc1",
        image=config.require("consulImage"),
        nodes=[
            ConsulNodeSpec(
                node_name=node,
                provider=host.provider,
                network_name=host.network_name,
                join_address=node,
                # Only the first publishes its API, for the readiness check and for you.
                published_ports=(PublishedPort(HTTP_PORT, http_port, "127.0.0.1"),) if node == nodes[0] else (),
            )
            for node in nodes
        ],
        http_address=f"127.0.0.1:{http_port}",
        dns_address=f"{nodes[0]}:{DNS_PORT}",
        recursors=[DOCKER_EMBEDDED_DNS],
    ),
)
on_engine_after_consul = pulumi.ResourceOptions(providers={"docker": host.provider}, depends_on=[consul.ready])
workers = [
    DistributedApp(
        f"worker-{node}",
        DistributedAppArgs(
            name_prefix=prefix,
            worker_ids=[f"worker-{node}"],
            image=config.require("workerImage"),
            consul_http_addr=f"http://{node}:{HTTP_PORT}",
            network_name=host.network_name,
        ),
        opts=on_engine_after_consul,
    )
    for node in nodes
]
swarm = SwarmCluster("swarm", SwarmClusterArgs(manager=SwarmNode("engine", docker_url), advertise_address="127.0.0.1"))
hello = SwarmService(
    "hello",
    SwarmServiceArgs(
        service_name=f"{prefix}-hello",
        image=config.require("serviceImage"),
        args=("sh", "-c", "while true; do echo hello from $(hostname); sleep 10; done"),
        replicas=2,
    ),
    opts=pulumi.ResourceOptions(providers={"docker": host.provider}, depends_on=list(swarm.ready)),
)

pulumi.export("consulHttpAddress", consul.http_address)
pulumi.export("consulNodes", list(consul.node_names))
pulumi.export("workers", [worker.container_names for worker in workers])
pulumi.export("service", hello.service_name)
