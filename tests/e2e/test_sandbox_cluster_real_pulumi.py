"""docs/sandbox.md's sandbox stack and a cluster stack on it through the real Pulumi CLI and providers
(see real_pulumi.py), as the doc's blocks make them (tests/e2e/real_sandbox.py; the session's, from
tests/e2e/conftest.py): larry, curly and moe. Its checks as pasted; then, on that one deployment (tests run
in file order): previews right after `up` propose nothing, plain or refreshed; more heyworld replicas are one
in-place update; one host and then all three rebooted come back by themselves (each check timed) and a
refreshed preview of both stacks proposes nothing; a host lost before a deploy fails the preview at once and
`up` naming it, and `up --refresh` converges once it is back; a host lost while `up` rolls a new Consul image
through the servers fails that `up` naming it, and `make up` finishes the roll once it is back.
test_sandbox_cluster_with_more_hosts_real_pulumi.py, next, grows them to five hosts as the doc does and tears
them down.
"""
from __future__ import annotations

import ipaddress
import subprocess
import time

import pytest

from components.consul_cluster import server_container_name
from tests.harness.local_images import CONSUL_IMAGE

from .cluster_support import CLUSTER_STACK, HOSTS, SANDBOX_STACK, SANDBOX_SUBNET, recovery_checks, stack_reference
from .engine_restart import time_recovery
from .kill_support import make, up_with_a_fault
from .doc_runner import run_documented
from .real_sandbox import RealCluster, RealSandbox, previews_proposing_nothing
from .sandbox_doc import CHECKS, DOC, RUNNER
from .support import PHASES, STATE_DIR, phase, rolled, wait_for

pytestmark = pytest.mark.docker

CONTAINER = "docker:index/container:Container"
SERVICE = "docker:index/service:Service"
WORKERS = ("larry", "curly")
PREVIEW_BUDGET_SECONDS = 30
ROLLED_CONSUL = "orchestration-e2e/consul:rolled"
KEPT_KEY = "real/kept-through-the-lost-host"


@pytest.fixture(scope="module")
def stacks(real_doc_stacks: tuple[RealSandbox, RealCluster]) -> tuple[RealSandbox, RealCluster]:
    """docs/sandbox.md's sandbox and cluster (tests/e2e/conftest.py), which
    test_sandbox_cluster_with_more_hosts_real_pulumi.py grows and tears down."""
    return real_doc_stacks


def test_the_cluster_takes_its_hosts_from_the_sandbox_and_its_images_from_the_registry(stacks) -> None:
    sandbox, cluster = stacks
    network = ipaddress.ip_network(SANDBOX_SUBNET)
    assert sandbox.registry == f"{network[10]}:5000"
    assert [sandbox.address(host) for host in HOSTS] == [str(network[11 + index]) for index in range(len(HOSTS))]
    assert cluster.config["hostsFromStack"] == stack_reference(SANDBOX_STACK) == "organization/orchestration/sandbox"
    assert cluster.outputs["hosts"] == list(HOSTS)
    assert cluster.outputs["clientContainers"] == {"moe": f"{CLUSTER_STACK}-client"}
    for app, reference in cluster.outputs["images"].items():
        assert reference.startswith(f"{sandbox.registry}/orchestration/{app}@sha256:"), reference
    for host in HOSTS:
        assert sandbox.docker(host).info()["Name"] == host
    assert cluster.alive_servers("larry") == sorted(HOSTS)


def test_the_checks_docs_sandbox_md_gives_pass_as_pasted(stacks) -> None:
    sandbox, _ = stacks
    run_documented(DOC, RUNNER, CHECKS, sandbox.doc_shell)


def test_right_after_up_previews_of_both_stacks_propose_nothing_plain_or_refreshed(stacks) -> None:
    """Plain: the swarm services ignore `taskSpec.placement.platforms`, which only the provider's create
    sets (from the registry). Refreshed: the hosts declare CAP_SYS_RESOURCE, the networks their gateway."""
    sandbox, cluster = stacks
    previews_proposing_nothing(
        (sandbox, False, "real: sandbox preview --expect-no-changes"),
        (cluster, False, "real: cluster preview --expect-no-changes"),
        (sandbox, True, "real: sandbox preview --refresh --expect-no-changes"),
        (cluster, True, "real: cluster preview --refresh --expect-no-changes"),
    )


def test_more_heyworld_replicas_are_one_in_place_update(stacks) -> None:
    sandbox, cluster = stacks
    service = f"{CLUSTER_STACK}-heyworld"
    before = cluster.manager.services.get(service).id
    cluster.configure(heyworldReplicas=3)
    with phase("real: cluster preview heyworldReplicas 2 -> 3"):
        proposed = cluster.project.preview_changes("real: cluster preview heyworldReplicas 2 -> 3")
    assert proposed == [("update", SERVICE, "heyworld-service")]
    cluster.apply("real: cluster up heyworldReplicas 3")
    assert cluster.manager.services.get(service).id == before
    wait_for("heyworld runs 3 tasks", lambda: sum(cluster.running_tasks_by_node(service).values()) == 3, timeout=90)


@pytest.mark.parametrize("restarted", [("curly",), HOSTS], ids=["one-host", "all-hosts"])
def test_rebooted_hosts_come_back_by_themselves_and_refreshed_previews_propose_nothing(stacks, engine, restarted) -> None:
    """Each chapter check timed from the hosts' start until it passes again, nothing done in between;
    then a refreshed preview of both stacks, the README's way of finding drift, finds none."""
    sandbox, cluster = stacks
    replicas = int(cluster.config.get("heyworldReplicas", 2))
    cluster.kv_put("larry", "real-reboot/before", "written before the reboot")
    hosts = [engine.containers.get(sandbox.host_container(host)) for host in restarted]
    with phase(f"real: reboot of {', '.join(restarted)}: host containers stopped, then started"):
        for host in hosts:
            host.stop(timeout=30)
        for host in hosts:
            host.start()
    time_recovery(recovery_checks(cluster, replicas, "real-reboot/before", "written before the reboot"), since=time.monotonic())
    previews_proposing_nothing(
        (sandbox, True, f"real: sandbox preview --refresh --expect-no-changes after the reboot of {', '.join(restarted)}"),
        (cluster, True, f"real: cluster preview --refresh --expect-no-changes after the reboot of {', '.join(restarted)}"),
    )


def test_a_host_lost_mid_deploy_fails_naming_it_and_up_refresh_converges_once_it_is_back(stacks, engine) -> None:
    """curly's host stopped: the preview refuses at once, naming it (the program's reachability check,
    which only a preview runs). `up --skip-preview` of a change to every worker fails too: pulumi-docker's
    native half connects to its engine when the engine configures curly's provider, so `up` stops there,
    naming `curly-engine`, before any worker changes (the harness does the same: test_cluster_stack). Once curly is back, `up --refresh` converges and the
    next preview proposes nothing. Each CLI output is kept under STATE_DIR/real-sandbox-cluster."""
    sandbox, cluster = stacks
    curly = engine.containers.get(sandbox.host_container("curly"))
    address = sandbox.address("curly")
    limit = 192 * 2**20
    curly.stop(timeout=30)
    try:
        started = time.monotonic()
        preview = _kept(cluster.run("preview", label="real: cluster preview, curly down", check=False), "preview-curly-down")
        preview_seconds = time.monotonic() - started
        cluster.configure(containerResources={"workers": {"memoryLimitMb": 192}})
        up = _kept(
            cluster.run("up", "--yes", "--skip-preview", label="real: cluster up workers memoryLimitMb 192, curly down", check=False),
            "up-curly-down",
        )
    finally:
        curly.start()
    assert preview.returncode != 0, preview.stdout
    assert "cannot reach these Docker engines, so nothing can be planned on them:" in preview.stdout, preview.stdout
    assert f"curly (tcp://{address}:2375): " in preview.stdout, preview.stdout
    assert "larry (" not in preview.stdout and "moe (" not in preview.stdout, preview.stdout
    assert "Traceback" not in preview.stdout + preview.stderr
    assert preview_seconds < PREVIEW_BUDGET_SECONDS, preview_seconds
    assert up.returncode != 0, up.stdout
    failure = up.stdout + up.stderr
    assert "pulumi:providers:docker (curly-engine)" in failure, failure[-6000:]
    assert "failed to connect to any docker daemon" in failure, failure[-6000:]
    larry_done = [_memory(sandbox, "larry", n) == limit for n in (1, 2)]
    PHASES.append((f"  real: larry's workers limited by the failed up: {larry_done}", 0.0))
    PHASES.append((f"  real: the failed up's output holds the program's Python traceback: {'Traceback' in failure}", 0.0))

    wait_for("curly's engine answers again", lambda: sandbox.docker("curly").ping(), timeout=120)
    with phase("real: cluster preview once curly is back"):
        plain = cluster.project.preview_changes("real: cluster preview once curly is back")
    with phase("real: cluster preview --refresh once curly is back"):
        refreshed = cluster.project.preview_changes("real: cluster preview --refresh once curly is back", "--refresh")
    PHASES.append((f"  real: plain preview proposes {plain}", 0.0))
    PHASES.append((f"  real: refreshed preview proposes {refreshed}", 0.0))
    cluster.apply("real: cluster up --refresh once curly is back", refresh=True)
    previews_proposing_nothing((cluster, False, "real: cluster preview --expect-no-changes after it converged"))
    for host in WORKERS:
        for n in (1, 2):
            assert _memory(sandbox, host, n) == limit, (host, n)
    # Nothing was changed nor stored by the failed `up`: a plain `up` would converge as well.
    every_worker = sorted(("update", CONTAINER, f"app-{host}-server{n}") for host in WORKERS for n in (1, 2))
    assert larry_done == [False, False]
    assert plain == refreshed == every_worker, (plain, refreshed)


def test_a_host_lost_while_up_rolls_consul_fails_naming_it_and_make_up_converges_once_it_is_back(stacks, engine) -> None:
    """A new Consul image rolls through the servers one at a time (larry, curly, moe); curly's host stops
    (`docker stop`, as a shutdown does) the moment curly's server starts to be replaced. That `up` fails
    naming curly's server and changes nothing after it. Once curly is back, `make up` (which reads the
    stack again after a failed update: scripts/recover) finishes the roll: every server on the new image,
    a leader, a key written before the roll still there, and a preview proposing nothing."""
    sandbox, cluster = stacks
    rolled(CONSUL_IMAGE, ROLLED_CONSUL)
    sandbox.seed_registry([ROLLED_CONSUL])
    cluster.kv_put("larry", KEPT_KEY, "before the roll")
    curly = engine.containers.get(sandbox.host_container("curly"))
    cluster.configure(consulImage=sandbox.registry_images[ROLLED_CONSUL])
    try:
        returncode, printed = up_with_a_fault(
            cluster.project, r"consul-curly-agent (deleting original|creating replacement)", lambda: curly.stop(timeout=30)
        )
        _kept(subprocess.CompletedProcess([], returncode, printed, ""), "up-curly-lost-mid-roll")
    finally:
        curly.reload()
        if curly.status != "running":
            curly.start()
    assert returncode != 0, printed[-6000:]
    failures = printed[printed.find("Diagnostics:"):]
    assert "consul-curly-agent" in failures, printed[-6000:]
    assert "consul-moe-agent" not in failures and "consul-moe-agent creating replacement" not in printed, printed[-6000:]

    wait_for("curly's engine answers again", lambda: sandbox.docker("curly").ping(), timeout=120)
    with phase("real: make up once curly is back"):
        converged = make(cluster.project, "up")
    assert "recover: the last update failed: read the whole stack again" in converged.stdout, converged.stdout[-4000:]
    previews_proposing_nothing((cluster, False, "real: cluster preview after the roll converged"), (cluster, True, "real: refreshed preview after the roll"))
    rolled_id = sandbox.docker("larry").images.get(sandbox.registry_images[ROLLED_CONSUL]).id
    for host in HOSTS:
        server = sandbox.docker(host).containers.get(server_container_name(CLUSTER_STACK, host))
        assert server.image.id == rolled_id, (host, server.image.tags)
    assert wait_for("three servers alive", lambda: len(cluster.alive_servers("moe")) == 3 or None, timeout=60)
    assert cluster.kv_get("moe", KEPT_KEY) == "before the roll"


def _memory(sandbox: RealSandbox, host: str, n: int) -> int:
    """Worker server<n>'s memory limit on `host`, as `docker inspect` shows it."""
    return sandbox.docker(host).api.inspect_container(f"{CLUSTER_STACK}-server{n}")["HostConfig"]["Memory"]


def _kept(completed: subprocess.CompletedProcess, name: str) -> subprocess.CompletedProcess:
    """Keeps a CLI output for whoever reads the run afterwards."""
    folder = STATE_DIR / "real-sandbox-cluster"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.log").write_text(f"exit {completed.returncode}\n--- stdout\n{completed.stdout}\n--- stderr\n{completed.stderr}")
    return completed
