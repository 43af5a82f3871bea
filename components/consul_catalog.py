"""What lives in Consul besides its agents: external services and KV configuration."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_consul as consul

from components.options import child_options, component_options


@dataclass(frozen=True)
class ExternalService:
    """A service that cannot register itself (Redis, say)."""

    name: str
    address: pulumi.Input[str]
    port: int
    tags: Sequence[str] = ()


@dataclass(frozen=True)
class ConsulCatalogArgs:
    node_name: str = ""
    """The catalog node external services are registered on; needed only with `services`."""
    node_address: pulumi.Input[str] = ""
    services: Sequence[ExternalService] = ()
    kv_prefix: str = ""
    """Ends with '/'; every key in `kv` is written below it."""
    kv: Mapping[str, str] = field(default_factory=dict)


def kv_paths(prefix: str, values: Mapping[str, str]) -> dict[str, str]:
    """Full KV paths for settings under a prefix, in a stable order."""
    return {f"{prefix}{key}": value for key, value in sorted(values.items())}


class ConsulCatalog(pulumi.ComponentResource):
    """Give it the cluster's consul provider: `opts=ResourceOptions(providers={"consul": cluster.provider})`."""

    service_names: tuple[str, ...]
    kv_prefix: str
    settings: Optional[consul.Keys]
    """The KV keys; what reads them at start depends on this, not on the whole catalog."""

    def __init__(self, name: str, args: ConsulCatalogArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("orchestration:consul:ConsulCatalog", name, None, component_options(opts))
        child = child_options(self, opts)
        if args.services:
            if not args.node_name:
                raise ValueError("external services need a catalog node: set node_name and node_address")
            node = consul.Node(f"{name}-node", name=args.node_name, address=args.node_address, opts=child)
            for service in args.services:
                consul.Service(
                    f"{name}-{service.name}",
                    name=service.name,
                    node=node.name,
                    address=service.address,
                    port=service.port,
                    tags=list(service.tags) or None,
                    opts=child,
                )
        self.settings = None
        if args.kv:
            self.settings = consul.Keys(
                f"{name}-kv",
                keys=[consul.KeysKeyArgs(path=path, value=value) for path, value in kv_paths(args.kv_prefix, args.kv).items()],
                opts=child,
            )
        self.service_names = tuple(service.name for service in args.services)
        self.kv_prefix = args.kv_prefix
        self.register_outputs({"service_names": list(self.service_names), "kv_prefix": self.kv_prefix})
