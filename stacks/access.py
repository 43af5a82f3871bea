"""Who may do what in Consul once ACLs deny by default: the app, the client, the catalog writer, and DNS."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import pulumi
import pulumi_consul as consul

from components.consul_access import DNS_RULES, AccessGrant, ConsulAccess, ConsulAccessArgs
from components.consul_cluster import ConsulCluster
from components.distributed_app import SERVICE_NAME
from components.distributed_client import CLIENT_SERVICE
from stacks.config import StackConfig


@dataclass(frozen=True)
class ConsulTokens:
    """Tokens for the workloads (None without ACLs) and the provider the catalog is written with."""

    app: Optional[pulumi.Output[str]]
    client: Optional[pulumi.Output[str]]
    catalog: consul.Provider
    app_sidecar: Optional[pulumi.Output[str]] = None
    """In the mesh, the app's sidecars' token: the app's service identity."""
    client_sidecar: Optional[pulumi.Output[str]] = None


def consul_tokens(
    cfg: StackConfig, cluster: ConsulCluster, catalog_node: Optional[str] = None, catalog_services: Sequence[str] = ()
) -> ConsulTokens:
    if cluster.management_token is None:
        return ConsulTokens(app=None, client=None, catalog=cluster.provider)
    kv = cfg.workload.kv_prefix
    mesh = cfg.workload.consul_mesh is not None
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
                # In the mesh, it registers each worker with its sidecar.
                AccessGrant(
                    "distributed-app",
                    _rules(service=_with_sidecar(SERVICE_NAME, mesh), node_prefix={"": "read"}, key_prefix={kv: "read"}),
                ),
                # Finds the app's healthy instances and reads the settings; in the mesh, registers itself with its sidecar.
                AccessGrant(
                    "distributed-client",
                    _rules(service=_with_sidecar(CLIENT_SERVICE, mesh) if mesh else {}, service_prefix={"": "read"}, node_prefix={"": "read"}, key_prefix={kv: "read"}),
                ),
                AccessGrant("catalog", catalog_rules, provider=True),
                # A sidecar acts as its service and nothing more: Consul's service identity.
                *(
                    [
                        AccessGrant("distributed-app-sidecar", "", service_identities=[SERVICE_NAME]),
                        AccessGrant("distributed-client-sidecar", "", service_identities=[CLIENT_SERVICE]),
                    ]
                    if mesh
                    else []
                ),
            ],
            anonymous_rules=DNS_RULES,
            http_address=cluster.http_address,
            datacenter=cfg.datacenter,
            ca_pem=cluster.ca_cert_pem,
        ),
        opts=pulumi.ResourceOptions(providers={"consul": cluster.provider}),
    )
    return ConsulTokens(
        app=access.tokens["distributed-app"],
        client=access.tokens["distributed-client"],
        catalog=access.providers["catalog"],
        app_sidecar=access.tokens.get("distributed-app-sidecar"),
        client_sidecar=access.tokens.get("distributed-client-sidecar"),
    )


def _with_sidecar(service: str, mesh: bool) -> dict[str, str]:
    """Write on a service, and in the mesh on its sidecar's registration (Consul names it `<service>-sidecar-proxy`)."""
    return {service: "write", **({f"{service}-sidecar-proxy": "write"} if mesh else {})}


def _rules(**kinds: dict[str, str]) -> str:
    """Consul's HCL rules, e.g. _rules(service={"web": "write"}) -> 'service "web" { policy = "write" }'."""
    return "".join(
        f'{kind} "{name}" {{ policy = "{policy}" }}\n' for kind, grants in kinds.items() for name, policy in grants.items()
    )
