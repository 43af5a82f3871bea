"""Apply harness: Pulumi mocks that perform each registration for real on Docker/Consul.

See mocks.py for the entry point (ApplyHarness) and engine.py for the shared
"is there a Docker engine" check used to skip Docker tests.
"""
from .base import HarnessError
from .engine import docker_unavailable_reason, skip_without_docker
from .mocks import ApplyHarness

__all__ = ["ApplyHarness", "HarnessError", "docker_unavailable_reason", "skip_without_docker"]
