"""pulumi-docker images: `RemoteImage` (make an image present on the engine) and the native `Image` (build, push)."""
from __future__ import annotations

import functools
import hashlib
import os
import subprocess
from pathlib import Path
from typing import Any, Iterable, Mapping

import docker.errors

from .base import HarnessError, ResourceContext, ResourceHandler
from .docker_common import ensure_image, split_reference
from .engine import default_docker_host
from .state import ResourceRecord
from .values import drop_none

# --------------------------------------------------------------------------- remote image


class RemoteImage(ResourceHandler):
    """`docker_image`: makes sure the image is on the engine (pull or build); nothing can be pulled here."""

    type_token = "docker:index/remoteImage:RemoteImage"
    in_place = frozenset({"keepLocally", "forceRemove"})

    def create(self, ctx: ResourceContext) -> tuple[str, dict[str, Any]]:
        i = ctx.inputs
        name = i["name"]
        if i.get("build"):
            build_image(ctx, remote_image_build_request(ctx, name, i["build"]))
        found = ensure_image(ctx, name)
        repo_digests = found.get("RepoDigests") or []
        image_id = found["Id"]
        return f"{image_id}{name}", {**i, "imageId": image_id, "repoDigest": determine_repo_digest(name, repo_digests)}

    def delete(self, ctx: ResourceContext, record: ResourceRecord) -> None:
        name = record.inputs["name"]
        if record.inputs.get("keepLocally") or name in ctx.services.keep_images:
            return
        try:
            ctx.docker().api.remove_image(name, force=bool(record.inputs.get("forceRemove")))
        except docker.errors.NotFound:
            pass


def remote_image_build_request(ctx: ResourceContext, name: str, build: Mapping[str, Any]) -> dict[str, Any]:
    """docker_image.build: context is relative to the program; dockerfile relative to the context."""
    context = (ctx.project_dir / build["context"]).resolve()
    return {
        "tag": name,
        "path": str(context),
        "dockerfile": str(context / build.get("dockerfile", "Dockerfile")),
        "buildargs": build.get("buildArgs") or build.get("buildArg"),
        "target": build.get("target"),
        "labels": build.get("labels") or build.get("label"),
        "platform": build.get("platform"),
        "extra_tags": build.get("tags") or [],
    }


# --------------------------------------------------------------------------- image (native, build + push)


class Image(ResourceHandler):
    """pulumi-docker's native `Image`: build the context on the provider's engine, push unless skipPush.

    Like the provider, with BuildKit unless `builderVersion` is BuilderV1: docker-py cannot open
    a BuildKit session, so the docker CLI builds (see buildkit_cli). Destroy keeps the image, as
    the provider does.
    """

    type_token = "docker:index/image:Image"

    def fingerprint(self, ctx: ResourceContext) -> dict[str, Any]:
        """The provider diffs a digest of the build context too: edited sources rebuild."""
        context, dockerfile = self._paths(ctx)
        return {"contextDigest": directory_digest(context, extra=[dockerfile])}

    def plan(self, old, new_inputs, new_fingerprint) -> str:
        """Every change rebuilds (and pushes) under the same resource, as the provider's Update does."""
        if old.inputs == dict(new_inputs) and old.fingerprint == dict(new_fingerprint):
            return "same"
        return "update"

    def create(self, ctx: ResourceContext) -> tuple[str, dict[str, Any]]:
        i = ctx.inputs
        image_name = i["imageName"]
        context, dockerfile = self._paths(ctx)
        build = i.get("build") or {}
        builder = buildkit_build if build.get("builderVersion", "BuilderBuildKit") == "BuilderBuildKit" else build_image
        image_id = builder(
            ctx,
            {
                "tag": image_name,
                "path": str(context),
                "dockerfile": str(dockerfile),
                "buildargs": build.get("args"),
                "target": build.get("target"),
                "platform": build.get("platform"),
                "network_mode": build.get("network"),
                "extra_hosts": build.get("addHosts"),
                "cache_from": (build.get("cacheFrom") or {}).get("images"),
            },
        )
        registry = i.get("registry") or {}
        repo_digest = image_id  # documented: the local image id when nothing is pushed
        if not i.get("skipPush"):
            repo_digest = push_image(ctx, image_name, registry)
        outputs = {
            **i,
            "imageName": image_name,
            "baseImageName": image_name,
            "repoDigest": repo_digest,
            "context": build.get("context", "."),
            "dockerfile": build.get("dockerfile", "Dockerfile"),
            "registryServer": registry.get("server") or registry_server_of(image_name),
            "platform": build.get("platform"),
        }
        return image_name, outputs

    def update(self, ctx: ResourceContext, old: ResourceRecord) -> tuple[str, dict[str, Any]]:
        return self.create(ctx)

    def delete(self, ctx: ResourceContext, record: ResourceRecord) -> None:
        pass  # pulumi-docker's Image leaves built images in place

    def _paths(self, ctx: ResourceContext) -> tuple[Path, Path]:
        """Context is relative to the program; an explicit dockerfile too (pulumi-docker >= 4.0.1)."""
        build = ctx.inputs.get("build") or {}
        context = (ctx.project_dir / build.get("context", ".")).resolve()
        dockerfile = (ctx.project_dir / build["dockerfile"]).resolve() if build.get("dockerfile") else context / "Dockerfile"
        return context, dockerfile


def registry_server_of(image_name: str) -> str:
    first = image_name.split("/", 1)[0]
    if "/" in image_name and ("." in first or ":" in first or first == "localhost"):
        return first
    return "docker.io"


def directory_digest(root: Path, extra: Iterable[Path] = ()) -> str:
    digest = hashlib.sha256()
    files = sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts and ".git" not in p.parts)
    for path in [*files, *extra]:
        if path.is_file():
            digest.update(str(path.relative_to(root) if path.is_relative_to(root) else path).encode())
            digest.update(path.read_bytes())
    return "sha256:" + digest.hexdigest()


def build_image(ctx: ResourceContext, request: Mapping[str, Any]) -> str:
    """Classic-builder build on the provider's engine; returns the image id or fails with the build log."""
    extra_tags = list(request.get("extra_tags") or [])
    arguments = drop_none({key: value for key, value in request.items() if key != "extra_tags"})
    arguments["buildargs"] = request.get("buildargs") or {}
    api = ctx.docker().api
    log: list[str] = []
    image_id = None
    for chunk in api.build(rm=True, forcerm=True, decode=True, use_config_proxy=False, **arguments):
        if "stream" in chunk:
            log.append(chunk["stream"])
        if "aux" in chunk and "ID" in chunk["aux"]:
            image_id = chunk["aux"]["ID"]
        if "error" in chunk:
            tail = "".join(log[-30:])
            raise HarnessError(f"{ctx.type} {ctx.name}: building {request.get('tag')} failed: {chunk['error']}\n{tail}")
    image_id = image_id or api.inspect_image(request["tag"])["Id"]
    for tag in extra_tags:
        repository, version = split_reference(tag)
        api.tag(image_id, repository, version)
    return image_id


@functools.lru_cache(maxsize=1)
def buildkit_cli() -> tuple[str, ...]:
    """A docker CLI that builds with BuildKit: `docker buildx build`, else a CLI from before 23.0,
    whose `docker build` does it without buildx when DOCKER_BUILDKIT=1 (Debian's docker.io)."""
    if subprocess.run(["docker", "buildx", "version"], capture_output=True, check=False).returncode == 0:
        return ("docker", "buildx", "build", "--load")
    for directory in os.environ.get("PATH", "").split(os.pathsep) + ["/usr/bin"]:
        candidate = Path(directory) / "docker"
        if not candidate.is_file():
            continue
        version = subprocess.run(
            [str(candidate), "version", "--format", "{{.Client.Version}}"], capture_output=True, text=True, check=False
        ).stdout.strip()
        if version and int(version.split(".")[0]) < 23:
            return (str(candidate), "build")
    raise HarnessError("no docker CLI here builds with BuildKit: install buildx, or Debian's docker.io (its 20.10 CLI builds without it)")


def buildkit_build(ctx: ResourceContext, request: Mapping[str, Any]) -> str:
    """What the provider's BuildKit build does, through the docker CLI against the provider's engine."""
    if any(ctx.provider_config.get(key) for key in ("caMaterial", "certMaterial", "keyMaterial", "certPath")):
        raise HarnessError(f"{ctx.type} {ctx.name}: BuildKit builds on TLS engines are not implemented by the apply harness")
    command = [*buildkit_cli(), "--tag", request["tag"], "--file", request["dockerfile"]]
    for key, value in (request.get("buildargs") or {}).items():
        command += ["--build-arg", f"{key}={value}"]
    for option in ("target", "platform", "network_mode"):
        if request.get(option):
            command += [f"--{option.replace('_mode', '')}", request[option]]
    command.append(request["path"])
    environment = {**os.environ, "DOCKER_HOST": ctx.provider_config.get("host") or default_docker_host(), "DOCKER_BUILDKIT": "1"}
    built = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
    if built.returncode != 0:
        tail = "\n".join(built.stderr.splitlines()[-30:])
        raise HarnessError(f"{ctx.type} {ctx.name}: building {request['tag']} with BuildKit failed:\n{tail}")
    return ctx.docker().api.inspect_image(request["tag"])["Id"]


def push_image(ctx: ResourceContext, image_name: str, registry: Mapping[str, Any]) -> str:
    repository, tag = split_reference(image_name)
    auth = drop_none({"username": registry.get("username"), "password": registry.get("password"), "serveraddress": registry.get("server")})
    digest = None
    for chunk in ctx.docker().api.push(repository, tag=tag, auth_config=auth or None, stream=True, decode=True):
        if "error" in chunk:
            raise HarnessError(f"{ctx.type} {ctx.name}: pushing {image_name} failed: {chunk['error']}")
        digest = (chunk.get("aux") or {}).get("Digest", digest)
    if not digest:
        raise HarnessError(f"{ctx.type} {ctx.name}: push of {image_name} reported no digest")
    return f"{repository}@{digest}"


def determine_repo_digest(name: str, repo_digests: list[str]) -> str:
    """The provider's determineRepoDigest: of several digests, the first that starts with the name cut at
    its first ':' (so with a registry port, the registry's host), else the first."""
    if not repo_digests:
        return ""
    prefix = name[: name.index(":")] if ":" in name else name
    return next((digest for digest in repo_digests if digest.startswith(prefix)), repo_digests[0])
