"""The `docker` pytest marker, shared by the tests/harness and tests/e2e conftests."""
from __future__ import annotations

from .engine import skip_without_docker

DOCKER_MARKER = "docker: needs a reachable Docker engine; skipped with the reason when there is none"


def register_docker_marker(config) -> None:
    config.addinivalue_line("markers", DOCKER_MARKER)


def skip_marked_tests_without_docker(item) -> None:
    if item.get_closest_marker("docker"):
        skip_without_docker()
