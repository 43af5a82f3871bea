"""Registers the `docker` marker and skips marked tests, with the reason, when no engine answers; the
translation tests' engine, their per-test name prefix (whatever carries it is swept afterwards) and harness."""
from __future__ import annotations

import secrets
from pathlib import Path

import docker
import pytest

from tests.harness import ApplyHarness
from tests.harness.engine import sweep
from tests.harness.local_images import BASE_IMAGE, require_base_image

from .markers import register_docker_marker, skip_marked_tests_without_docker


def pytest_configure(config: pytest.Config) -> None:
    register_docker_marker(config)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    # A hook, not an autouse fixture: it runs before module-scoped fixtures start building things.
    skip_marked_tests_without_docker(item)


@pytest.fixture(scope="module")
def engine() -> docker.DockerClient:
    client = docker.from_env(timeout=300)
    require_base_image(client)
    yield client
    client.close()


@pytest.fixture
def prefix(engine: docker.DockerClient) -> str:
    """A unique name prefix; whatever still carries it after the test is removed."""
    value = f"hx{secrets.token_hex(3)}"
    yield value
    sweep(engine, value)


@pytest.fixture
def harness(tmp_path: Path, prefix: str):
    instance = ApplyHarness(project_dir=tmp_path, state_file=tmp_path / "state.json", keep_images=(BASE_IMAGE,))
    yield instance
    try:
        instance.destroy()
    finally:
        instance.close()


def free_subnet(engine: docker.DockerClient) -> str:
    used = {pool.get("Subnet") for net in engine.api.networks() for pool in (net.get("IPAM") or {}).get("Config") or []}
    for third in range(200, 250):
        candidate = f"10.213.{third}.0/24"
        if candidate not in used:
            return candidate
    raise AssertionError("no free 10.213.x.0/24 subnet")
