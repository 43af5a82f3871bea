"""End-to-end: the dev stack on the real engine. Registers `docker`, skips without an engine, prints phase timings.

docs/sandbox.md's sandbox and cluster (stacks `sandbox` and `sandbox-cluster`) are made once for the session,
by the doc's own commands through the harness's `pulumi`: test_cluster_stack.py runs on the three hosts,
test_cluster_stack_grown.py grows them to five as the doc does, runs on those and tears them down as the doc does.
The same through the real CLI: test_sandbox_cluster_real_pulumi.py, then test_sandbox_cluster_with_more_hosts_real_pulumi.py.
"""
from __future__ import annotations

import contextlib
import json
from pathlib import Path

import docker
import pytest

from tests.harness.markers import (
    register_docker_marker,
    skip_marked_tests_without_docker,
)

from tests.harness.cli import BACKEND, set_machine
from tests.harness.local_images import BASE_IMAGE, CONSUL_IMAGE, DIND_HOST_IMAGE

from .cluster_support import (
    CLUSTER_STACK,
    SANDBOX_STACK,
    SANDBOX_SUBNET,
    Cluster,
    Sandbox,
    build_sandbox_images,
    clear_earlier_runs,
    sandbox_config,
    sweep,
)
from .doc_runner import Shell, harness_cli_shell, prints_nothing_to_check, run_documented, scratch_folder
from .real_sandbox import RealCluster, RealSandbox, doc_stacks
from .sandbox_doc import (
    BUILD_HOST_IMAGE,
    CLUSTER_STACK_INIT,
    CLUSTER_UP,
    DOC,
    DOC_CONSUL_IMAGE,
    DOC_HOST_IMAGE,
    PRIVILEGED_OFF,
    RUNNER,
    SANDBOX_UP,
    STAND_INS,
)
from .support import PHASES, STATE_DIR, phase, project_copy


def pytest_configure(config: pytest.Config) -> None:
    register_docker_marker(config)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    # A hook, not an autouse fixture: it runs before the module fixture starts building images.
    skip_marked_tests_without_docker(item)


def pytest_terminal_summary(terminalreporter) -> None:
    if PHASES:
        terminalreporter.section("e2e phase durations")
        for name, seconds in PHASES:
            terminalreporter.write_line(f"{seconds:8.1f}s  {name}")


@pytest.fixture(scope="session")
def engine() -> docker.DockerClient:
    client = docker.from_env(timeout=600)
    yield client
    client.close()


@pytest.fixture(scope="session")
def doc_shell() -> Shell:
    """A terminal in a copy of the project whose `pulumi` runs docs/sandbox.md's commands through the harness,
    on the state files of the doc's stacks; the host and registry images are this machine's stand-ins."""
    with scratch_folder() as folder:
        machine = {SANDBOX_STACK: {key: sandbox_config(SANDBOX_SUBNET)[key] for key in ("sandboxHostImage", "sandboxRegistryImage")}}
        yield harness_cli_shell(Path(folder), STATE_DIR, machine, cwd=project_copy(Path(folder) / "project"))


@pytest.fixture(scope="session")
def doc_sandbox(engine, doc_shell: Shell) -> Sandbox:
    """docs/sandbox.md's sandbox, larry, curly and moe and a registry, made by the doc's `make up STACK=sandbox`."""
    clear_earlier_runs(engine)
    build_sandbox_images(engine)
    stack = Sandbox(engine)
    try:
        with phase("the hosts' image: docs/sandbox.md's apps/build.sh dind-host"):
            # This machine's base, which a reader who can't pull debian:bookworm-slim names as the doc says.
            doc_shell.environment["BASE_IMAGE"] = BASE_IMAGE
            run_documented(DOC, RUNNER, {BUILD_HOST_IMAGE: prints_nothing_to_check}, doc_shell)
            # The stand-in the sandbox's hosts run is the image the doc's command built.
            assert engine.images.get(DOC_HOST_IMAGE).id == engine.images.get(DIND_HOST_IMAGE).id
        with phase("sandbox up (larry, curly, moe and a registry): docs/sandbox.md's make up STACK=sandbox"):
            # What `make up` runs first: this machine's engine refuses --privileged, and the stack must
            # exist for the doc's `config set --stack sandbox` that says so.
            doc_shell.run("pulumi stack select --create sandbox --secrets-provider passphrase")
            run_documented(DOC, RUNNER, {PRIVILEGED_OFF: prints_nothing_to_check, **SANDBOX_UP}, doc_shell)
        stack.adopt(json.loads(doc_shell.run(f"pulumi stack output --stack {SANDBOX_STACK} --json --show-secrets")))
        stack.seed_registry([BASE_IMAGE, CONSUL_IMAGE])
        yield stack
    finally:
        try:
            stack.destroy()  # nothing left to do when the doc's tear-down ran
        finally:
            sweep(engine, f"{SANDBOX_STACK}-")  # after a failed destroy: nothing of ours may stay
            stack.close()
            with contextlib.suppress(docker.errors.ImageNotFound):
                engine.images.remove(DOC_HOST_IMAGE)  # the tag only: the stand-in keeps the image


@pytest.fixture(scope="session")
def doc_cluster(doc_sandbox: Sandbox, doc_shell: Shell, engine) -> Cluster:
    """docs/sandbox.md's cluster stack on that sandbox through `hostsFromStack`, made by the doc's commands."""
    stack = Cluster(doc_sandbox)
    try:
        # The doc's stand-in for Consul is `local/consul`; the rest of this machine's settings lie under the doc's.
        engine.images.get(CONSUL_IMAGE).tag(DOC_CONSUL_IMAGE)
        set_machine(Path(doc_shell.environment[BACKEND]), CLUSTER_STACK, {
            key: value for key, value in stack.config.items() if key not in ("environment", "hostsFromStack", "consulImage")
        })
        with phase("cluster up via hostsFromStack (builds our images on larry): docs/sandbox.md's commands"):
            run_documented(DOC, RUNNER, dict.fromkeys([*CLUSTER_STACK_INIT, *STAND_INS, CLUSTER_UP], prints_nothing_to_check), doc_shell)
        stack.config["consulImage"] = f"{doc_sandbox.registry}/{DOC_CONSUL_IMAGE}"
        stack.adopt(json.loads(doc_shell.run(f"pulumi stack output --stack {CLUSTER_STACK} --json --show-secrets")))
        yield stack
    finally:
        try:
            stack.destroy()
        except Exception:
            stack.forget()  # the sandbox's destroy takes the hosts and everything on them
            raise
        finally:
            stack.close()


@pytest.fixture(scope="session")
def real_doc_stacks(engine) -> tuple[RealSandbox, RealCluster]:
    """docs/sandbox.md's sandbox and cluster through the real CLI (tests/e2e/real_sandbox.py)."""
    with doc_stacks(engine) as stacks:
        yield stacks
