"""The `sandbox` environment: the cluster's hosts (larry, curly and moe by default) as
Docker-in-Docker containers on one engine, so the `cluster` stack can be tried on one machine.

Deploys a network with a fixed subnet, one container per host running its own Docker
engine on a fixed address, and a registry beside them that every host's engine trusts
over plain HTTP. The outputs are what the cluster stack takes through `hostsFromStack`:
`hosts` in the shape of its `hosts` config, with the roles `sandboxRoles` gives (else the chapter's), and `registry`; `buildDockerHost` is an engine
that can push there (docs/sandbox.md). Everything runs on the engine the Docker provider
defaults to (DOCKER_HOST, or `docker:host` config), on the machine where Pulumi runs:
the hosts are reached at their addresses on the sandbox network.
"""
from __future__ import annotations

import pulumi
import pulumi_docker as docker

from components.docker_in_docker_host import DockerInDockerHost, DockerInDockerHostArgs
from components.engine_forms import ipam_pool
from components.image_registry import ImageRegistry, ImageRegistryArgs, registry_server
from stacks.config import StackConfig
from stacks.names import sandbox_host_container, sandbox_registry_container


def build(cfg: StackConfig) -> dict[str, pulumi.Input]:
    sandbox = cfg.sandbox
    assert sandbox is not None, "the sandbox builder needs the sandbox config"
    prefix = cfg.stack
    network = docker.Network(
        "hosts-network",
        name=f"{prefix}-hosts",
        driver="bridge",
        ipam_configs=[ipam_pool(sandbox.subnet)],
    )
    registry = ImageRegistry(
        "registry",
        ImageRegistryArgs(
            container_name=sandbox_registry_container(prefix),
            image=sandbox.registry_image,
            network_name=network.name,
            address=sandbox.registry_address,
        ),
    )
    hosts = {
        host.name: DockerInDockerHost(
            host.name,
            DockerInDockerHostArgs(
                host_name=host.name,
                container_name=sandbox_host_container(prefix, host.name),
                image=sandbox.host_image,
                network_name=network.name,
                address=host.address,
                privileged=sandbox.privileged,
                insecure_registries=[registry_server(sandbox.registry_address)],
            ),
        )
        for host in sandbox.hosts
    }
    first = next(iter(hosts.values()))
    roles = {host.name: list(host.roles) for host in sandbox.hosts}
    return {
        "hosts": [
            {"name": name, "docker": host.docker_url, "address": host.address, "roles": roles[name]}
            for name, host in hosts.items()
        ],
        "registry": registry.server,
        # The engine that pushes must trust the plain-HTTP registry, as every sandbox host does.
        "buildDockerHost": first.docker_url,
        "dockerHosts": {name: host.docker_url for name, host in hosts.items()},
        "addresses": {name: host.address for name, host in hosts.items()},
    }

