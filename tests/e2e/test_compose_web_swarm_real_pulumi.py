"""The dev stack with the compose web app as a swarm service (`composeWeb`), through the real Pulumi CLI and
providers (see real_pulumi.py): what the program declares (a host-mode port, an attachable overlay network,
the image trigger label) must be what pulumi-docker reads back, or every later preview would propose changes;
and web's task reaches Redis over that network and counts.

Host mode on dev's one engine: one task, rolled stop-first (the routing mesh needs IPVS, absent here).
"""
from __future__ import annotations

import re
import urllib.request

import pytest

from components.swarm_service import IMAGE_TRIGGER_LABEL

from .real_pulumi import RealProject, deployed

pytestmark = pytest.mark.docker

WEB_PORT = 18795
SETTINGS = {
    "webPort": WEB_PORT,
    "composeWeb": {"mode": "swarm", "publishMode": "host", "replicas": 1, "rollout": {"order": "stop-first", "delay": "1s"}},
}


@pytest.fixture(scope="module")
def real(engine) -> RealProject:
    with deployed(engine, **SETTINGS) as project:
        yield project


def seen() -> int:
    body = urllib.request.urlopen(f"http://127.0.0.1:{WEB_PORT}/", timeout=5).read().decode()
    return int(re.search(r"seen (\d+) times", body).group(1))


def test_web_runs_as_a_swarm_service_that_reaches_redis_and_counts(real: RealProject, engine) -> None:
    spec = engine.api.inspect_service("dev-web")["Spec"]
    assert spec["EndpointSpec"]["Ports"] == [{"Protocol": "tcp", "TargetPort": 5000, "PublishedPort": WEB_PORT, "PublishMode": "host"}]
    assert spec["Mode"] == {"Replicated": {"Replicas": 1}}
    assert spec["UpdateConfig"]["Order"] == "stop-first"
    container = spec["TaskTemplate"]["ContainerSpec"]
    assert IMAGE_TRIGGER_LABEL in container["Labels"]
    network = engine.api.inspect_network("dev-compose-overlay")
    assert (network["Driver"], network["Attachable"]) == ("overlay", True)
    assert [n["Target"] for n in spec["TaskTemplate"]["Networks"]] == [network["Id"]]
    assert "dev-compose-overlay" in engine.api.inspect_container("dev-redis")["NetworkSettings"]["Networks"]
    # `up` returned once the task ran healthy: it answers at once, and counts in Redis.
    first = seen()
    assert seen() == first + 1
    assert real.outputs()["webUrl"] == f"http://localhost:{WEB_PORT}"


def test_a_second_preview_proposes_nothing(real: RealProject) -> None:
    assert real.preview_changes("real: no-change preview with web as a swarm service") == []
