"""The cluster stack in Consul's service mesh, its default, on a sandbox, through the real Pulumi CLI and providers
(see real_pulumi.py): the oracle for what the harness does with the pods, the sidecars across hosts and the
intentions. Stacks of their own (`real-mesh-sandbox`, `real-mesh`) on a subnet of their own. One deployment
serves the module: the client's report on moe comes through the mesh from the workers on larry and curly;
previews right after `up` propose nothing, plain or refreshed; an intention removed behind Pulumi's back stops
the client's calls and `up --refresh` makes it again, with no container restarted on any host; a worker
restarted in place answers through its sidecar again within seconds; destroy, the cluster first."""
from __future__ import annotations

import time

import pytest

from tests.harness.local_images import BASE_IMAGE, CONSUL_IMAGE

from .cluster_support import build_sandbox_images, sweep
from .real_pulumi import RealProject, skip_without_toolchain
from .support import PHASES, wait_for
from .test_cluster_mesh import APP, INTENTIONS, SIDECAR_PORTS, WITHIN_SECONDS, WORKERS, app_reply, consul_call, leaf_call, started
from .real_sandbox import RealCluster, RealSandbox, previews_proposing_nothing

pytestmark = pytest.mark.docker

SANDBOX_STACK = "real-mesh-sandbox"
CLUSTER_STACK = "real-mesh"
# Apart from the other sandboxes' 10.78.43-47.0/24 and dev's 172.29.0.0/24.
SANDBOX_SUBNET = "10.78.48.0/24"
PASSPHRASE = "real-mesh"


@pytest.fixture(scope="module")
def stacks(engine) -> tuple[RealSandbox, RealCluster]:
    skip_without_toolchain()
    sweep(engine, f"{SANDBOX_STACK}-")
    build_sandbox_images(engine)
    project = RealProject(SANDBOX_STACK, passphrase=PASSPHRASE)
    sandbox = RealSandbox(engine, project, subnet=SANDBOX_SUBNET)
    cluster: RealCluster | None = None
    try:
        sandbox.init()
        sandbox.apply("real: mesh sandbox up (larry, curly, moe and a registry)")
        sandbox.seed_registry([BASE_IMAGE, CONSUL_IMAGE])
        cluster = RealCluster(sandbox, project.sibling(CLUSTER_STACK))
        cluster.init()
        cluster.configure(consulMesh=None)  # `pulumi config rm consulMesh`: the cluster's default, on
        cluster.apply("real: cluster up in the mesh (builds our images on larry)")
        yield sandbox, cluster
    finally:
        try:
            if cluster is not None and cluster.deployed:
                cluster.run("destroy", "--yes", "--skip-preview", label="real: destroy mesh cluster (teardown)", check=False)
            if sandbox.deployed:
                sandbox.run("destroy", "--yes", "--skip-preview", label="real: destroy mesh sandbox (teardown)", check=False)
        finally:
            sweep(engine, f"{SANDBOX_STACK}-")
            sandbox.close()
            project.close()


def test_the_clients_report_on_moe_comes_through_the_mesh_from_larry_and_curly(stacks) -> None:
    sandbox, cluster = stacks
    reply = app_reply(cluster)
    assert reply["message"].startswith("Hello from Consul KV from server"), reply
    proxies = cluster.consul("moe", f"/v1/health/connect/{APP}", passing="true")
    found = sorted((entry["Service"]["Address"] or entry["Node"]["Address"], entry["Service"]["Port"]) for entry in proxies)
    assert found == sorted((sandbox.address(host), port) for host in WORKERS for port in SIDECAR_PORTS)


def test_right_after_up_previews_propose_nothing_plain_or_refreshed(stacks) -> None:
    _, cluster = stacks
    previews_proposing_nothing(
        (cluster, False, "real: mesh cluster preview --expect-no-changes"),
        (cluster, True, "real: mesh cluster preview --refresh --expect-no-changes"),
    )


def test_a_removed_intention_stops_the_calls_and_up_refresh_brings_it_back(stacks) -> None:
    _, cluster = stacks
    before = started(cluster)
    consul_call(cluster, "DELETE", f"{INTENTIONS}/{APP}")
    removed = time.monotonic()
    wait_for("the client's call refused", lambda: "error" in app_reply(cluster), timeout=WITHIN_SECONDS, interval=0.2)
    PHASES.append(("  real: intention removed -> call on moe refused", time.monotonic() - removed))
    up = cluster.run("up", "--yes", "--skip-preview", "--refresh", label="real: mesh cluster up --refresh (intention restored)")
    assert "+ 1 created" in up.stdout and f"mesh-{APP}" in up.stdout, up.stdout[-3000:]
    wait_for("the client's call through again", lambda: "message" in app_reply(cluster), timeout=WITHIN_SECONDS, interval=0.2)
    assert started(cluster) == before


def test_a_worker_restarted_in_place_answers_through_its_sidecar_again(stacks) -> None:
    sandbox, cluster = stacks
    sandbox.docker("larry").containers.get(f"{CLUSTER_STACK}-server1").restart(timeout=10)
    restarted = time.monotonic()

    def answers() -> bool:
        _, answer = leaf_call(cluster, sandbox, "larry", SIDECAR_PORTS[0])
        return b"200" in answer.split(b"\r\n")[0]

    wait_for("server1 on larry answering through its sidecar again", answers, timeout=WITHIN_SECONDS, interval=0.2)
    PHASES.append(("  real: worker restarted in place -> answering through its sidecar", time.monotonic() - restarted))
    previews_proposing_nothing((cluster, True, "real: mesh cluster preview --refresh after the worker's restart"))
