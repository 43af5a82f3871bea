"""The dev stack through the real Pulumi CLI and providers, where this machine has them (see real_pulumi.py).

What a new user does: `make up`'s stack init and `pulumi up` with only the stack file and the image
keys this machine needs; the chapter's checks the moment `up` returns, without waiting; then the
checks the real CLI failed before: no change proposed by a second preview (refreshed too, and after an
engine restart), the replicas change as
exactly one in-place update, no join token in the state or the output, and destroy leaving nothing.
"""
from __future__ import annotations

import re
import time
import urllib.request

import dns.resolver
import pytest
import requests

from stacks.workloads import APPS
from tests.harness.engine import objects_named_with
from tests.support.docs import documented_command

from .doc_checks import DEV_CHECKS, README, RUNNER
from .doc_runner import Shell, run_documented
from .engine_restart import dev_checks, restart_local_engine, time_recovery
from .real_pulumi import RealProject, deployed
from .support import PHASES

pytestmark = pytest.mark.docker

SERVICE = "docker:index/service:Service"
THIS = "tests/e2e/test_dev_stack_real_pulumi.py"


@pytest.fixture(scope="module")
def real(engine) -> RealProject:
    with deployed(engine) as project:
        yield project


def test_make_up_leaves_the_committed_stack_file_as_it_is(real: RealProject) -> None:
    assert real.stack_file_untouched


def test_the_chapters_checks_answer_as_soon_as_up_returns(real: RealProject) -> None:
    outputs = real.outputs()
    body = urllib.request.urlopen(outputs["webUrl"] + "/", timeout=5).read().decode()
    assert re.search(r"seen \d+ times", body), body
    consul = f"http://{outputs['consulHttpAddress']}"
    passing = requests.get(f"{consul}/v1/health/service/distributed_app", params={"passing": "true"}, timeout=5).json()
    assert sorted(entry["Service"]["ID"] for entry in passing) == ["server1", "server2"]
    host, port = outputs["consulDnsAddress"].rsplit(":", 1)
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers, resolver.port = [host], int(port)
    assert len(resolver.resolve("distributed_app.service.consul", "SRV")) == 2


def test_the_readmes_checks_run_as_pasted(real: RealProject) -> None:
    """README.md's checks, each as written, in bash, with the real CLI on the stack `make up` selected."""
    run_documented(README, RUNNER, DEV_CHECKS, Shell(real.dir, real.environment))


def test_a_second_preview_proposes_nothing(real: RealProject) -> None:
    assert real.preview_changes("real: no-change preview") == []
    real.run("preview", "--expect-no-changes", label="real: preview --expect-no-changes")


def test_a_preview_with_refresh_proposes_nothing(real: RealProject) -> None:
    real.run("preview", "--refresh", "--expect-no-changes", label="real: preview --refresh --expect-no-changes")


def test_after_an_engine_restart_everything_answers_and_a_refreshed_preview_proposes_nothing(real: RealProject, engine) -> None:
    """A host reboot: each chapter check timed from the engine answering until it passes again; then the
    README's way of correcting drift, a refreshed preview, must find nothing (it replaced 8 resources)."""
    checks = dev_checks(real.outputs(), engine)
    PHASES.append(("real: engine restart, SIGTERM until the engine answers", restart_local_engine(engine)))
    time_recovery({f"real: {check}": probe for check, probe in checks.items()}, since=time.monotonic())
    real.run("preview", "--refresh", "--expect-no-changes", label="real: preview --refresh after the engine restart")


def test_no_join_token_reaches_the_state_or_the_output(real: RealProject, engine) -> None:
    tokens = engine.swarm.attrs["JoinTokens"]
    state = real.exported_state()
    for token in (tokens["Worker"], tokens["Manager"]):
        assert token not in state
        assert token not in real.up_output


def test_more_replicas_are_exactly_one_in_place_update(real: RealProject, engine) -> None:
    before = engine.services.get("dev-heyworld").id
    shell = Shell(real.dir, real.environment)
    previewed = shell.run(documented_command(README, "pulumi config set heyworldReplicas 3 && make preview", THIS).text)
    # The README: "one change: an in-place update of dev-heyworld".
    assert re.search(r"~ 1 to update\n\s+\d+ unchanged", previewed), previewed[-2000:]
    assert real.preview_changes("real: preview heyworldReplicas 2 -> 3") == [("update", SERVICE, "heyworld-service")]
    real.run("up", "--yes", "--skip-preview", label="real: up heyworldReplicas 2 -> 3")
    assert engine.services.get("dev-heyworld").id == before
    assert engine.services.get("dev-heyworld").attrs["Spec"]["Mode"]["Replicated"]["Replicas"] == 3
    assert real.preview_changes("real: no-change preview after the update") == []


def test_destroy_leaves_nothing(real: RealProject, engine) -> None:
    Shell(real.dir, real.environment).run(documented_command(README, "make destroy", THIS).text)
    assert objects_named_with(engine, "dev-") == {"services": [], "containers": [], "networks": [], "volumes": []}
    # The images the stack built went with it.
    tags = {tag for image in engine.api.images() for tag in image.get("RepoTags") or []}
    assert tags & {f"orchestration/{app}:dev" for app in APPS} == set()
    if not real.swarm_was_active:
        assert engine.info()["Swarm"]["LocalNodeState"] == "inactive"
