"""The example consumer (examples/five-servers), applied for real through the harness: the package's
components in a topology of their own, five Consul servers with a worker registered at each."""
from __future__ import annotations

import pytest
import requests

from tests.harness import ApplyHarness
from tests.harness.engine import objects_named_with
from tests.harness.local_images import BASE_IMAGE, CONSUL_IMAGE, WORKER_IMAGE, build_consul_image, build_worker_image
from tests.support.program import PROJECT_DIR, run_program

from .support import STATE_DIR, phase

pytestmark = pytest.mark.docker

EXAMPLE = PROJECT_DIR / "examples" / "five-servers"
NODES = [f"consul-{index}" for index in range(1, 6)]


@pytest.fixture(scope="module")
def example(engine):
    with phase("build consul and worker images"):
        build_consul_image(engine)
        build_worker_image(engine)
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    harness = ApplyHarness(project_dir=EXAMPLE, state_file=STATE_DIR / "five-servers-state.json", keep_images=(BASE_IMAGE, CONSUL_IMAGE, WORKER_IMAGE))
    if len(harness.state):  # an earlier run died before its destroy
        harness.destroy()
    overrides = {"consulImage": CONSUL_IMAGE, "workerImage": WORKER_IMAGE, "serviceImage": BASE_IMAGE}
    swarm_was_active = engine.info()["Swarm"]["LocalNodeState"] == "active"
    try:
        with phase("apply examples/five-servers"):
            outputs = harness.apply(lambda: run_program(harness, "e2e", overrides, project_dir=EXAMPLE))
        yield harness, outputs, overrides, swarm_was_active
    finally:
        try:
            if len(harness.state):
                harness.destroy()
        finally:
            harness.close()


def consul(outputs, path: str):
    return requests.get(f"http://{outputs['consulHttpAddress']}{path}", timeout=5).json()


def test_five_servers_with_one_leader(example) -> None:
    _, outputs, _, _ = example
    assert outputs["consulNodes"] == NODES
    assert consul(outputs, "/v1/status/leader")
    assert len(consul(outputs, "/v1/status/peers")) == 5


def test_each_worker_is_passing_at_its_own_server(example) -> None:
    _, outputs, _, _ = example
    entries = consul(outputs, "/v1/health/service/distributed_app?passing=true")
    assert sorted((entry["Service"]["ID"], entry["Node"]["Node"]) for entry in entries) == [(f"worker-{node}", node) for node in NODES]


def test_the_service_runs_its_replicas_and_a_second_apply_changes_nothing(example, engine) -> None:
    harness, outputs, overrides, _ = example
    tasks = engine.api.tasks(filters={"service": outputs["service"], "desired-state": "running"})
    assert sum(task["Status"]["State"] == "running" for task in tasks) == 2
    harness.apply(lambda: run_program(harness, "e2e", overrides, project_dir=EXAMPLE))
    assert harness.last_run.changes() == []


def test_destroy_leaves_nothing(example, engine) -> None:
    harness, _, _, swarm_was_active = example
    with phase("destroy examples/five-servers"):
        harness.destroy()
    assert objects_named_with(engine, "five-e2e-") == {"services": [], "containers": [], "networks": [], "volumes": []}
    if not swarm_was_active:
        assert engine.info()["Swarm"]["LocalNodeState"] == "inactive"
