"""Three Consul servers through the real Pulumi CLI and providers (see real_pulumi.py): a new image
replaces them one after the other, each once the one before it serves again, and a leader remains."""
from __future__ import annotations

import re
import subprocess

import pytest
import requests

from tests.harness.local_images import CONSUL_IMAGE

from .real_pulumi import RealProject, deployed

pytestmark = pytest.mark.docker

ROLLED_IMAGE = "orchestration-e2e/consul:rolled"
AGENTS = ("consul-consul-1-agent", "consul-consul-2-agent", "consul-consul-3-agent")


@pytest.fixture(scope="module")
def real3(engine) -> RealProject:
    with deployed(engine, consulServers=3) as project:
        yield project


def test_three_servers_elect_a_leader_and_a_second_preview_proposes_nothing(real3: RealProject) -> None:
    consul = f"http://{real3.outputs()['consulHttpAddress']}"
    assert len(requests.get(f"{consul}/v1/status/peers", timeout=5).json()) == 3
    assert real3.preview_changes("real: no-change preview") == []


def test_a_new_image_replaces_the_servers_one_after_the_other(real3: RealProject) -> None:
    # The same Consul under another image id: every server must be replaced.
    subprocess.run(["docker", "build", "-q", "-t", ROLLED_IMAGE, "-"], input=f"FROM {CONSUL_IMAGE}\nLABEL rolled=yes\n", text=True, check=True, capture_output=True)
    real3.set_config({"consulImage": ROLLED_IMAGE})
    output = real3.run("up", "--yes", "--skip-preview", label="real: up with a new Consul image").stdout
    events = [
        (agent, event)
        for line in output.splitlines()
        if (match := re.search(r"(consul-consul-\d-agent) (deleting original|created replacement)", line))
        for agent, event in [match.groups()]
    ]
    # Each server is back before the next one goes.
    assert events == [(agent, event) for agent in AGENTS for event in ("deleting original", "created replacement")], events
    consul = f"http://{real3.outputs()['consulHttpAddress']}"
    assert requests.get(f"{consul}/v1/status/leader", timeout=5).json()
    assert len(requests.get(f"{consul}/v1/status/peers", timeout=5).json()) == 3
    assert real3.preview_changes("real: no-change preview after the new image") == []
