"""End-to-end: the dev stack on the real engine. Registers `docker`, skips without an engine, prints phase timings."""
from __future__ import annotations

import docker
import pytest

from tests.harness.markers import (
    register_docker_marker,
    skip_marked_tests_without_docker,
)

from .support import PHASES


def pytest_configure(config: pytest.Config) -> None:
    register_docker_marker(config)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    # A hook, not an autouse fixture: it runs before the module fixture starts building images.
    skip_marked_tests_without_docker(item)


def pytest_terminal_summary(terminalreporter) -> None:
    if PHASES:
        terminalreporter.section("e2e phase durations")
        for name, seconds in PHASES:
            terminalreporter.write_line(f"{seconds:8.1f}s  {name}")


@pytest.fixture(scope="session")
def engine() -> docker.DockerClient:
    client = docker.from_env(timeout=600)
    yield client
    client.close()
