"""Stand-ins for recovery's tests: `pulumi stack export` documents shaped as Pulumi's apitype.DeploymentV3,
an engine answering by name, and a CLI that records what it was asked and applies it to the document."""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

PREFIX = "urn:pulumi:dev::orchestration::"
STACK_URN = f"{PREFIX}pulumi:pulumi:Stack::orchestration-dev"
ENGINE_URN = f"{PREFIX}orchestration:docker:DockerHost$pulumi:providers:docker::local-engine"
ENGINE_ID = "0b1d9a3e-6a3c-4d8e-9f64-1c1a0e2b7d55"
CONSUL_IMAGE_ID = "sha256:" + "c" * 64


def resource(urn: str, type_: str, inputs: Mapping[str, Any], resource_id: str = "", provider: str = "") -> dict[str, Any]:
    """A ResourceV3 as the state records it (and as a pending operation carries it, without an id)."""
    entry: dict[str, Any] = {"urn": urn, "custom": type_ != "pulumi:pulumi:Stack", "type": type_, "inputs": dict(inputs), "outputs": {}}
    if resource_id:
        entry["id"] = resource_id
    if provider:
        entry["provider"] = provider
    return entry


def consul_container(image: str = CONSUL_IMAGE_ID) -> dict[str, Any]:
    return resource(
        f"{PREFIX}orchestration:consul:ConsulCluster$orchestration:consul:ConsulServer$docker:index/container:Container::consul-consul-1-agent",
        "docker:index/container:Container",
        {"__defaults": ["destroyGraceSeconds"], "name": "dev-consul-1", "image": image, "mustRun": True, "wait": True},
        provider=f"{ENGINE_URN}::{ENGINE_ID}",
    )


def consul_volume() -> dict[str, Any]:
    return resource(
        f"{PREFIX}orchestration:consul:ConsulCluster$orchestration:consul:ConsulServer$docker:index/volume:Volume::consul-consul-1-data",
        "docker:index/volume:Volume",
        {"name": "dev-consul-1-data"},
        provider=f"{ENGINE_URN}::{ENGINE_ID}",
    )


def swarm_init() -> dict[str, Any]:
    return resource(
        f"{PREFIX}orchestration:swarm:SwarmCluster$command:local:Command::swarm-init",
        "command:local:Command",
        {"create": "docker swarm init ...", "environment": {"DOCKER_HOST": "unix:///var/run/docker.sock"}},
    )


def export(pending: Sequence[tuple[str, Mapping[str, Any]]] = (), host: str = "unix:///var/run/docker.sock") -> dict[str, Any]:
    """`pulumi stack export` of dev with `pending` ((kind, resource) pairs) left by a killed up."""
    resources = [
        resource(STACK_URN, "pulumi:pulumi:Stack", {}),
        resource(ENGINE_URN, "pulumi:providers:docker", {"host": host, "version": "5.2.0"}, ENGINE_ID),
    ]
    return {
        "version": 3,
        "deployment": {
            "manifest": {"time": "2025-01-01T00:00:00Z", "magic": "", "version": "v3.274.0"},
            "secrets_providers": {"type": "passphrase", "state": {"salt": "v1:..."}},
            "resources": resources,
            "pending_operations": [{"resource": copy.deepcopy(dict(entry)), "type": kind} for kind, entry in pending],
        },
    }


@dataclass
class FakeEngine:
    """An engine holding objects by name, as the Engine API inspects them."""

    host: str = "unix:///var/run/docker.sock"
    containers: dict[str, dict[str, Any]] = field(default_factory=dict)
    networks: dict[str, dict[str, Any]] = field(default_factory=dict)
    volumes: dict[str, dict[str, Any]] = field(default_factory=dict)
    services: dict[str, dict[str, Any]] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)

    def container(self, name: str) -> Optional[Mapping[str, Any]]:
        return self.containers.get(name)

    def network(self, name: str) -> Optional[Mapping[str, Any]]:
        return self.networks.get(name)

    def volume(self, name: str) -> Optional[Mapping[str, Any]]:
        return self.volumes.get(name)

    def service(self, name: str) -> Optional[Mapping[str, Any]]:
        return self.services.get(name)

    def remove_container(self, container_id: str) -> None:
        self.removed.append(container_id)

    def run_container(self, name: str, image_id: str = CONSUL_IMAGE_ID, status: str = "running") -> str:
        container_id = f"{len(self.containers) + 1:064x}"
        self.containers[name] = {
            "Id": container_id, "Name": f"/{name}", "Image": image_id,
            "Config": {"Image": image_id}, "State": {"Status": status},
        }
        return container_id


@dataclass
class FakeCli:
    """Records each pulumi command and does to the exported document what the real one does to the state."""

    document: dict[str, Any]
    calls: list[tuple[str, ...]] = field(default_factory=list)
    history: Optional[Mapping[str, Any]] = None
    """What `pulumi stack history` shows first: the newest update, refresh or destroy."""

    def export(self) -> Mapping[str, Any]:
        self.calls.append(("export",))
        return copy.deepcopy(self.document)

    def cancel(self) -> None:
        self.calls.append(("cancel",))

    def replace_state(self, document: Mapping[str, Any]) -> None:
        deployment = document["deployment"]
        self.calls.append(("stack import", *(f"{r['urn']} {r['id']}" for r in deployment["resources"] if r not in self.document["deployment"]["resources"])))
        self.document = copy.deepcopy(dict(document))

    def refresh(self, targets: Sequence[str]) -> None:
        self.calls.append(("refresh", *targets))

    def refresh_everything(self) -> None:
        self.calls.append(("refresh everything",))

    def last_update(self) -> Optional[Mapping[str, Any]]:
        self.calls.append(("stack history",))
        return self.history
