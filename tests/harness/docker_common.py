"""Helpers the pulumi-docker translations share: registry auth, image lookup, retries, naming."""
from __future__ import annotations

import secrets
import time
from typing import Any, Mapping

import docker
import docker.errors

from .base import HarnessError, ResourceContext
from .values import drop_none


def autoname(resource_name: str) -> str:
    """Pulumi auto-naming: the resource name plus a random suffix, when `name` is not given."""
    return f"{resource_name}-{secrets.token_hex(4)[:7]}"


def ignore_missing(call, *args, **kwargs) -> Any:
    """The call's result, or None when the engine says the object is not there."""
    try:
        return call(*args, **kwargs)
    except docker.errors.NotFound:
        return None


# pulumi-docker's waits around networks and volumes (terraform-provider-docker's StateChangeConf: `Delay`
# before the first try, then `MinTimeout` between tries while the engine still refuses).
PROVIDER_SETTLE_SECONDS = 2
PROVIDER_RETRY_SECONDS = 5


def provider_wait(seconds: float) -> None:
    time.sleep(seconds)


def settle_then_retry(conflict_text: str, call, *args, timeout: float = 30, **kwargs) -> Any:
    """As the provider deletes a network or a volume: 2 s before the first try, then every 5 s while the
    engine answers `conflict_text` (endpoints still attached, volume in use), for at most `timeout`."""
    provider_wait(PROVIDER_SETTLE_SECONDS)
    deadline = time.monotonic() + timeout
    while True:
        try:
            return call(*args, **kwargs)
        except docker.errors.APIError as error:
            if conflict_text not in str(error) or time.monotonic() > deadline:
                raise
            provider_wait(PROVIDER_RETRY_SECONDS)


def retry_while(conflict_text: str, call, *args, timeout: float = 60, **kwargs) -> Any:
    """Engines release endpoints/volumes asynchronously after a container goes; retry those conflicts."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return call(*args, **kwargs)
        except docker.errors.APIError as error:
            if conflict_text not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def registry_auth_for(config: Mapping[str, Any], image: str) -> dict[str, str] | None:
    """The provider's `registryAuth` entry whose address prefixes the image, as docker-py auth_config."""
    for entry in config.get("registryAuth") or []:
        address = entry.get("address", "")
        if address and image.startswith(address.split("://")[-1].rstrip("/") + "/"):
            if entry.get("authDisabled"):
                return None
            return drop_none({"username": entry.get("username"), "password": entry.get("password"), "serveraddress": address})
    return None


def ensure_image(ctx: ResourceContext, image: str) -> dict[str, Any]:
    """Inspects `image` on the engine, pulling it when absent (what the provider's findImage does)."""
    client = ctx.docker()
    try:
        return client.api.inspect_image(image)
    except docker.errors.ImageNotFound:
        pass
    try:
        repository, tag = split_reference(image)
        client.api.pull(repository, tag=tag, auth_config=registry_auth_for(ctx.provider_config, image))
        return client.api.inspect_image(image)
    except docker.errors.APIError as error:
        raise HarnessError(
            f"{ctx.type} {ctx.name}: image {image!r} is not on engine {ctx.provider_config.get('host') or 'default'} "
            f"and pulling it failed: {error.explanation or error}"
        ) from error


def split_reference(image: str) -> tuple[str, str | None]:
    if "@" in image:
        repository, digest = image.split("@", 1)
        return repository, digest
    last = image.rsplit("/", 1)[-1]
    if ":" in last:
        repository, tag = image.rsplit(":", 1)
        return repository, tag
    return image, "latest"
