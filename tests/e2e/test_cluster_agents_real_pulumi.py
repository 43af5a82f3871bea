"""The five-host cluster of test_cluster_stack_grown (three Consul servers, client agents on shemp and joe)
through the real Pulumi CLI and providers (see real_pulumi.py).

A sandbox stack with `sandboxHosts` and `sandboxRoles`, our stand-in images pushed into its registry,
a cluster stack on it through `hostsFromStack`; then the chapter's checks on every host, previews
proposing nothing, larry killed whole and back with no `pulumi up`, and destroy leaving nothing.
"""
from __future__ import annotations

import time

import pytest

from tests.harness.local_images import BASE_IMAGE, CONSUL_IMAGE

from .agents_support import CLIENT_AGENTS, HOSTS, ROLES, SERVERS, endpoints, every_node_resolves, passing, srv
from .cluster_support import ClusterProbes, SandboxProbes, build_sandbox_images, cluster_config, leftovers, sandbox_config, sweep
from .real_pulumi import RealProject, RealStack, skip_without_toolchain
from .support import PHASES, phase, wait_for

pytestmark = pytest.mark.docker

SANDBOX_STACK = "real-agents-sandbox"
CLUSTER_STACK = "real-agents"
# Apart from docs/sandbox.md's 10.77.0.0/24 and the other sandboxes' 10.78.x.0/24.
SUBNET = "10.78.46.0/24"
PASSPHRASE = "real-agents"
NOTHING = {"services": [], "containers": [], "networks": [], "volumes": []}


class RealSandbox(SandboxProbes, RealStack):
    def __init__(self, engine, project: RealProject) -> None:
        RealStack.__init__(self, project, {**sandbox_config(SUBNET), "sandboxHosts": list(HOSTS), "sandboxRoles": ROLES})
        self._start_probes(engine)

    def close(self) -> None:
        self._close_probes()


class RealCluster(ClusterProbes, RealStack):
    def __init__(self, sandbox: RealSandbox, project: RealProject) -> None:
        RealStack.__init__(self, project, cluster_config(sandbox))
        self.sandbox = sandbox


@pytest.fixture(scope="module")
def stacks(engine) -> tuple[RealSandbox, RealCluster]:
    skip_without_toolchain()
    sweep(engine, f"{SANDBOX_STACK}-")
    build_sandbox_images(engine)
    project = RealProject(SANDBOX_STACK, passphrase=PASSPHRASE)
    sandbox = RealSandbox(engine, project)
    cluster: RealCluster | None = None
    try:
        sandbox.init()
        sandbox.apply("real: sandbox up (five hosts, roles per host)")
        sandbox.seed_registry([BASE_IMAGE, CONSUL_IMAGE])
        cluster = RealCluster(sandbox, project.sibling(CLUSTER_STACK))
        cluster.init()
        cluster.apply("real: cluster up on five hosts (three servers, two client agents)")
        yield sandbox, cluster
    finally:
        try:
            if cluster is not None and cluster.deployed:
                cluster.run("destroy", "--yes", "--skip-preview", label="real: destroy cluster (teardown)", check=False)
            if sandbox.deployed:
                sandbox.run("destroy", "--yes", "--skip-preview", label="real: destroy sandbox (teardown)", check=False)
        finally:
            sweep(engine, f"{SANDBOX_STACK}-")
            sandbox.close()
            project.close()


def test_every_host_answers_for_every_node_and_every_worker_and_the_client_reports_them(stacks) -> None:
    sandbox, cluster = stacks
    assert (cluster.outputs["consulNodes"], cluster.outputs["consulClientAgents"]) == (list(SERVERS), list(CLIENT_AGENTS))
    assert every_node_resolves(cluster, sandbox, asking=HOSTS)
    for host in HOSTS:
        assert srv(cluster, host) == endpoints(sandbox), host
    assert {node for node, _, _ in passing(cluster, "joe")} == {"larry", "shemp"}
    report = cluster.client_report("joe")
    assert sorted((i["address"], i["port"]) for i in report["http"]) == endpoints(sandbox)
    assert sorted(i["node"] for i in report["http"]) == ["larry", "larry", "shemp", "shemp"]


def test_previews_right_after_up_propose_nothing(stacks) -> None:
    _, cluster = stacks
    for refresh in (False, True):
        flags = ("--refresh",) if refresh else ()
        completed = cluster.run("preview", *flags, "--expect-no-changes", "--diff", label=f"real: preview {' '.join(flags)}", check=False)
        assert completed.returncode == 0, completed.stdout + completed.stderr


def test_larry_killed_whole_leaves_the_others_answering_and_comes_back_without_up(stacks, engine) -> None:
    sandbox, cluster = stacks
    others = tuple(host for host in HOSTS if host != "larry")
    larry = engine.containers.get(sandbox.host_container("larry"))
    with phase("real: fault: larry's host killed"):
        larry.kill()
        stopped = time.monotonic()
        try:
            gone = wait_for(
                "larry's workers out of every other host's DNS",
                lambda: all(srv(cluster, host) == endpoints(sandbox, ("shemp",)) for host in others) and time.monotonic() - stopped,
                timeout=60,
                interval=0.2,
            )
            PHASES.append((f"  real: larry's workers out of DNS {gone:.1f}s after its host was killed", 0.0))
            assert every_node_resolves(cluster, sandbox, asking=others, nodes=others)
        finally:
            larry.start()
    with phase("real: larry back, no pulumi up"):
        wait_for("every worker on every host's DNS again", lambda: all(srv(cluster, host) == endpoints(sandbox) for host in HOSTS), timeout=180)
        assert every_node_resolves(cluster, sandbox, asking=HOSTS)


def test_destroy_the_cluster_then_the_sandbox_leaves_nothing(stacks, engine) -> None:
    sandbox, cluster = stacks
    cluster.run("destroy", "--yes", "--skip-preview", label="real: destroy cluster")
    cluster.deployed = False
    for host in HOSTS:
        assert sandbox.docker(host).api.containers(all=True) == [], host
    sandbox.run("destroy", "--yes", "--skip-preview", label="real: destroy sandbox")
    sandbox.deployed = False
    assert leftovers(engine, f"{SANDBOX_STACK}-") == NOTHING
