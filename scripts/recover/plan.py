"""What to do with each operation a killed `pulumi up` left pending, decided before anything is touched.

- A pending create of a docker Container, Network, Volume or Service may have made its object: it
  is looked up by its declared name on its engine and adopted (recorded with the id pulumi-docker
  gives it) when it is the object the program declares; a container that was created but never started
  (pulumi-docker creates, uploads files, then starts) is removed, its volumes kept, and made again.
  Not there: the create runs again. There but different: refused, naming it.
- A pending create of anything whose create is safe to repeat runs again (RERUNNABLE says why), and so
  do a provider's and a component resource's, which make nothing outside the state.
- Anything else pending to be created is refused: nothing here can tell whether it was made.
- A pending update, delete or read is dropped, as Pulumi's own refresh drops them, and the resource
  is read again: the next `up` diffs against what is there and finishes the change.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Literal, Mapping, Optional

from .deployment import Deployment, PendingOperation
from .engine import LOCAL_SOCKET, Engine

CONTAINER = "docker:index/container:Container"
NETWORK = "docker:index/network:Network"
VOLUME = "docker:index/volume:Volume"
SERVICE = "docker:index/service:Service"

# Types whose create makes nothing outside the state, or makes it idempotently: run again.
RERUNNABLE = {
    "command:local:Command": "the program's commands are idempotent: swarm init/join leave a member as it is, the rest wait or read",
    "command:remote:Command": "the program's commands are idempotent",
    "docker:index/remoteImage:RemoteImage": "pulls the image again, or finds it",
    "docker:index/image:Image": "builds the image again",
    "consul:index/keys:Keys": "writes the same keys",
    "consul:index/node:Node": "registers the node again under its name",
    "consul:index/service:Service": "registers the service again under its name",
    "consul:index/aclTokenPolicyAttachment:AclTokenPolicyAttachment": "attaches the policy by name again",
    "random:index/randomPassword:RandomPassword": "made in the provider; nothing used it yet",
    "tls:index/privateKey:PrivateKey": "made in the provider; nothing used it yet",
    "tls:index/certRequest:CertRequest": "made in the provider; nothing used it yet",
    "tls:index/selfSignedCert:SelfSignedCert": "made in the provider; nothing used it yet",
    "tls:index/locallySignedCert:LocallySignedCert": "made in the provider; nothing used it yet",
}

# A provider (explicit, or a default one the engine registers) is configuration only.
PROVIDERS = "pulumi:providers:"

Action = Literal["import", "rerun", "remove", "reread", "refuse"]


@dataclass(frozen=True)
class Decision:
    action: Action
    operation: PendingOperation
    reason: str
    object_id: str = ""
    """import: the id pulumi-docker records for it; remove: the container's id."""
    user_command: str = ""
    """refuse: what a person would run once they have checked the object is a leftover."""

    def describe(self) -> str:
        line = f"{self.action}: {self.operation.urn}: {self.reason}"
        return f"{line}\n    if it is a leftover of this stack: {self.user_command}" if self.user_command else line


def docker_command(host: str, *arguments: str) -> str:
    return " ".join(("docker", *(("--host", host) if host != LOCAL_SOCKET else ()), *arguments))


def decide(deployment: Deployment, engine_for: Callable[[PendingOperation], Engine]) -> list[Decision]:
    return [_decide(operation, engine_for) for operation in deployment.pending]


def _decide(operation: PendingOperation, engine_for: Callable[[PendingOperation], Engine]) -> Decision:
    if operation.kind != "creating":
        return Decision("reread", operation, f"interrupted while {operation.kind}: read again, the next up re-applies what is missing")
    if operation.type in (CONTAINER, NETWORK, VOLUME, SERVICE):
        return _docker_object(operation, engine_for(operation))
    if operation.type in RERUNNABLE:
        return Decision("rerun", operation, RERUNNABLE[operation.type])
    if operation.type.startswith(PROVIDERS):
        return Decision("rerun", operation, "a provider makes nothing outside the state: configured again")
    if not operation.custom:
        return Decision("rerun", operation, "a component resource makes nothing of its own: registered again")
    return Decision("refuse", operation, f"a pending create of {operation.type}: whether it was made can't be checked here")


def _docker_object(operation: PendingOperation, engine: Engine) -> Decision:
    name = operation.inputs.get("name", "")
    kind, lookup, remove = {
        CONTAINER: ("container", engine.container, ("rm", "-f")),
        NETWORK: ("network", engine.network, ("network", "rm")),
        # Never removed, not even suggested: a volume holds data.
        VOLUME: ("volume", engine.volume, ("volume", "inspect")),
        SERVICE: ("service", engine.service, ("service", "rm")),
    }[operation.type]
    found = lookup(name)
    if found is None:
        return Decision("rerun", operation, f"no {kind} {name} on {engine.host}: created again")
    difference = _difference(operation.type, operation.inputs, found)
    if difference:
        return Decision(
            "refuse", operation, f"{kind} {name} on {engine.host} is not the one the program declares: {difference}",
            user_command=docker_command(engine.host, *remove, name),
        )
    if operation.type == CONTAINER and found["State"]["Status"] == "created":
        return Decision("remove", operation, f"container {name} was created but never started: removed (volumes kept) and made again", found["Id"])
    object_id = {CONTAINER: found.get("Id"), NETWORK: found.get("Id"), VOLUME: found.get("Name"), SERVICE: found.get("ID")}[operation.type]
    return Decision("import", operation, f"{kind} {name} on {engine.host} is the declared one: adopted", object_id)


def _difference(resource_type: str, declared: Mapping[str, Any], found: Mapping[str, Any]) -> Optional[str]:
    """How the object differs from the declaration, in a few words; None when it is the declared one."""
    if resource_type == CONTAINER:
        image = declared.get("image", "")
        if image not in (found.get("Image"), found["Config"].get("Image")):
            return f"it runs image {found['Config'].get('Image')}, the program declares {image}"
    elif resource_type == NETWORK:
        driver = declared.get("driver") or "bridge"
        if found.get("Driver") != driver:
            return f"its driver is {found.get('Driver')}, the program declares {driver}"
        subnets = {config["subnet"] for config in declared.get("ipamConfigs") or () if config.get("subnet")}
        present = {config.get("Subnet") for config in (found.get("IPAM") or {}).get("Config") or ()}
        if not subnets <= present:
            return f"its subnets are {sorted(present)}, the program declares {sorted(subnets)}"
    elif resource_type == VOLUME:
        driver = declared.get("driver") or "local"
        if found.get("Driver") != driver:
            return f"its driver is {found.get('Driver')}, the program declares {driver}"
    elif resource_type == SERVICE:
        image = ((declared.get("taskSpec") or {}).get("containerSpec") or {}).get("image", "")
        running = found["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"]
        # Swarm pins the image by digest when it creates the service: `image@sha256:...`.
        if image not in (running, running.split("@", 1)[0]):
            return f"it runs image {running}, the program declares {image}"
    return None
