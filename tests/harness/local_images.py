"""Images the Docker tests need where nothing can be pulled: built here from apps/ on the local base image.

Shared by the harness's own tests and tests/e2e. A missing prerequisite skips
with the reason (fails instead under ORCH_REQUIRE_ENGINE=1, as in CI).
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import docker
import docker.errors

from tests.support.prerequisites import skip_or_fail

PROJECT_DIR = Path(__file__).resolve().parents[2]
BASE_IMAGE = os.environ.get("BASE_IMAGE", "local/debian:bookworm")
# A fixed tag, not `latest`: a dev stack on the stand-ins passes the policy pack's pinned-images rule, so the
# README's `make preview` runs on it as on the public images.
REDIS_IMAGE = "orchestration-e2e/redis:stand-in"
CONSUL_IMAGE = "orchestration-e2e/consul:stand-in"
# The sandbox's Docker-in-Docker hosts and its registry (apps/dind-host, apps/registry).
DIND_HOST_IMAGE = "orchestration-e2e/dind-host:latest"
REGISTRY_IMAGE = "orchestration-e2e/registry:2"
WORKER_IMAGE = "orchestration-e2e/distributed_app:latest"


def require_base_image(engine: docker.DockerClient) -> None:
    try:
        engine.images.get(BASE_IMAGE)
    except docker.errors.ImageNotFound:
        skip_or_fail(f"base image {BASE_IMAGE} is not on the engine (bash .ci/engine.sh builds it)")


def consul_binary() -> str:
    """$CONSUL_BIN, else what .ci/consul.sh prints (it builds the binary when not cached)."""
    return ci_built_binary("CONSUL_BIN", "consul.sh", "no Consul binary to build the Consul image from")


def ci_built_binary(variable: str, script: str, missing: str) -> str:
    """$`variable`, else the path .ci/`script` prints (it builds the tool when not cached); skips, or
    fails under ORCH_REQUIRE_ENGINE, with `missing` and why."""
    path = os.environ.get(variable, "")
    problem = f"{variable} is not set"
    if not path:
        result = subprocess.run(["bash", str(PROJECT_DIR / ".ci" / script)], capture_output=True, text=True, timeout=3600)
        lines = result.stdout.strip().splitlines()
        path = lines[-1] if result.returncode == 0 and lines else ""
        problem = f".ci/{script} exited {result.returncode}: {result.stderr.strip()[-400:]}"
    if not path or not os.access(path, os.X_OK):
        skip_or_fail(f"{missing} ({problem}; path {path!r})")
    return path


def extra_ca_certificates() -> str:
    """This machine's added CA certificates, which pip in image builds needs (as apps/build.sh passes them)."""
    return "".join(path.read_text() for path in sorted(Path("/usr/local/share/ca-certificates").glob("*.crt")))


def build_redis_image(engine: docker.DockerClient) -> str:
    require_base_image(engine)
    _build(["bash", "apps/build.sh", "redis", REDIS_IMAGE], {})
    return REDIS_IMAGE


def build_consul_image(engine: docker.DockerClient) -> str:
    require_base_image(engine)
    _build(["bash", "apps/build.sh", "consul", CONSUL_IMAGE], {"CONSUL_BIN": consul_binary()})
    return CONSUL_IMAGE


def build_worker_image(engine: docker.DockerClient) -> str:
    """The distributed_app worker, for programs that take its image rather than build it."""
    require_base_image(engine)
    _build(["bash", "apps/build.sh", "distributed_app", WORKER_IMAGE], {})
    return WORKER_IMAGE


def build_composeapp_image(engine: docker.DockerClient, tag: str) -> str:
    """The compose web app, for programs that take its image rather than build it."""
    require_base_image(engine)
    _build(["bash", "apps/build.sh", "composeapp", tag], {})
    return tag


def build_dind_host_image(engine: docker.DockerClient) -> str:
    require_base_image(engine)
    _build(["bash", "apps/build.sh", "dind-host", DIND_HOST_IMAGE], {})
    return DIND_HOST_IMAGE


def build_registry_image(engine: docker.DockerClient) -> str:
    require_base_image(engine)
    _build(["bash", "apps/build.sh", "registry", REGISTRY_IMAGE], {})
    return REGISTRY_IMAGE


def _build(argv: list[str], extra_environment: dict[str, str]) -> None:
    environment = {**os.environ, "BASE_IMAGE": BASE_IMAGE, "DOCKER_BUILDKIT": "0", **extra_environment}
    result = subprocess.run(argv, cwd=PROJECT_DIR, env=environment, capture_output=True, text=True, timeout=1800)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
