"""A `pulumi up` of dev killed part-way, through the real CLI and providers (see real_pulumi.py), recovered
by `make recover`, after which `make up` converges with nothing lost (docs/day-2.md, "A killed deploy").

Each case kills the first `up` when its progress shows a create under way: while the images build,
while the Consul server starts, while the workers start; by SIGKILL (a lock and pending creates stay
behind) and by two SIGINTs (Pulumi's forced cancel). Then: `make recover`, `make up` (which recovers
again, now a no-op), a preview proposing nothing, no operation left pending, the objects found at the
kill adopted rather than made again, the app answering, and a destroy that leaves what it found.
"""
from __future__ import annotations

import json
import re
import signal
import subprocess
import time
import urllib.request
from typing import Iterator

import pytest

from scripts.recover.backend import file_backend
from tests.harness.engine import objects_named_with

from .kill_support import killed_up, make
from .real_pulumi import RealProject, skip_without_toolchain
from .support import PHASES, build_stand_in_images, machine_config

pytestmark = pytest.mark.docker

CASES = {
    # name: (what in `up`'s progress marks the moment, seconds after it, the signals sent). A container's
    # create takes a second to make and start it, then waits for it to be healthy: 2 s in, it runs.
    "SIGKILL while images build": (r"-image-build creating", 0, (signal.SIGKILL,)),
    "SIGKILL while Consul starts": (r"consul-consul-1-agent creating", 2, (signal.SIGKILL,)),
    "SIGKILL while workers start": (r"app-server1 creating", 2, (signal.SIGKILL,)),
    "two SIGINTs while Consul starts": (r"consul-consul-1-agent creating", 2, (signal.SIGINT, signal.SIGINT)),
}


@pytest.fixture(scope="module")
def project(engine) -> Iterator[RealProject]:
    skip_without_toolchain()
    build_stand_in_images(engine)
    real = RealProject("dev")
    try:
        real.init()
        real.set_config(machine_config())
        yield real
    finally:
        real.close()


def container_ids(engine) -> dict[str, str]:
    return {c["Names"][0].lstrip("/"): c["Id"] for c in engine.api.containers(all=True) if c["Names"][0].startswith("/dev-")}


@pytest.mark.parametrize("case", list(CASES))
def test_a_killed_up_is_recovered_by_one_command_and_converges(project: RealProject, engine, case: str) -> None:
    moment, delay, signals = CASES[case]
    swarm_was_active = engine.info()["Swarm"]["LocalNodeState"] == "active"
    try:
        killed_up(project, moment, delay, signals)
        pending = json.loads(project.exported_state())["deployment"].get("pending_operations") or []
        found = {name: cid for name, cid in container_ids(engine).items() if engine.api.inspect_container(cid)["State"]["Status"] == "running"}

        recovered = make(project, "recover")
        print(f"{case}: make recover said:\n{recovered.stdout}")  # what it did, for the run's log (-s)
        print(f"{case}: pending at the kill: {[op['resource']['urn'].rsplit('::', 1)[-1] for op in pending]}")
        up = make(project, "up")
        assert "recover:" not in up.stdout + up.stderr, "make up found something left to recover after make recover"

        assert project.preview_changes("real: preview after recovery") == []
        assert json.loads(project.exported_state())["deployment"].get("pending_operations") in (None, [])
        after = container_ids(engine)
        remade = [name for name in found if after.get(name) != found[name]]
        assert not remade, f"running at the kill, made again rather than adopted: {remade}\nmake recover:\n{recovered.stdout}\nmake up:\n{up.stdout[-6000:]}"
        body = urllib.request.urlopen(project.outputs()["webUrl"] + "/", timeout=5).read().decode()
        assert re.search(r"seen \d+ times", body), body
        timed_recover(project)
    finally:
        project.run("destroy", "--yes", "--skip-preview", label="real: destroy", check=False)
        PHASES.extend((f"{name} ({case})", seconds) for name, seconds in project.timings.items() if name.startswith("real:"))
        project.timings.clear()
    assert objects_named_with(engine, "dev-") == {"services": [], "containers": [], "networks": [], "volumes": []}
    if not swarm_was_active:
        assert engine.info()["Swarm"]["LocalNodeState"] == "inactive", "the swarm the killed up made outlived the destroy"


ADOPTABLE = ("docker:index/container:Container", "docker:index/network:Network", "docker:index/volume:Volume", "docker:index/service:Service")


def test_every_docker_object_of_dev_is_adopted_as_a_create_would_have_recorded_it(project: RealProject, engine) -> None:
    """Deterministic where a kill is not: dev deployed, then each of its containers, networks, volumes and
    swarm services turned back into a pending create (its inputs as the engine records them when a create
    begins), as if the `up` had been killed the moment each was made. `make recover` adopts them all, and
    the preview after proposes nothing: an adopted object is recorded as its create would have recorded it."""
    try:
        project.run("up", "--yes", "--skip-preview", label="real: up (to turn back into pending creates)")
        before = container_ids(engine)
        # Written into the file backend's checkpoint as a killed `up` leaves it: `pulumi stack import`
        # would drop the pending operations ("removing pending operation ... from snapshot").
        backend = file_backend(project.dir)
        checkpoint_file = backend.root / ".pulumi" / "stacks" / backend.project / f"{project.stack}.json"
        checkpoint = json.loads(checkpoint_file.read_text())
        deployment = checkpoint["checkpoint"]["latest"]
        made = [resource for resource in deployment["resources"] if resource["type"] in ADOPTABLE]
        deployment["resources"] = [resource for resource in deployment["resources"] if resource["type"] not in ADOPTABLE]
        deployment["pending_operations"] = [
            {"resource": {key: value for key, value in resource.items() if key not in ("id", "outputs")}, "type": "creating"}
            for resource in made
        ]
        checkpoint_file.write_text(json.dumps(checkpoint))
        recovered = make(project, "recover")
        adopted = [line for line in recovered.stdout.splitlines() if line.startswith("recover: import: ")]
        assert len(adopted) == len(made), recovered.stdout
        changes = project.preview_changes("real: preview after adopting everything")
        assert changes == [], f"{changes}\n{project.run('preview', '--diff', label='real: diff', check=False).stdout[-8000:]}"
        assert container_ids(engine) == before
    finally:
        project.run("destroy", "--yes", "--skip-preview", label="real: destroy", check=False)


def timed_recover(project: RealProject) -> None:
    """What recovery adds to a `make up` with nothing to recover: the median of five runs."""
    seconds = []
    for _ in range(5):
        started = time.monotonic()
        subprocess.run(["venv/bin/python", "-m", "scripts.recover", "--stack", "dev"], cwd=project.dir, env=project.environment, check=True)
        seconds.append(time.monotonic() - started)
    project.timings["real: recover with nothing to recover (median of 5)"] = sorted(seconds)[2]
