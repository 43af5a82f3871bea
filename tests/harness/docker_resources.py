"""pulumi-docker resources, translated to Docker Engine API calls on the provider's engine.

Each translation follows what pulumi-docker 5.x (the kreuzwerker Terraform
provider underneath, plus the native `Image`) documents and does: the same
defaults, the same creation steps and the same in-place versus ForceNew split.
Requests are written as Engine API JSON so the mapping can be read side by side
with both documentations. This module holds the provider, networks and volumes;
images, containers and services have their own modules.
"""
from __future__ import annotations

import uuid
from typing import Any, Mapping

import docker
import docker.errors

from .base import HarnessError, ResourceContext, ResourceHandler, changed_keys
from . import docker_common
from .docker_common import autoname, ignore_missing, settle_then_retry
from .docker_containers import Container
from .docker_images import Image, RemoteImage
from .docker_services import Service
from .state import ResourceRecord
from .values import drop_none, label_list, labels, provider_inputs

# --------------------------------------------------------------------------- provider


class DockerProvider(ResourceHandler):
    """`pulumi:providers:docker`: no remote object; checks the engine answers, as Configure does."""

    type_token = "pulumi:providers:docker"

    def plan(self, old, new_inputs, new_fingerprint) -> str:
        return "same" if old.inputs == dict(new_inputs) else "update"

    def configure(self, ctx: ResourceContext) -> None:
        """Every run, unchanged or not: an engine that does not answer stops the update right there,
        before anything on any engine is touched (seen with the real CLI, a host lost before `up`)."""
        config = provider_inputs(ctx.inputs)
        if config.get("disableDockerDaemonCheck"):
            return
        try:
            ctx.services.docker_client(config).ping()
        except Exception as error:  # noqa: BLE001 - whatever the transport says, the provider says this
            raise HarnessError(
                f"{self.type_token} ({ctx.name}): docker native provider returned an unexpected error from Configure: "
                f"failed to connect to any docker daemon ({config.get('host')}: {error})"
            ) from error

    def create(self, ctx: ResourceContext) -> tuple[str, dict[str, Any]]:
        return str(uuid.uuid4()), dict(ctx.inputs)

    def update(self, ctx: ResourceContext, old: ResourceRecord) -> tuple[str, dict[str, Any]]:
        return old.id, dict(ctx.inputs)

    def delete(self, ctx: ResourceContext, record: ResourceRecord) -> None:
        pass


# --------------------------------------------------------------------------- network


class Network(ResourceHandler):
    type_token = "docker:index/network:Network"
    in_place = frozenset()  # every docker_network argument is ForceNew

    def changed(self, old: ResourceRecord, new_inputs: Mapping[str, Any]) -> set[str]:
        """As the provider diffs: declared `ipamConfigs` (a set, Optional and Computed) against the pools it
        read back, in which the engine may have filled in a gateway; left out, whatever was read stands."""
        changed = changed_keys({**old.inputs, "ipamConfigs": None}, {**new_inputs, "ipamConfigs": None})
        declared = new_inputs.get("ipamConfigs")
        if declared and pool_set(declared) != pool_set(old.outputs.get("ipamConfigs", old.inputs.get("ipamConfigs"))):
            changed.add("ipamConfigs")
        return changed

    def create(self, ctx: ResourceContext) -> tuple[str, dict[str, Any]]:
        i = ctx.inputs
        name = i.get("name") or autoname(ctx.name)
        ipam = drop_none(
            {
                "Driver": i.get("ipamDriver", "default"),
                "Options": i.get("ipamOptions"),
                "Config": [
                    drop_none(
                        {
                            "Subnet": pool.get("subnet"),
                            "IPRange": pool.get("ipRange"),
                            "Gateway": pool.get("gateway"),
                            "AuxiliaryAddresses": pool.get("auxAddress"),
                        }
                    )
                    for pool in i.get("ipamConfigs") or []
                ],
            }
        )
        created = ctx.docker().api.create_network(
            name,
            driver=i.get("driver"),
            options=i.get("options"),
            ipam=ipam,
            check_duplicate=i.get("checkDuplicate"),
            internal=bool(i.get("internal", False)),
            labels=labels(i.get("labels")),
            enable_ipv6=bool(i.get("ipv6", False)),
            attachable=bool(i.get("attachable", False)),
            ingress=bool(i.get("ingress", False)),
        )
        return created["Id"], self.read(ctx, created["Id"])

    def read(self, ctx: ResourceContext, network_id: str) -> dict[str, Any]:
        docker_common.provider_wait(docker_common.PROVIDER_SETTLE_SECONDS)  # the provider's read waits before it inspects, after a create too
        found = ctx.docker().api.inspect_network(network_id)
        pools = (found.get("IPAM") or {}).get("Config") or []
        return {
            **ctx.inputs,
            "name": found["Name"],
            "driver": found["Driver"],
            "scope": found["Scope"],
            "internal": found["Internal"],
            "attachable": found["Attachable"],
            "ipv6": found["EnableIPv6"],
            "options": found.get("Options") or {},
            "labels": label_list(found.get("Labels")),
            "ipamDriver": (found.get("IPAM") or {}).get("Driver"),
            "ipamConfigs": [
                drop_none({"subnet": p.get("Subnet"), "gateway": p.get("Gateway"), "ipRange": p.get("IPRange"), "auxAddress": p.get("AuxiliaryAddresses")})
                for p in pools
            ],
        }

    def refresh(self, ctx: ResourceContext, record: ResourceRecord) -> dict[str, Any] | None:
        return ignore_missing(self.read, ctx, record.id)

    def delete(self, ctx: ResourceContext, record: ResourceRecord) -> None:
        settle_then_retry("active endpoints", ignore_missing, ctx.docker().api.remove_network, record.id)


def pool_set(pools: list[Mapping[str, Any]] | None) -> frozenset[tuple]:
    """IPAM pools as the provider's set compares them: every field, an unset one empty."""
    return frozenset(
        (pool.get("subnet") or "", pool.get("ipRange") or "", pool.get("gateway") or "", tuple(sorted((pool.get("auxAddress") or {}).items())))
        for pool in pools or []
    )


# --------------------------------------------------------------------------- volume


class Volume(ResourceHandler):
    type_token = "docker:index/volume:Volume"
    in_place = frozenset()  # every docker_volume argument is ForceNew

    def create(self, ctx: ResourceContext) -> tuple[str, dict[str, Any]]:
        i = ctx.inputs
        created = ctx.docker().api.create_volume(
            name=i.get("name"), driver=i.get("driver"), driver_opts=i.get("driverOpts"), labels=labels(i.get("labels"))
        )
        return created["Name"], {
            **i,
            "name": created["Name"],
            "driver": created["Driver"],
            "mountpoint": created.get("Mountpoint"),
            "labels": label_list(created.get("Labels")),
        }

    def refresh(self, ctx: ResourceContext, record: ResourceRecord) -> dict[str, Any] | None:
        return record.outputs if ignore_missing(ctx.docker().api.inspect_volume, record.id) else None

    def delete(self, ctx: ResourceContext, record: ResourceRecord) -> None:
        settle_then_retry("in use", ignore_missing, ctx.docker().api.remove_volume, record.id)


# --------------------------------------------------------------------------- invokes (data sources)


def get_network(client: docker.DockerClient, arguments: Mapping[str, Any]) -> dict[str, Any]:
    found = client.api.inspect_network(arguments["name"])
    pools = (found.get("IPAM") or {}).get("Config") or []
    return {
        "id": found["Id"],
        "name": found["Name"],
        "driver": found["Driver"],
        "scope": found["Scope"],
        "internal": found["Internal"],
        "options": found.get("Options") or {},
        "ipamConfigs": [drop_none({"subnet": p.get("Subnet"), "gateway": p.get("Gateway"), "ipRange": p.get("IPRange")}) for p in pools],
    }


def get_remote_image(client: docker.DockerClient, arguments: Mapping[str, Any]) -> dict[str, Any]:
    try:
        found = client.api.inspect_image(arguments["name"])
    except docker.errors.ImageNotFound as error:
        raise HarnessError(f"getRemoteImage: {arguments['name']} is not on the engine") from error
    digests = found.get("RepoDigests") or []
    return {"name": arguments["name"], "id": found["Id"], "repoDigest": digests[0] if digests else ""}


HANDLERS = [DockerProvider(), Network(), Volume(), RemoteImage(), Image(), Container(), Service()]
INVOKES = {
    "docker:index/getNetwork:getNetwork": get_network,
    "docker:index/getRemoteImage:getRemoteImage": get_remote_image,
}
