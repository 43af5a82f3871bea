"""Consul's service mesh as code: intentions that deny every call but those allowed by name.

Give it the cluster's consul provider: `opts=ResourceOptions(providers={"consul": cluster.provider})`.
The intentions are config entries (kind service-intentions), one per destination: a change to one is an
update in place, and the sidecars authorize every new connection against the current intentions, so it
holds without restarting anything.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import pulumi
import pulumi_consul as consul

from components.options import child_options, component_options

# Consul's wildcard: every service.
ANY_SERVICE = "*"


@dataclass(frozen=True)
class Intention:
    """`source` may open connections to `destination`."""

    source: str
    destination: str


@dataclass(frozen=True)
class ConsulMeshArgs:
    allowed: Sequence[Intention]
    """Every call the mesh lets through; any other is denied."""


def precedence(source: str, destination: str) -> int:
    """The precedence Consul gives an intention in the default namespace (Intention.UpdatePrecedence): 9 for
    exact -> exact, 8 for * -> exact, 6 for exact -> *, 5 for * -> *. Declared as Consul computes it, since
    the provider reads it back and diffs a source that leaves it out against that."""

    def exact(name: str) -> int:  # the namespace is always exact here
        return 1 + (name != ANY_SERVICE)

    return {2: 9, 1: 6}[exact(destination)] - (2 - exact(source))


def allowed_sources(allowed: Sequence[Intention]) -> dict[str, list[str]]:
    """Destination -> the sources allowed to call it, in a stable order."""
    if any(ANY_SERVICE in (intention.source, intention.destination) for intention in allowed):
        raise ValueError(f"an allowed intention names {ANY_SERVICE!r}: the mesh denies by default and allows services by name")
    found: dict[str, list[str]] = {}
    for intention in allowed:
        sources = found.setdefault(intention.destination, [])
        if intention.source not in sources:
            sources.append(intention.source)
    return {destination: sorted(sources) for destination, sources in sorted(found.items())}


class ConsulMesh(pulumi.ComponentResource):
    deny_all: consul.ConfigEntryServiceIntentions
    """`*` -> `*` deny: without ACLs Consul's intentions allow by default; with them, this says it anyway."""
    intentions: dict[str, consul.ConfigEntryServiceIntentions]
    """Per destination, its allowed sources; depend on these before calling through the mesh."""

    def __init__(self, name: str, args: ConsulMeshArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("orchestration:consul:ConsulMesh", name, None, component_options(opts))
        child = child_options(self, opts)
        self.deny_all = consul.ConfigEntryServiceIntentions(
            f"{name}-deny-all",
            name=ANY_SERVICE,
            sources=[
                consul.ConfigEntryServiceIntentionsSourceArgs(
                    name=ANY_SERVICE,
                    action="deny",
                    type="consul",
                    precedence=precedence(ANY_SERVICE, ANY_SERVICE),
                    description="Deny by default: allow calls by name.",
                )
            ],
            opts=child,
        )
        self.intentions = {
            destination: consul.ConfigEntryServiceIntentions(
                f"{name}-{destination}",
                name=destination,
                sources=[
                    consul.ConfigEntryServiceIntentionsSourceArgs(
                        name=source, action="allow", type="consul", precedence=precedence(source, destination)
                    )
                    for source in sources
                ],
                opts=child,
            )
            for destination, sources in allowed_sources(args.allowed).items()
        }
        self.register_outputs({"destinations": list(self.intentions)})
