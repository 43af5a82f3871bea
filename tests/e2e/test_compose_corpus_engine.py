"""Real projects' compose files (tests/data/compose/corpus) and ours, brought up on the real engine one after
the other under the same project name: by Docker Compose v2 itself (`docker compose up --wait`) and by
ComposeProject through the apply harness. `docker inspect` must show the same containers: names, image,
command, entrypoint, environment, labels, networks with aliases and addresses, mounts, ports, health, limits,
restart policy, run options, and the files secrets and configs land in; and a second `up` through the harness changes nothing.

Where the two differ only in how the engine is told the same thing, `observe` says so and reads both alike:
no restart policy ("" or "no"), an empty list or none, and aliases Docker resolves anyway (the container's
name and short id). One difference is pulumi-docker's and listed in docs/compose.md: a port published on all
addresses is bound on 0.0.0.0 (IPv4), where Compose leaves the address empty (IPv4 and IPv6).

No image can be pulled here: the images the files name are stand-ins, tagged for the run from images built
locally (apps/, and a sleeper made from the base image) and untagged after.
"""
from __future__ import annotations

from pathlib import Path

import docker
import pytest

from .compose_corpus import CASES, Case, build_local_images, stand_ins
from .compose_inspect import differences, observe
from .support import phase

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def local_images(engine: docker.DockerClient) -> None:
    with phase("build redis image (apps/build.sh redis) and the sleeper stand-in"):
        build_local_images(engine)


@pytest.mark.parametrize("name", sorted(CASES))
def test_docker_compose_and_the_harness_make_the_same_containers(name: str, engine: docker.DockerClient, local_images: None, tmp_path: Path) -> None:
    case = Case(name, tmp_path, project=f"cc-{name}")
    with stand_ins(engine, CASES[name]["stand_ins"]):
        try:
            with phase(f"corpus {name}: docker compose up --wait"):
                case.compose_up()
            theirs = observe(engine, case.project, files=case.files)
        finally:
            case.compose_down()
        try:
            with phase(f"corpus {name}: up through the harness"):
                case.harness_up()
            ours = observe(engine, case.project, files=case.files)
            before = observe(engine, case.project, ids=True)
            with phase(f"corpus {name}: second up through the harness"):
                case.harness_up()
            assert case.harness.last_run.changes() == []
            assert observe(engine, case.project, ids=True) == before
            again = observe(engine, case.project, files=case.files)
        finally:
            case.harness_down()
            case.close()
    found = differences(ours, theirs)
    assert not found, "\n".join(found)
    assert again == ours
    assert theirs, "nothing came up"
