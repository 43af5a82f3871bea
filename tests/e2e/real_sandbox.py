"""docs/sandbox.md's sandbox and cluster through the real Pulumi CLI and providers (see real_pulumi.py), made
by the doc's own blocks as pasted (tests/e2e/sandbox_doc.py) on the stacks it names (`sandbox`,
`sandbox-cluster`, on 10.77.0.0/24): `make up STACK=sandbox`, our stand-in images pushed into its registry,
then the cluster stack with `hostsFromStack: organization/orchestration/sandbox` in the same project folder
and file backend, so the StackReference resolves as it does for a user. tests/e2e/conftest.py holds them for
the session: test_sandbox_cluster_real_pulumi.py runs on the three hosts, then
test_sandbox_cluster_with_more_hosts_real_pulumi.py grows them to five and tears them down as the doc does.
"""
from __future__ import annotations

import contextlib
from typing import Iterator

from tests.harness.local_images import BASE_IMAGE, CONSUL_IMAGE

from .cluster_support import (
    CLUSTER_STACK,
    SANDBOX_STACK,
    SANDBOX_SUBNET,
    ClusterProbes,
    SandboxProbes,
    build_sandbox_images,
    cluster_config,
    sandbox_config,
    stack_reference,
    sweep,
)
from .doc_runner import prints_nothing_to_check, real_cli_shell, run_documented
from .real_pulumi import RealProject, RealStack, skip_without_toolchain
from .sandbox_doc import CLUSTER_STACK_INIT, CLUSTER_UP, DOC, DOC_CONSUL_IMAGE, PRIVILEGED_OFF, RUNNER, SANDBOX_UP, STAND_INS
from .support import phase

PASSPHRASE = "real-sandbox-cluster"


class RealSandbox(SandboxProbes, RealStack):
    """The sandbox stack through the CLI, with the harness's probes of its hosts."""

    def __init__(self, engine, project: RealProject, subnet: str = SANDBOX_SUBNET) -> None:
        RealStack.__init__(self, project, sandbox_config(subnet))
        self._start_probes(engine)

    def close(self) -> None:
        self._close_probes()


class RealCluster(ClusterProbes, RealStack):
    """A cluster stack on the sandbox through the CLI, with the harness's probes of Consul, the swarm and the apps."""

    def __init__(self, sandbox: RealSandbox, project: RealProject) -> None:
        RealStack.__init__(self, project, cluster_config(sandbox))
        self.sandbox = sandbox


@contextlib.contextmanager
def doc_stacks(engine) -> Iterator[tuple[RealSandbox, RealCluster]]:
    """The doc's sandbox and cluster, up; destroyed at the end whatever is left of them."""
    skip_without_toolchain()
    # A killed run's state went with its temporary folder: what it left is found by name.
    sweep(engine, f"{SANDBOX_STACK}-")
    build_sandbox_images(engine)
    project = RealProject(SANDBOX_STACK, passphrase=PASSPHRASE)
    sandbox = RealSandbox(engine, project)
    cluster: RealCluster | None = None  # made once the registry holds the images
    shell = real_cli_shell(project.dir, project.environment)
    try:
        # What `make up` runs first: the doc's `config set --stack sandbox` needs the stack.
        project.init()
        run_documented(DOC, RUNNER, {PRIVILEGED_OFF: prints_nothing_to_check}, shell)
        sandbox.config["sandboxPrivileged"] = False
        # This machine's stand-in images, which the doc leaves to its reader.
        sandbox.configure(**_not_set_by_the_doc(sandbox._initial))
        sandbox.deployed = True  # even a failed `up` may leave resources to destroy
        with phase("real: sandbox first up (larry, curly, moe and a registry): docs/sandbox.md's make up STACK=sandbox"):
            run_documented(DOC, RUNNER, SANDBOX_UP, shell)
        sandbox.read_outputs()
        sandbox.seed_registry([BASE_IMAGE, CONSUL_IMAGE])
        engine.images.get(CONSUL_IMAGE).tag(DOC_CONSUL_IMAGE)
        cluster = RealCluster(sandbox, project.sibling(CLUSTER_STACK))
        run_documented(DOC, RUNNER, dict.fromkeys(CLUSTER_STACK_INIT, prints_nothing_to_check), shell)
        cluster.configure(**_not_set_by_the_doc(cluster._initial))
        run_documented(DOC, RUNNER, dict.fromkeys(STAND_INS, prints_nothing_to_check), shell)
        cluster.config.update(environment="cluster", hostsFromStack=stack_reference(SANDBOX_STACK), consulImage=f"{sandbox.registry}/{DOC_CONSUL_IMAGE}")
        cluster.deployed = True
        with phase("real: cluster first up (builds our images on larry): docs/sandbox.md's pulumi up --stack sandbox-cluster"):
            run_documented(DOC, RUNNER, {CLUSTER_UP: prints_nothing_to_check}, shell)
        cluster.read_outputs()
        sandbox.doc_shell = shell
        yield sandbox, cluster
    finally:
        try:
            if cluster is not None and cluster.deployed:
                # The sandbox's destroy takes the hosts and all on them, whatever this leaves.
                cluster.run("destroy", "--yes", "--skip-preview", label="real: destroy cluster (teardown)", check=False)
            if sandbox.deployed:
                sandbox.run("destroy", "--yes", "--skip-preview", label="real: destroy sandbox (teardown)", check=False)
        finally:
            sweep(engine, f"{SANDBOX_STACK}-")
            sandbox.close()
            project.close()


def previews_proposing_nothing(*checks: tuple[RealStack, bool, str]) -> None:
    """Runs every `pulumi preview [--refresh] --expect-no-changes --diff`, then fails with each that proposed something."""
    failed = []
    for stack, refresh, label in checks:
        completed = stack.run("preview", *(("--refresh",) if refresh else ()), "--expect-no-changes", "--diff", label=label, check=False)
        if completed.returncode != 0:
            failed.append(f"--- {label}: exit {completed.returncode}\n{completed.stdout}\n{completed.stderr}")
    assert not failed, "\n".join(failed)


def _not_set_by_the_doc(config: dict) -> dict:
    return {key: value for key, value in config.items() if key not in ("environment", "hostsFromStack", "consulImage", "sandboxPrivileged")}
