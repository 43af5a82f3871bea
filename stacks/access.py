"""Who may do what in Consul once ACLs deny by default: the app, the client, the catalog writer, and DNS."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import pulumi
import pulumi_consul as consul

from components.consul_access import DNS_RULES, AccessGrant, ConsulAccess, ConsulAccessArgs
from components.consul_cluster import ConsulCluster
from components.distributed_app import SERVICE_NAME
from stacks.config import StackConfig


@dataclass(frozen=True)
class ConsulTokens:
    """Tokens for the workloads (None without ACLs) and the provider the catalog is written with."""

    app: Optional[pulumi.Output[str]]
    client: Optional[pulumi.Output[str]]
    catalog: consul.Provider


def consul_tokens(
    cfg: StackConfig, cluster: ConsulCluster, catalog_node: Optional[str] = None, catalog_services: Sequence[str] = ()
) -> ConsulTokens:
    if cluster.management_token is None:
        return ConsulTokens(app=None, client=None, catalog=cluster.provider)
    kv = cfg.workload.kv_prefix
    catalog_rules = _rules(key_prefix={kv: "write"}, service={name: "write" for name in catalog_services})
    if catalog_node:
        catalog_rules += _rules(node={catalog_node: "write"})
    access = ConsulAccess(
        "access",
        ConsulAccessArgs(
            name_prefix=cfg.stack,
            grants=[
                # Registers and deregisters its own instances, reads its settings, and finds itself in the
                # catalog (its health check), which lists only entries of nodes the token can read.
                AccessGrant(
                    "distributed-app", _rules(service={SERVICE_NAME: "write"}, node_prefix={"": "read"}, key_prefix={kv: "read"})
                ),
                # Finds the app's healthy instances and reads the settings.
                AccessGrant("distributed-client", _rules(service_prefix={"": "read"}, node_prefix={"": "read"}, key_prefix={kv: "read"})),
                AccessGrant("catalog", catalog_rules, provider=True),
            ],
            anonymous_rules=DNS_RULES,
            http_address=cluster.http_address,
            datacenter=cfg.datacenter,
            ca_pem=cluster.ca_cert_pem,
        ),
        opts=pulumi.ResourceOptions(providers={"consul": cluster.provider}),
    )
    return ConsulTokens(
        app=access.tokens["distributed-app"], client=access.tokens["distributed-client"], catalog=access.providers["catalog"]
    )


def _rules(**kinds: dict[str, str]) -> str:
    """Consul's HCL rules, e.g. _rules(service={"web": "write"}) -> 'service "web" { policy = "write" }'."""
    return "".join(
        f'{kind} "{name}" {{ policy = "{policy}" }}\n' for kind, grants in kinds.items() for name, policy in grants.items()
    )
