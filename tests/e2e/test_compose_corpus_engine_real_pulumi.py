"""Real projects' compose files (tests/data/compose/corpus) on the real engine, as in
test_compose_corpus_engine.py but through the real Pulumi CLI and providers (see real_pulumi.py): `docker
compose up --wait`, then `pulumi up` of a program declaring the same ComposeProject under the same project
name, then the harness's `up`. `docker inspect` must show the same containers all three times; after the
real `up`, a preview proposes nothing and a second `up` replaces no container.

The harness must behave as the real CLI does: where the real CLI's containers match Compose's and the
harness's do not (or the other way round), the harness is wrong.
"""
from __future__ import annotations

from pathlib import Path

import docker
import pytest

from .compose_corpus import CASES, SLEEPER_IMAGE, Case, build_local_images, stand_ins
from .compose_inspect import differences, observe
from .real_pulumi import RealProgram, skip_without_toolchain
from .support import phase

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def local_images(engine: docker.DockerClient) -> None:
    skip_without_toolchain()
    with phase("build redis image (apps/build.sh redis) and the sleeper stand-in"):
        build_local_images(engine)


@pytest.mark.parametrize("name", sorted(CASES))
def test_docker_compose_the_real_cli_and_the_harness_make_the_same_containers(
    name: str, engine: docker.DockerClient, local_images: None, tmp_path: Path
) -> None:
    case = Case(name, tmp_path, project=f"cr-{name}")
    with stand_ins(engine, CASES[name]["stand_ins"]):
        try:
            with phase(f"corpus {name}: docker compose up --wait"):
                case.compose_up()
            theirs = observe(engine, case.project, files=case.files)
        finally:
            case.compose_down()
        try:
            with phase(f"corpus {name}: real pulumi up"):
                case.real_up()
            real = observe(engine, case.project, files=case.files)
            before = observe(engine, case.project, ids=True)
            with phase(f"corpus {name}: real preview, second up"):
                proposed = case.real_changes()
                case.real_up()
            replaced = observe(engine, case.project, ids=True) != before
        finally:
            case.real_down()
        try:
            with phase(f"corpus {name}: up through the harness"):
                case.harness_up()
            harness = observe(engine, case.project, files=case.files)
        finally:
            case.harness_down()
            case.close()
    assert theirs, "nothing came up"
    found = differences(real, theirs, ours_label="real CLI")
    assert not found, "\n".join(found)
    assert proposed == []
    assert not replaced
    found = differences(harness, real, ours_label="harness", theirs_label="real CLI")
    assert not found, "\n".join(found)


def test_a_port_on_every_address_cannot_be_declared_without_a_replacement_at_every_up(engine: docker.DockerClient, local_images: None) -> None:
    """Why a port without `host_ip` is declared on 0.0.0.0 only (docs/compose.md), where Compose binds :: too:
    either declaration of both addresses pulumi-docker takes is proposed for replacement at every preview.
    An empty `ip` binds both, as Compose's does, but is read back as two bindings; the two given apart are
    read back in the reverse order, the engine sorting a TCP port's bindings so. The harness agrees
    (tests/harness/test_translation.py)."""
    declared = {"empty-ip": ['""'], "both-addresses": ['"0.0.0.0"', '"::"']}
    program = RealProgram("ports", "import pulumi_docker as docker\n\n" + "".join(
        f"docker.Container({name!r}, name='cr-ports-{name}', image={SLEEPER_IMAGE!r}, ports=["
        + ", ".join(f"docker.ContainerPortArgs(internal=80, external={18590 + index}, ip={ip})" for ip in addresses)
        + "])\n"
        for index, (name, addresses) in enumerate(declared.items())
    ))
    try:
        program.init()
        program.run("up", "--yes", "--skip-preview", label="up")
        for name in declared:
            bound = engine.api.inspect_container(f"cr-ports-{name}")["NetworkSettings"]["Ports"]["80/tcp"]
            assert sorted(b["HostIp"] for b in bound) == ["0.0.0.0", "::"], name
        assert program.preview_changes("preview") == [("replace", "docker:index/container:Container", name) for name in sorted(declared)]
    finally:
        program.run("destroy", "--yes", "--skip-preview", label="destroy", check=False)
        program.close()
