"""Swarm and container deploy settings through the real Pulumi CLI and providers (see real_pulumi.py).

The dev stack with a health-checked, placed, sized service, an all-at-once heyworld and a limited
client: what the program declares must be what pulumi-docker reads back from the engine, or every
later preview would propose changes. Durations, CPUs and swap are the usual suspects.
"""
from __future__ import annotations

import pytest

from tests.harness.local_images import BASE_IMAGE

from .real_pulumi import RealProject, deployed

pytestmark = pytest.mark.docker

WEB_PORT = 8097
MIB = 2**20
DEPLOY = {
    "heyworldDeploy": {"rollout": {"strategy": "all-at-once", "monitor": "3s"}},
    "swarmServices": {
        "web": {
            "image": BASE_IMAGE,
            "args": ["python3", "-m", "http.server", str(WEB_PORT)],
            "replicas": 1,
            # Host mode: the routing mesh needs IPVS, which this machine's kernel lacks.
            "ports": [{"published": WEB_PORT, "target": WEB_PORT, "mode": "host"}],
            "healthCheck": {
                "test": ["CMD", "python3", "-c", f"import urllib.request as u; u.urlopen('http://127.0.0.1:{WEB_PORT}/')"],
                "interval": "1s",
                "startPeriod": "1500ms",
                "retries": 2,
            },
            "constraints": ["node.role==manager"],
            "spread": "node.labels.zone",
            "resources": {"cpuLimit": 0.5, "memoryLimitMb": 128, "cpuReservation": 0.1, "memoryReservationMb": 32},
            "rollout": {"delay": "90s", "monitor": "5s"},
            "convergeTimeout": "2m",
        }
    },
    "containerResources": {"client": {"cpuLimit": 1, "memoryLimitMb": 256, "memoryReservationMb": 64}},
}


@pytest.fixture(scope="module")
def real(engine) -> RealProject:
    with deployed(engine, **DEPLOY) as project:
        yield project


def test_the_engine_runs_what_the_settings_say(real: RealProject, engine) -> None:
    spec = engine.api.inspect_service("dev-web")["Spec"]
    task = spec["TaskTemplate"]
    assert task["Placement"] == {"Constraints": ["node.role==manager"], "Preferences": [{"Spread": {"SpreadDescriptor": "node.labels.zone"}}]}
    assert task["Resources"] == {
        "Limits": {"NanoCPUs": 500_000_000, "MemoryBytes": 128 * MIB},
        "Reservations": {"NanoCPUs": 100_000_000, "MemoryBytes": 32 * MIB},
    }
    assert task["ContainerSpec"]["Healthcheck"]["StartPeriod"] == 1_500_000_000
    assert (spec["UpdateConfig"]["Delay"], spec["UpdateConfig"]["Order"], spec["RollbackConfig"]["Order"]) == (90 * 10**9, "start-first", "start-first")
    assert engine.api.inspect_service("dev-heyworld")["Spec"]["UpdateConfig"]["Parallelism"] == 0
    client = engine.api.inspect_container("dev-client")["HostConfig"]
    assert (client["NanoCpus"], client["Memory"], client["MemorySwap"], client["MemoryReservation"]) == (10**9, 256 * MIB, 256 * MIB, 64 * MIB)


def test_a_second_preview_proposes_nothing(real: RealProject) -> None:
    assert real.preview_changes("real: no-change preview with deploy settings") == []
