"""docs/reuse.md's example consumer (examples/five-servers) as pasted, in a copy of the checkout, through the
harness's `pulumi`: its own virtualenv from its requirements.txt, the worker image from apps/, then
`pulumi stack init demo && pulumi up` of the example's program with that virtualenv's packages (five Consul
servers with a worker registered at each, a replicated swarm service) and the guide's curl, checked against
what the guide says it prints. Then what the guide doesn't show: one leader of five, the service's replicas,
a second `up` changing nothing, and `pulumi destroy` leaving nothing."""
from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import pytest
import requests

from tests.harness import ApplyHarness
from tests.harness.engine import objects_named_with
from tests.harness.local_images import BASE_IMAGE, CONSUL_IMAGE, build_consul_image, require_base_image
from tests.support.docs import Command

from .doc_runner import Shell, harness_cli_shell, prints_nothing_to_check, project_doc, run_documented
from .support import STATE_DIR, phase, project_copy

pytestmark = pytest.mark.docker

DOC = project_doc("docs/reuse.md")
RUNNER = "tests/e2e/test_five_servers_example.py"
NODES = [f"consul-{index}" for index in range(1, 6)]
WORKER_IMAGE = "orchestration/distributed_app"
# This machine reaches no registry: the images the stack would pull are its stand-ins (the guide says how).
MACHINE = {"consulImage": CONSUL_IMAGE, "serviceImage": BASE_IMAGE}
NUMBERS = {"five": 5}
STATE_FILE = STATE_DIR / "five-servers.demo-state.json"


def workers_passing(output: str, command: Command) -> None:
    """The curl prints the five workers, each at its own server, as the guide's comment says."""
    entries = json.loads(output)
    found = sorted((entry["Service"]["ID"], entry["Node"]["Node"]) for entry in entries)
    count = re.search(r"a JSON list of (\w+) entries, (\S+) on (\S+) to (\S+) on (\S+), every check passing", command.comment)
    assert count, f"the guide no longer says what the curl prints: {command.comment!r}"
    assert len(found) == NUMBERS[count.group(1)] and [found[0], found[-1]] == [count.group(2, 3), count.group(4, 5)], found
    assert found == [(f"worker-{node}", node) for node in NODES]
    assert all(check["Status"] == "passing" for entry in entries for check in entry["Checks"])


def the_doc_block(shell: Shell, check_up=prints_nothing_to_check) -> None:
    """The guide's block, each command as written, from the checkout's folder (the copy's)."""
    run_documented(DOC, RUNNER, {
        "cd examples/five-servers": prints_nothing_to_check,
        "python3 -m venv venv && venv/bin/pip install -r requirements.txt": prints_nothing_to_check,
        "../../apps/build.sh distributed_app orchestration/distributed_app": prints_nothing_to_check,
        "pulumi stack init demo && pulumi up": check_up,
        "curl -s 127.0.0.1:18500/v1/health/service/distributed_app?passing=true": workers_passing,
    }, shell)


def untag_worker_image(engine, existed: bool) -> None:
    if not existed:
        engine.images.remove(WORKER_IMAGE, noprune=True)


@pytest.fixture(scope="module")
def example(engine):
    require_base_image(engine)
    with phase("build consul image (apps/build.sh consul)"):
        build_consul_image(engine)
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    worker_image_existed = bool(engine.images.list(name=WORKER_IMAGE))
    with tempfile.TemporaryDirectory(prefix="orchestration-five-") as folder:
        copy = project_copy(Path(folder) / "project")
        shell = harness_cli_shell(Path(folder), STATE_DIR, {"demo": MACHINE}, cwd=copy)
        shell.environment["BASE_IMAGE"] = BASE_IMAGE
        destroy_what_is_left(copy)  # by an earlier run that died before its destroy
        swarm_was_active = engine.info()["Swarm"]["LocalNodeState"] == "active"
        try:
            with phase("docs/reuse.md: the five-servers block as pasted (venv, image, up, curl)"):
                the_doc_block(shell)
            outputs = json.loads(shell.run("pulumi stack output --json"))
            yield shell, outputs, swarm_was_active
        finally:
            try:
                destroy_what_is_left(copy)
            finally:
                untag_worker_image(engine, worker_image_existed)


def destroy_what_is_left(copy: Path) -> None:
    """The demo stack's state, where the harness's `pulumi` keeps another project's (tests/harness/cli.py)."""
    harness = ApplyHarness(project_dir=copy / "examples" / "five-servers", state_file=STATE_FILE, keep_images=(BASE_IMAGE, CONSUL_IMAGE))
    try:
        if len(harness.state):
            harness.destroy()
    finally:
        harness.close()


def consul(outputs, path: str):
    return requests.get(f"http://{outputs['consulHttpAddress']}{path}", timeout=5).json()


def test_five_servers_with_one_leader(example) -> None:
    _, outputs, _ = example
    assert outputs["consulNodes"] == NODES
    assert consul(outputs, "/v1/status/leader")
    assert len(consul(outputs, "/v1/status/peers")) == 5


def test_the_service_runs_its_replicas_and_a_second_up_changes_nothing(example, engine) -> None:
    shell, outputs, _ = example
    tasks = engine.api.tasks(filters={"service": outputs["service"], "desired-state": "running"})
    assert sum(task["Status"]["State"] == "running" for task in tasks) == 2
    assert re.search(r"\d+ resources, 0 changes", shell.run("pulumi up")), "a second `pulumi up` changed something"


def test_destroy_leaves_nothing(example, engine) -> None:
    shell, _, swarm_was_active = example
    with phase("destroy examples/five-servers"):
        shell.run("pulumi destroy")
    assert objects_named_with(engine, "five-demo-") == {"services": [], "containers": [], "networks": [], "volumes": []}
    if not swarm_was_active:
        assert engine.info()["Swarm"]["LocalNodeState"] == "inactive"
