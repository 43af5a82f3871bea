"""docs/sandbox.md's sandbox and cluster grown to five hosts as the doc's "More hosts" shows, through the apply
harness: three Consul servers and two client agents, then the faults a cluster of client agents must ride out.

The three-host sandbox and cluster are the ones test_cluster_stack.py ran on (the session's, from
tests/e2e/conftest.py, made by the doc's commands). As the doc's reader does, the doc's own yaml goes under
`config:` in `Pulumi.sandbox.yaml` (of the project the doc's `pulumi` runs in), then its block runs as pasted,
each command checked against its comment: `pulumi up --stack sandbox` adds shemp at 10.77.0.14 and joe at .15
and leaves larry's, curly's and moe's containers as they were; `pulumi up --stack sandbox-cluster` puts client
agents on shemp and joe, workers on larry and shemp, the client on joe; joe's DNS answers for shemp and
with the four workers. Every container registers with and asks its own host's agent. Then, with no
`pulumi up` between: the chapter's checks on every host; larry's whole host killed and started again, then
shemp's stopped and started; an `up` changing nothing; a Consul image change rolling every agent, one host at a
time, a worker always in DNS; and the doc's tear-down, the cluster first, leaving nothing.
"""
from __future__ import annotations

import io
import json
import tarfile
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from components.consul_server import TOKEN_FILE
from components.consul_tls import WORKLOAD_CA_FILE
from components.distributed_app import CONTAINER_PORT, SERVICE_NAME
from stacks import names
from tests.harness.cli import BACKEND, Backend, set_machine
from tests.harness.local_images import CONSUL_IMAGE

from .agents_support import (
    CLIENT_AGENTS,
    EXTRA_PORT,
    HOSTS,
    ROLES,
    SERVERS,
    WORKER_HOSTS,
    WORKER_PORTS,
    endpoints,
    every_node_resolves,
    passing,
    srv,
)
from .cluster_support import CLUSTER_STACK, SANDBOX_STACK, Cluster, Sandbox, leftovers
from .cluster_support import HOSTS as FIRST_HOSTS
from .doc_runner import Shell, prints_nothing_to_check, run_documented
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
from .support import PHASES, STATE_DIR, phase, wait_for

pytestmark = pytest.mark.docker

CONTAINER = "docker:index/container:Container"
NOTHING = {"services": [], "containers": [], "networks": [], "volumes": []}


@pytest.fixture(scope="module")
def sandbox(doc_sandbox: Sandbox, cluster: Cluster) -> Sandbox:
    """docs/sandbox.md's sandbox, grown to five hosts (by `cluster`)."""
    return doc_sandbox


@pytest.fixture(scope="module")
def cluster(doc_sandbox: Sandbox, doc_cluster: Cluster, doc_shell: Shell, engine) -> Cluster:
    """docs/sandbox.md's "More hosts", as its reader follows it on the three-host sandbox and cluster."""
    sandbox, cluster = doc_sandbox, doc_cluster
    backend = Backend(Path(doc_shell.environment[BACKEND]), STATE_DIR)
    # What test_cluster_stack.py applied that the stack keeps: memory limits, which pulumi-docker cannot lift
    # (its update sends 0, which Docker reads as "unchanged", so every later `up` would propose it again).
    kept = {key: cluster.config[key] for key in ("containerResources",) if key in cluster.config}
    set_machine(backend.folder, CLUSTER_STACK, {**backend.machine(CLUSTER_STACK), **kept})
    add_under_config(doc_shell.cwd / f"Pulumi.{SANDBOX_STACK}.yaml", more_hosts_settings())
    before = host_containers(sandbox, FIRST_HOSTS)
    with phase("docs/sandbox.md's pulumi up --stack sandbox: shemp and joe added"):
        run_documented(DOC, RUNNER, {SANDBOX_GROW: sandbox_grown(sandbox, doc_shell, before)}, doc_shell)
    sandbox.adopt(json.loads(doc_shell.run(f"pulumi stack output --stack {SANDBOX_STACK} --json --show-secrets")))
    sandbox.config.update(sandboxHosts=list(HOSTS), sandboxRoles=ROLES)
    with phase("docs/sandbox.md's pulumi up --stack sandbox-cluster: client agents on shemp and joe"):
        run_documented(DOC, RUNNER, {CLUSTER_GROW: cluster_grown(sandbox, doc_shell)}, doc_shell)
    cluster.adopt(json.loads(doc_shell.run(f"pulumi stack output --stack {CLUSTER_STACK} --json --show-secrets")))
    # Whatever else test_cluster_stack.py applied, the stack is now what the doc's commands configured.
    cluster.config = {**backend.machine(CLUSTER_STACK), **backend.config(CLUSTER_STACK)}
    return cluster


def test_joes_dns_answers_for_shemp_and_with_the_workers_on_larry_and_shemp_as_pasted(cluster: Cluster, doc_shell: Shell) -> None:
    run_documented(DOC, RUNNER, GROWN_CHECKS, doc_shell)


def start_worker_by_hand(cluster: Cluster, sandbox: Sandbox, host: str, token: str) -> None:
    """`docker run` of one more worker on `host`, as a user would start one, with the workers' token:
    registered with that host's agent."""
    engine = sandbox.docker(host)
    image = cluster.outputs["images"]["distributed_app"]
    engine.images.pull(image)
    address = sandbox.address(host)
    container = engine.containers.create(
        image,
        name=f"{CLUSTER_STACK}-by-hand",
        environment={
            "CONSUL_HTTP_ADDR": f"https://{address}:8501",
            "CONSUL_HTTP_TOKEN": token,
            "CONSUL_CACERT": WORKLOAD_CA_FILE,
            "SERVICE_NAME": SERVICE_NAME,
            "SERVICE_ID": f"by-hand-{host}",
            "PORT": str(CONTAINER_PORT),
            "SERVICE_ADDRESS": address,
            "SERVICE_PORT": str(EXTRA_PORT),
            "CHECK_INTERVAL": "1s",
        },
        ports={f"{CONTAINER_PORT}/tcp": (address, EXTRA_PORT)},
        network=names.network(CLUSTER_STACK),
        dns=[address],
    )
    container.put_archive("/", _tar(WORKLOAD_CA_FILE.lstrip("/"), cluster.outputs["consulCaCert"]))
    container.start()


def remove_workers_by_hand(sandbox: Sandbox, hosts: tuple[str, ...]) -> None:
    for host in hosts:
        container = sandbox.docker(host).containers.get(f"{CLUSTER_STACK}-by-hand")
        container.stop(timeout=15)  # SIGTERM: the worker deregisters itself
        container.remove()


def test_every_host_resolves_every_node_and_the_client_agents_joined(cluster: Cluster, sandbox: Sandbox) -> None:
    assert cluster.outputs["consulNodes"] == list(SERVERS)
    assert cluster.outputs["consulClientAgents"] == list(CLIENT_AGENTS)
    members = {m["Name"]: (m["Tags"]["role"], m["Status"]) for m in cluster.consul("joe", "/v1/agent/members")}
    assert members == {**{h: ("consul", 1) for h in SERVERS}, **{h: ("node", 1) for h in CLIENT_AGENTS}}
    # No waiting: `up` returned once every agent was in the catalog.
    assert every_node_resolves(cluster, sandbox, asking=HOSTS)
    for host in HOSTS:
        assert cluster.resolve(host, 53, "consul.service.consul") == sorted(sandbox.address(server) for server in SERVERS), host


def test_each_worker_belongs_to_its_own_hosts_node_and_every_host_answers_with_all(cluster: Cluster, sandbox: Sandbox) -> None:
    expected = [(host, sandbox.address(host), port) for host in WORKER_HOSTS for port in WORKER_PORTS]
    for host in HOSTS:
        assert passing(cluster, host) == sorted(expected), host
        assert srv(cluster, host) == endpoints(sandbox), host
    # Each client agent's own view: it runs the checks of what registered with it, and nothing else.
    local = cluster.consul("shemp", "/v1/agent/checks")
    assert sorted(check["ServiceID"] for check in local.values()) == ["server1", "server2"]
    assert cluster.consul("joe", "/v1/agent/checks") == {}


def test_the_client_on_joe_reports_every_worker_through_joes_agent(cluster: Cluster, sandbox: Sandbox) -> None:
    report = cluster.client_report("joe")
    assert report["consul"] == f"https://{sandbox.address('joe')}:8501"
    assert sorted((i["address"], i["port"]) for i in report["http"]) == endpoints(sandbox)
    assert sorted(i["node"] for i in report["http"]) == ["larry", "larry", "shemp", "shemp"]
    assert sorted((r["address"], r["port"]) for r in report["dns_srv"]) == endpoints(sandbox)
    assert report["kv"] == {"greeting": "Hello from Consul KV", "workers": "4"}


def test_a_client_agents_token_is_its_node_identity_and_no_secret_is_in_the_state(cluster: Cluster, sandbox: Sandbox) -> None:
    agent = sandbox.docker("shemp").containers.get(f"{CLUSTER_STACK}-shemp")
    token = agent.exec_run(["cat", TOKEN_FILE]).output.decode().strip()
    own = _get_with_token(cluster, "larry", "/v1/acl/token/self", token)
    assert own["NodeIdentities"] == [{"NodeName": "shemp", "Datacenter": "dc1"}] and not own.get("Policies")
    # Least privilege: it may not write the KV or register another node.
    assert _put_with_token(cluster, "larry", f"/v1/kv/distributed_app/{CLUSTER_STACK}/greeting", token, "x") == 403
    assert cluster.harness.plaintext_exposures([token]) == []


def test_larry_killed_whole_the_others_resolve_and_register_and_larrys_workers_leave_then_all_come_back(
    cluster: Cluster, sandbox: Sandbox, engine
) -> None:
    others = tuple(host for host in HOSTS if host != "larry")
    larry = engine.containers.get(sandbox.host_container("larry"))
    token = _env(sandbox.docker("shemp").containers.get(f"{CLUSTER_STACK}-server1"))["CONSUL_HTTP_TOKEN"]
    with phase("fault: larry's host killed (a Consul server and two workers), as a power cut takes it"):
        # Killed, not stopped: its workers cannot deregister themselves, so only Consul's failure detection takes them out.
        larry.kill()
        stopped = time.monotonic()
        try:
            gone = wait_for(
                "larry's workers out of the passing set, seen from curly",
                lambda: [w for w in passing(cluster, "curly") if w[0] == "larry"] == [] and time.monotonic() - stopped,
                timeout=60,
                interval=0.2,
            )
            # Each server's DNS answers from its own copy (stale reads, Consul's default): one that was behind
            # the new leader when larry went catches up moments later.
            answered = wait_for(
                "larry's workers out of every other host's DNS",
                lambda: all(srv(cluster, host) == endpoints(sandbox, ("shemp",)) for host in others) and time.monotonic() - stopped,
                timeout=60,
                interval=0.2,
            )
            PHASES.append((f"  larry's workers left the passing set {gone:.1f}s, every other host's DNS {answered:.1f}s after its host stopped", 0.0))
            # Serf marks the node failed within a few probe rounds; the workers' own check interval is 1 s.
            assert answered < 20, (gone, answered)
            assert every_node_resolves(cluster, sandbox, asking=others, nodes=others)
            # A worker started by hand on every other host registers with that host's agent and is found everywhere.
            for host in others:
                start_worker_by_hand(cluster, sandbox, host, token)
            with_extras = sorted(endpoints(sandbox, ("shemp",)) + [(sandbox.address(host), EXTRA_PORT) for host in others])
            wait_for("the new workers in DNS on every other host", lambda: all(srv(cluster, host) == with_extras for host in others), timeout=60)
            assert {entry[0] for entry in passing(cluster, "joe") if entry[2] == EXTRA_PORT} == set(others)
            report = cluster.client_report("joe")
            assert sorted((i["address"], i["port"]) for i in report["http"]) == with_extras
        finally:
            larry.start()
    with phase("fault: larry's host started again, no pulumi up"):
        everything = sorted(endpoints(sandbox) + [(sandbox.address(host), EXTRA_PORT) for host in others])
        wait_for("every worker on every host's DNS again", lambda: all(srv(cluster, host) == everything for host in HOSTS), timeout=180)
        assert every_node_resolves(cluster, sandbox, asking=HOSTS)
        remove_workers_by_hand(sandbox, others)
        wait_for("as before: the four workers on every host", lambda: all(srv(cluster, host) == endpoints(sandbox) for host in HOSTS), timeout=60)
        members = cluster.consul("moe", "/v1/agent/members")
        assert sorted(m["Name"] for m in members if m["Status"] == 1) == sorted(HOSTS)


def test_shemp_shut_down_whole_only_its_own_workers_go(cluster: Cluster, sandbox: Sandbox, engine) -> None:
    others = tuple(host for host in HOSTS if host != "shemp")
    shemp = engine.containers.get(sandbox.host_container("shemp"))
    with phase("fault: shemp's host shut down (a client agent and two workers): its agent leaves"):
        shemp.stop(timeout=30)
        try:
            wait_for(
                "only larry's workers on every other host",
                lambda: all(srv(cluster, host) == endpoints(sandbox, ("larry",)) for host in others),
                timeout=60,
                interval=0.2,
            )
            assert every_node_resolves(cluster, sandbox, asking=others, nodes=others)
            report = cluster.client_report("joe")
            assert sorted((i["address"], i["port"]) for i in report["http"]) == endpoints(sandbox, ("larry",))
        finally:
            shemp.start()
    with phase("fault: shemp's host started again, no pulumi up"):
        wait_for("every worker on every host's DNS again", lambda: all(srv(cluster, host) == endpoints(sandbox) for host in HOSTS), timeout=180)


def test_after_the_faults_up_changes_nothing(cluster: Cluster) -> None:
    cluster.apply("cluster apply after the faults (no change)")
    assert cluster.changes() == []


def test_a_consul_image_change_rolls_one_host_at_a_time_and_a_worker_is_always_in_dns(
    cluster: Cluster, sandbox: Sandbox, engine
) -> None:
    variant = "orchestration-e2e/consul:agents-v2"
    with phase("a Consul image of its own content: the stand-in with one more label"):
        engine.images.build(fileobj=io.BytesIO(f"FROM {CONSUL_IMAGE}\nLABEL orchestration.e2e.consul=v2\n".encode()), tag=variant, rm=True)
    sandbox.seed_registry([variant])
    sampler = _DnsSampler(cluster, HOSTS)
    with sampler:
        cluster.apply("cluster apply: a new Consul image", consulImage=sandbox.registry_images[variant])
    replaced = sorted(
        (o for o in cluster.harness.last_run.operations if o.type == CONTAINER and o.name.startswith("consul-")), key=lambda o: o.started
    )
    # The servers in turn, then the client agents in turn: each replacement (delete, create, healthy) done before the next begins.
    assert [(o.op, o.name) for o in replaced] == [("replace", f"consul-{host}-agent") for host in HOSTS], replaced
    for before, after in zip(replaced, replaced[1:]):
        assert before.started + before.seconds <= after.started, (before, after)
    PHASES.append((f"  image change: {sampler.samples} DNS rounds, {len(sampler.empty)} with no worker on any host", 0.0))
    assert sampler.samples > 10 and sampler.empty == [], sampler.empty
    # Each client agent's workers were back and passing before the next host: they are now, without a restart.
    for host in HOSTS:
        assert srv(cluster, host) == endpoints(sandbox), host
    for host in WORKER_HOSTS:
        for worker in ("server1", "server2"):
            assert sandbox.docker(host).containers.get(f"{CLUSTER_STACK}-{worker}").attrs["RestartCount"] == 0


def test_destroy_leaves_nothing_on_the_hosts_then_nothing_of_the_sandbox(cluster: Cluster, sandbox: Sandbox, engine, doc_shell: Shell) -> None:
    """docs/sandbox.md's tear-down, as pasted: the cluster first, then the sandbox."""
    cluster_destroy, sandbox_destroy = TEAR_DOWN
    run_documented(DOC, RUNNER, {cluster_destroy: prints_nothing_to_check}, doc_shell)
    cluster.adopt({})
    assert len(cluster.harness.state) == 0
    assert sorted(sandbox.outputs["addresses"]) == sorted(HOSTS)
    for host in HOSTS:
        nested = sandbox.docker(host)
        assert nested.info()["Swarm"]["LocalNodeState"] == "inactive", host
        assert nested.api.containers(all=True) == [], host
        assert (nested.api.volumes().get("Volumes") or []) == [], host
        # What every engine has, and the bridge swarm made (an engine keeps it after leaving).
        assert {n["Name"] for n in nested.api.networks()} <= {"bridge", "host", "none", "docker_gwbridge"}, host
    run_documented(DOC, RUNNER, {sandbox_destroy: prints_nothing_to_check}, doc_shell)
    sandbox.adopt({})
    assert len(sandbox.harness.state) == 0
    assert leftovers(engine, f"{SANDBOX_STACK}-") == NOTHING


class _DnsSampler:
    """Asks every host's DNS for the workers, round after round, while an update runs: a round in which
    no host answered with any worker is a moment the service was missing from DNS everywhere."""

    def __init__(self, cluster: Cluster, hosts: tuple[str, ...]) -> None:
        self._cluster, self._hosts = cluster, hosts
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.samples = 0
        self.empty: list[float] = []

    def __enter__(self) -> "_DnsSampler":
        self._started = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            answered = False
            for host in self._hosts:
                try:
                    answered = bool(srv(self._cluster, host))
                except Exception:  # noqa: BLE001 - that host's agent is being replaced
                    continue
                if answered:
                    break
            self.samples += 1
            if not answered:
                self.empty.append(round(time.monotonic() - self._started, 1))
            time.sleep(0.5)


def _env(container: Any) -> dict[str, str]:
    return dict(item.split("=", 1) for item in container.attrs["Config"]["Env"])


def _tar(path: str, content: str) -> bytes:
    data = content.encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo(path)
        info.size = len(data)
        info.mode = 0o644
        archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _get_with_token(cluster: Cluster, host: str, path: str, token: str) -> Any:
    response = requests.get(f"{cluster.consul_url(host)}{path}", headers={"X-Consul-Token": token}, timeout=10, verify=cluster.verify)
    response.raise_for_status()
    return response.json()


def _put_with_token(cluster: Cluster, host: str, path: str, token: str, data: str) -> int:
    return requests.put(
        f"{cluster.consul_url(host)}{path}", data=data, headers={"X-Consul-Token": token}, timeout=10, verify=cluster.verify
    ).status_code

