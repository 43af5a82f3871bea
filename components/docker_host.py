"""One Docker engine: its provider and the private network its containers share."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import pulumi
import pulumi_docker as docker

from components.engine_forms import ipam_pool
from components.options import child_options, component_options
from components.registry import RegistryLogin


@dataclass(frozen=True)
class DockerHostArgs:
    docker_url: str
    """unix:///var/run/docker.sock, tcp://host:2376 or ssh://user@host."""
    network_name: str
    """Docker's name for the private network on this engine."""
    network_subnet: Optional[str] = None
    ca_material: Optional[pulumi.Input[str]] = None
    cert_material: Optional[pulumi.Input[str]] = None
    key_material: Optional[pulumi.Input[str]] = None
    ssh_opts: Sequence[str] = ()
    registry: Optional[RegistryLogin] = None
    """A registry this engine pulls our images from, when it needs a login."""


class DockerHost(pulumi.ComponentResource):
    provider: docker.Provider
    """Every resource on this engine goes through this provider."""
    network_name: pulumi.Output[str]
    """The private network's name, for containers to join."""

    def __init__(self, name: str, args: DockerHostArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("orchestration:docker:DockerHost", name, None, component_options(opts))
        self.provider = docker.Provider(
            f"{name}-engine",
            host=args.docker_url,
            ca_material=args.ca_material,
            cert_material=args.cert_material,
            key_material=args.key_material,
            ssh_opts=list(args.ssh_opts) or None,
            registry_auth=[
                docker.ProviderRegistryAuthArgs(
                    address=args.registry.server, username=args.registry.username, password=args.registry.password
                )
            ]
            if args.registry and args.registry.username
            else None,
            opts=child_options(self, opts),
        )
        network = docker.Network(
            f"{name}-network",
            name=args.network_name,
            driver="bridge",
            ipam_configs=[ipam_pool(args.network_subnet)] if args.network_subnet else None,
            opts=child_options(self, opts, provider=self.provider),
        )
        self.network_name = network.name
        self.register_outputs({"network_name": self.network_name})
