"""What `pulumi stack export` says about a stack, as far as recovery needs it.

The export is Pulumi's apitype.UntypedDeployment holding a DeploymentV3: `resources` (what the
state records) and `pending_operations`, each `{resource: {urn, type, inputs, provider, ...},
type: creating|updating|deleting|reading|importing}`: what the engine had begun and not seen finish.
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any, Mapping, Optional

# How the engine marks a secret in a serialized property value (resource.SecretSig): with
# --show-secrets it carries `plaintext` (the value, JSON-encoded), without it `ciphertext`.
_SIGNATURE_KEY = "4dabf18193072939515e22adb298388d"
_SECRET_SIGNATURE = "1b47061264138c4ac30d75fd1eb44270"


def plain(value: Any) -> Any:
    """`value` with secrets shown as their plaintext (None where only the ciphertext is there)."""
    if isinstance(value, Mapping):
        if value.get(_SIGNATURE_KEY) == _SECRET_SIGNATURE:
            return plain(json.loads(value["plaintext"])) if "plaintext" in value else None
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


@dataclass(frozen=True)
class PendingOperation:
    kind: str
    """creating, updating, deleting, reading or importing."""
    urn: str
    type: str
    inputs: Mapping[str, Any]
    provider: str
    """Reference to the resource's provider, `<provider URN>::<provider id>`; '' for a provider itself."""
    custom: bool = True
    """False for a component resource, which makes nothing of its own."""

    @property
    def name(self) -> str:
        """The resource's name in the program (the URN's last part)."""
        return self.urn.rsplit("::", 1)[-1]


@dataclass(frozen=True)
class Deployment:
    resources: tuple[Mapping[str, Any], ...]
    pending: tuple[PendingOperation, ...]

    @classmethod
    def from_export(cls, exported: Mapping[str, Any]) -> "Deployment":
        """From `pulumi stack export` (`{version: 3, deployment: {...}}`) or a checkpoint's `latest`."""
        deployment = exported.get("deployment", exported) or {}
        pending = tuple(
            PendingOperation(
                kind=operation["type"],
                urn=operation["resource"]["urn"],
                type=operation["resource"]["type"],
                inputs=plain(operation["resource"].get("inputs") or {}),
                provider=operation["resource"].get("provider", ""),
                custom=operation["resource"].get("custom", True),
            )
            for operation in deployment.get("pending_operations") or ()
        )
        return cls(tuple(deployment.get("resources") or ()), pending)

    def recorded(self, urn: str) -> Optional[Mapping[str, Any]]:
        return next((resource for resource in self.resources if resource["urn"] == urn), None)

    def provider_inputs(self, reference: str) -> Mapping[str, Any]:
        """The inputs of the provider `reference` names (`<URN>::<id>`); {} when it isn't recorded."""
        urn, _, provider_id = reference.rpartition("::")
        for resource in self.resources:
            if resource["urn"] == urn and resource.get("id") == provider_id:
                return plain(resource.get("inputs") or {})
        return {}


# What pulumi-docker's create stores from its plan and its Read never reads back, where the program
# declares nothing: without them an adopted container's next plan sees `envs` (computed, forcing
# replacement) go from nothing to unknown, and replaces it (`[diff: +attach,envs,logs]`).
UNREAD_CREATE_VALUES = {"docker:index/container:Container": {"attach": False, "logs": False, "envs": []}}


def settled(exported: Mapping[str, Any], adopted: Mapping[str, str]) -> dict[str, Any]:
    """`exported` with nothing pending, and each adopted create (URN: id) recorded as made, as the engine
    would have recorded it, in the place of the one it replaces where that was deleted first: the declared
    inputs, the id, and those inputs as its outputs until a refresh reads the object (a Terraform
    provider's create, too, keeps what it can't read back from the inputs).

    `pulumi refresh --import-pending-creates URN ID` was meant to do this, but (Pulumi 3.277) it only
    marks the operation `importing`, which the refresh then drops without recording anything.
    """
    document = copy.deepcopy(dict(exported))
    deployment = document["deployment"]
    for operation in deployment.get("pending_operations") or ():
        urn = operation["resource"]["urn"]
        if operation["type"] == "creating" and urn in adopted:
            made = {**operation["resource"], "id": adopted[urn]}
            # Without the engine's reserved keys (`__defaults`): a provider never returns those as outputs.
            declared = {key: value for key, value in (made.get("inputs") or {}).items() if not key.startswith("__")}
            made["outputs"] = {**UNREAD_CREATE_VALUES.get(made["type"], {}), **declared, "id": adopted[urn]}
            resources = deployment["resources"]
            # A server replaced delete-before-replace stays recorded, marked `pendingReplacement`, while its
            # replacement is made: the replacement takes its place, before what depends on it.
            replaced = next((index for index, found in enumerate(resources) if found["urn"] == urn and found.get("pendingReplacement")), None)
            if replaced is not None:
                resources[replaced] = made
            else:
                resources.insert(_just_after_what_it_needs(resources, made), made)
    deployment["pending_operations"] = []
    return document


def _just_after_what_it_needs(resources: list[Mapping[str, Any]], made: Mapping[str, Any]) -> int:
    """Where the engine would have recorded `made`: right after the last of what it needs (parent,
    provider, dependencies), all recorded before its create began, so before anything that needs it."""
    needed = {made.get("parent"), (made.get("provider") or "").rpartition("::")[0], *(made.get("dependencies") or ())}
    for urns in (made.get("propertyDependencies") or {}).values():
        needed.update(urns)
    positions = [index for index, resource in enumerate(resources) if resource["urn"] in needed]
    return max(positions) + 1 if positions else len(resources)
