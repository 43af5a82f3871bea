"""docs/sandbox.md's sandbox and cluster grown to five hosts as its "More hosts" shows, through the real Pulumi
CLI and providers (see real_pulumi.py): three Consul servers, client agents on shemp and joe.

The three-host sandbox and cluster are the ones test_sandbox_cluster_real_pulumi.py ran on (the session's,
tests/e2e/real_sandbox.py). As the doc's reader does, the doc's own yaml goes under `config:` in the project's
`Pulumi.sandbox.yaml`, then its block runs as pasted, each command checked against its comment:
`pulumi up --stack sandbox` adds shemp at 10.77.0.14 and joe at .15 and leaves larry's, curly's and moe's
containers as they were (`+ 6 created`, nothing else); `pulumi up --stack sandbox-cluster` puts client agents on
shemp and joe, workers on larry and shemp, the client on joe; joe's DNS answers for shemp and with the four
workers. Then the chapter's checks on every host, previews proposing nothing, larry killed whole and back with
no `pulumi up`, and the doc's tear-down, the cluster first, leaving nothing.
"""
from __future__ import annotations

import time

import pytest

from .agents_support import CLIENT_AGENTS, HOSTS, ROLES, SERVERS, endpoints, every_node_resolves, passing, srv
from .cluster_support import SANDBOX_STACK, leftovers
from .cluster_support import HOSTS as FIRST_HOSTS
from .doc_runner import prints_nothing_to_check, run_documented
from .real_sandbox import RealCluster, RealSandbox, previews_proposing_nothing
from .sandbox_doc import (
    CLUSTER_GROW,
    DOC,
    GROWN_CHECKS,
    RUNNER,
    SANDBOX_GROW,
    TEAR_DOWN,
    add_under_config,
    cluster_grown,
    host_containers,
    more_hosts_settings,
    sandbox_grown,
)
from .support import PHASES, phase, wait_for

pytestmark = pytest.mark.docker

NOTHING = {"services": [], "containers": [], "networks": [], "volumes": []}


@pytest.fixture(scope="module")
def stacks(real_doc_stacks: tuple[RealSandbox, RealCluster]) -> tuple[RealSandbox, RealCluster]:
    """docs/sandbox.md's "More hosts", as its reader follows it on the three-host sandbox and cluster."""
    sandbox, cluster = real_doc_stacks
    shell = sandbox.doc_shell
    add_under_config(shell.cwd / f"Pulumi.{SANDBOX_STACK}.yaml", more_hosts_settings())
    before = host_containers(sandbox, FIRST_HOSTS)
    with phase("real: docs/sandbox.md's pulumi up --stack sandbox: shemp and joe added"):
        run_documented(DOC, RUNNER, {SANDBOX_GROW: sandbox_grown(sandbox, shell, before)}, shell)
    sandbox.read_outputs()
    sandbox.config.update(sandboxHosts=list(HOSTS), sandboxRoles=ROLES)  # what the stack file now says
    with phase("real: docs/sandbox.md's pulumi up --stack sandbox-cluster: client agents on shemp and joe"):
        run_documented(DOC, RUNNER, {CLUSTER_GROW: cluster_grown(sandbox, shell)}, shell)
    cluster.read_outputs()
    return sandbox, cluster


def test_joes_dns_answers_for_shemp_and_with_the_workers_on_larry_and_shemp_as_pasted(stacks) -> None:
    sandbox, _ = stacks
    run_documented(DOC, RUNNER, GROWN_CHECKS, sandbox.doc_shell)


def test_every_host_answers_for_every_node_and_every_worker_and_the_client_reports_them(stacks) -> None:
    sandbox, cluster = stacks
    assert (cluster.outputs["consulNodes"], cluster.outputs["consulClientAgents"]) == (list(SERVERS), list(CLIENT_AGENTS))
    members = {m["Name"]: (m["Tags"]["role"], m["Status"]) for m in cluster.consul("joe", "/v1/agent/members")}
    assert members == {**{h: ("consul", 1) for h in SERVERS}, **{h: ("node", 1) for h in CLIENT_AGENTS}}
    assert every_node_resolves(cluster, sandbox, asking=HOSTS)
    for host in HOSTS:
        assert srv(cluster, host) == endpoints(sandbox), host
    assert {node for node, _, _ in passing(cluster, "joe")} == {"larry", "shemp"}
    report = cluster.client_report("joe")
    assert sorted((i["address"], i["port"]) for i in report["http"]) == endpoints(sandbox)
    assert sorted(i["node"] for i in report["http"]) == ["larry", "larry", "shemp", "shemp"]


def test_previews_of_both_stacks_right_after_the_growth_propose_nothing(stacks) -> None:
    sandbox, cluster = stacks
    previews_proposing_nothing(
        (sandbox, False, "real: grown sandbox preview --expect-no-changes"),
        (cluster, False, "real: grown cluster preview --expect-no-changes"),
        (sandbox, True, "real: grown sandbox preview --refresh --expect-no-changes"),
        (cluster, True, "real: grown cluster preview --refresh --expect-no-changes"),
    )


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


def test_destroy_the_cluster_first_then_the_sandbox_leaves_nothing(stacks, engine) -> None:
    """docs/sandbox.md's tear-down, as pasted (each destroy answered yes)."""
    sandbox, cluster = stacks
    cluster_destroy, sandbox_destroy = TEAR_DOWN
    with phase("real: destroy cluster (docs/sandbox.md)"):
        run_documented(DOC, RUNNER, {cluster_destroy: prints_nothing_to_check}, sandbox.doc_shell)
    cluster.deployed = False
    for host in HOSTS:
        nested = sandbox.docker(host)
        assert nested.info()["Swarm"]["LocalNodeState"] == "inactive", host
        assert nested.api.containers(all=True) == [], host
        assert (nested.api.volumes().get("Volumes") or []) == [], host
    with phase("real: destroy sandbox (docs/sandbox.md)"):
        run_documented(DOC, RUNNER, {sandbox_destroy: prints_nothing_to_check}, sandbox.doc_shell)
    sandbox.deployed = False
    assert leftovers(engine, f"{SANDBOX_STACK}-") == NOTHING
