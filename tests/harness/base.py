"""The contract between the harness core (mocks.py) and each resource type's translation.

A handler does for one Pulumi type what the provider's CRUD does: `create`
performs the real operation and returns (id, outputs); `update` changes a
resource in place; `delete` removes it. `plan` decides, from old and new inputs,
whether a change is an in-place update or needs a replacement, following the
provider's documented ForceNew behaviour.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    import docker

    from .consul_resources import ConsulClient
    from .state import ResourceRecord


class HarnessError(RuntimeError):
    """A resource operation failed; the message says which resource and why."""


@dataclasses.dataclass
class ResourceContext:
    """Everything a handler needs for one operation on one resource."""

    type: str
    name: str
    urn: str
    inputs: dict[str, Any]
    provider_config: dict[str, Any]
    project_dir: Path
    services: "HarnessServices"

    def docker(self) -> "docker.DockerClient":
        return self.services.docker_client(self.provider_config)

    def consul(self) -> "ConsulClient":
        return self.services.consul_client(self.provider_config)


class HarnessServices:
    """What the harness core offers handlers (engine connections, policy knobs)."""

    keep_images: frozenset[str] = frozenset()

    def docker_client(self, provider_config: Mapping[str, Any]) -> "docker.DockerClient":
        raise NotImplementedError

    def consul_client(self, provider_config: Mapping[str, Any]) -> "ConsulClient":
        raise NotImplementedError

    def remote_hosts_client(self) -> "docker.DockerClient":
        raise NotImplementedError


class ResourceHandler:
    """Base class; subclasses set `type_token` and implement create/delete (and update)."""

    type_token: str = ""
    # Top-level inputs a change of which the provider applies in place. Anything else replaces.
    in_place: frozenset[str] = frozenset()

    def configure(self, ctx: ResourceContext) -> None:
        """What a provider's Configure does, on every run, before anything is diffed (default: nothing)."""

    def fingerprint(self, ctx: ResourceContext) -> dict[str, Any]:
        """Extra values compared with the stored ones to detect change (default: none)."""
        return {}

    def changed(self, old: "ResourceRecord", new_inputs: Mapping[str, Any]) -> set[str]:
        """Inputs the provider's Diff reports as changed (default: compared with the previous inputs)."""
        return changed_keys(old.inputs, new_inputs)

    def plan(self, old: "ResourceRecord", new_inputs: Mapping[str, Any], new_fingerprint: Mapping[str, Any]) -> str:
        changed = self.changed(old, new_inputs)
        if not changed and dict(old.fingerprint) == dict(new_fingerprint):
            return "same"
        return "update" if changed <= self.in_place and old.fingerprint == dict(new_fingerprint) else "replace"

    def create(self, ctx: ResourceContext) -> tuple[str, dict[str, Any]]:
        raise NotImplementedError

    def update(self, ctx: ResourceContext, old: "ResourceRecord") -> tuple[str, dict[str, Any]]:
        """Default in-place update: nothing to do remotely, the new inputs become the outputs."""
        return old.id, {**old.outputs, **ctx.inputs}

    def delete(self, ctx: ResourceContext, record: "ResourceRecord") -> None:
        raise NotImplementedError

    def refresh(self, ctx: ResourceContext, record: "ResourceRecord") -> dict[str, Any] | None:
        """The provider's Read under `pulumi refresh`: the outputs as the object is now, or None when
        it is gone (the engine then drops it from the state). A type that models no Read keeps its outputs."""
        return record.outputs


def changed_keys(old: Mapping[str, Any], new: Mapping[str, Any]) -> set[str]:
    return {key for key in set(old) | set(new) if old.get(key) != new.get(key)}
