"""Least-privilege ACL tokens in a Consul cluster that denies by default.

One policy and one token per grant, and optionally a policy for the anonymous token (what any
request without a token may do, such as DNS lookups). Give it a provider holding a management
token: `opts=ResourceOptions(providers={"consul": cluster.provider})`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import pulumi
import pulumi_consul as consul

from components.options import child_options, component_options

# Consul's built-in token for requests that carry none.
ANONYMOUS_TOKEN_ID = "00000000-0000-0000-0000-000000000002"
# What Consul DNS reads: with it anonymous, lookups work without a token and nothing can be written.
DNS_RULES = 'node_prefix "" { policy = "read" }\nservice_prefix "" { policy = "read" }\n'


@dataclass(frozen=True)
class AccessGrant:
    name: str
    """Names the policy (`<name_prefix>-<name>`) and the token's key in `ConsulAccess.tokens`."""
    rules: str
    """The policy's rules, in Consul's HCL; empty: no policy of its own (see service_identities)."""
    service_identities: Sequence[str] = ()
    """Services the token may act as: Consul's own least-privilege policy for each (its registration, its
    sidecar's, reading the catalog), as a mesh sidecar needs to get its certificate."""
    provider: bool = False
    """Also a consul provider holding the token, in `ConsulAccess.providers`, for resources managed with it."""


@dataclass(frozen=True)
class ConsulAccessArgs:
    name_prefix: str
    """Prefixes the policy names, which are unique in a cluster."""
    grants: Sequence[AccessGrant]
    anonymous_rules: Optional[str] = None
    http_address: str = ""
    """host:port of the HTTP API, for the grants' providers."""
    datacenter: str = ""
    ca_pem: Optional[pulumi.Input[str]] = None
    """With an HTTPS API, the CA its certificates are signed with, for the grants' providers."""


class ConsulAccess(pulumi.ComponentResource):
    tokens: dict[str, pulumi.Output[str]]
    """Each grant's token (its secret ID), kept secret."""
    providers: dict[str, consul.Provider]

    def __init__(self, name: str, args: ConsulAccessArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("orchestration:consul:ConsulAccess", name, None, component_options(opts))
        child = child_options(self, opts)
        names = [grant.name for grant in args.grants]
        duplicates = sorted({grant for grant in names if names.count(grant) > 1})
        if duplicates:
            raise ValueError(f"grants {duplicates} are named twice; each names a policy and a token")
        self.tokens = {}
        self.providers = {}
        for grant in args.grants:
            if not grant.rules and not grant.service_identities:
                raise ValueError(f"grant {grant.name!r} grants nothing: give it rules or service identities")
            policies = (
                [consul.AclPolicy(f"{name}-{grant.name}-policy", name=f"{args.name_prefix}-{grant.name}", rules=grant.rules, opts=child).name]
                if grant.rules
                else None
            )
            token = consul.AclToken(
                f"{name}-{grant.name}-token",
                description=f"{args.name_prefix} {grant.name}",
                policies=policies,
                service_identities=[consul.AclTokenServiceIdentityArgs(service_name=service) for service in grant.service_identities]
                or None,
                opts=child,
            )
            # The token resource holds only its accessor; the secret is read back, and kept secret.
            self.tokens[grant.name] = pulumi.Output.secret(
                consul.get_acl_token_secret_id_output(
                    accessor_id=token.accessor_id, opts=pulumi.InvokeOutputOptions(parent=self, depends_on=[token])
                ).secret_id
            )
            if grant.provider:
                self.providers[grant.name] = consul.Provider(
                    f"{name}-{grant.name}-api",
                    address=args.http_address,
                    scheme="https" if args.ca_pem is not None else None,
                    ca_pem=args.ca_pem,
                    datacenter=args.datacenter or None,
                    token=self.tokens[grant.name],
                    opts=child,
                )
        if args.anonymous_rules is not None:
            anonymous = consul.AclPolicy(
                f"{name}-anonymous-policy", name=f"{args.name_prefix}-anonymous", rules=args.anonymous_rules, opts=child
            )
            consul.AclTokenPolicyAttachment(
                f"{name}-anonymous", token_id=ANONYMOUS_TOKEN_ID, policy=anonymous.name, opts=child
            )
        self.register_outputs({"grants": names})
