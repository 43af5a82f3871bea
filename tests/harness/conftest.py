"""Registers the `docker` marker and skips marked tests, with the reason, when no engine answers."""
from __future__ import annotations

import pytest

from .markers import register_docker_marker, skip_marked_tests_without_docker


def pytest_configure(config: pytest.Config) -> None:
    register_docker_marker(config)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    # A hook, not an autouse fixture: it runs before module-scoped fixtures start building things.
    skip_marked_tests_without_docker(item)
