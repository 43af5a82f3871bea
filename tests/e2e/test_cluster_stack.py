"""The cluster stack on the sandbox's three Docker-in-Docker hosts, end to end through the apply harness.

One deployment serves the whole module (tests run in file order), along docs/sandbox.md: the
sandbox stack makes larry, curly and moe and a registry; the Consul and base images go into
that registry; a cluster stack takes its hosts, registry and build engine from the sandbox
through `hostsFromStack`, then the seed's roles (workers on larry and curly, the client on moe)
as hand-written `hosts`. Then: Consul and the swarm as a user would check them, the client and
the workers, a Consul server and a whole worker engine stopped and started again, one host and then
all three rebooted with `up --refresh` of both stacks proposing nothing after, idempotence,
an in-place scale-up, node labels and a constraint keeping heyworld off a host, a health-gated
rolling update counted request by request, a broken image rolled back by the engine, a host
drained and undrained, a host lost before `up` rolls a change and one lost while its workers
change, a worker host added and dropped again. The sandbox and the cluster are the session's
(tests/e2e/conftest.py): test_cluster_stack_grown.py, next, grows them to five hosts as the doc does and
tears them down.
"""
from __future__ import annotations

import ipaddress
import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from components.consul_server import SECRET_CONFIG_FILE
from components.consul_tls import KEY_FILE
from tests.harness import HarnessError
from tests.harness.exposure import private_key_line
from tests.harness.local_images import BASE_IMAGE

from .cluster_support import (
    CLUSTER_STACK,
    HOSTS,
    SANDBOX_SUBNET,
    SEED_ROLES,
    Cluster,
    Sandbox,
    Traffic,
    build_on_base,
    leftovers,
    recovery_checks,
)
from .doc_runner import Shell, run_documented
from .engine_restart import time_recovery
from .sandbox_doc import CHECKS, DOC, DOC_CONSUL_IMAGE, RUNNER
from .support import PHASES, phase, wait_for

pytestmark = pytest.mark.docker

CONTAINER = "docker:index/container:Container"
REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage"
NETWORK = "docker:index/network:Network"
SERVICE = "docker:index/service:Service"
KEYS = "consul:index/keys:Keys"
COMMAND = "command:local:Command"
DOCKER_PROVIDER = "pulumi:providers:docker"
WORKERS = ("larry", "curly")
WORKER_PORTS = (8081, 8082)
GREETING = "Hello from Consul KV"
NOTHING = {"services": [], "containers": [], "networks": [], "volumes": []}

@pytest.fixture(scope="module")
def sandbox(doc_sandbox: Sandbox) -> Sandbox:
    """docs/sandbox.md's sandbox (tests/e2e/conftest.py), which test_cluster_stack_grown.py grows and tears down."""
    return doc_sandbox


@pytest.fixture(scope="module")
def cluster(doc_cluster: Cluster) -> Cluster:
    return doc_cluster


def test_each_sandbox_host_runs_an_engine_that_trusts_the_registry(sandbox: Sandbox) -> None:
    network = ipaddress.ip_network(SANDBOX_SUBNET)
    assert [host["name"] for host in sandbox.outputs["hosts"]] == list(HOSTS)
    assert sandbox.registry == f"{network[10]}:5000"
    assert sandbox.outputs["buildDockerHost"] == f"tcp://{network[11]}:2375"
    for index, host in enumerate(HOSTS):
        assert sandbox.address(host) == str(network[11 + index])
        info = sandbox.docker(host).info()
        assert info["Name"] == host
        assert info["RegistryConfig"]["IndexConfigs"][sandbox.registry]["Secure"] is False, host


def test_the_cluster_takes_hosts_registry_and_build_engine_from_the_sandbox(cluster: Cluster, sandbox: Sandbox) -> None:
    assert cluster.outputs["hosts"] == list(HOSTS)
    assert cluster.outputs["swarmManager"] == "larry"
    assert cluster.outputs["consulNodes"] == list(HOSTS)
    # TLS is the cluster's default: HTTPS only, on 8501.
    assert cluster.outputs["consulHttpAddress"] == f"{sandbox.address('larry')}:8501"
    # The sandbox hands out the chapter's roles: the client on moe only.
    assert cluster.outputs["clientContainers"] == {"moe": f"{CLUSTER_STACK}-client"}
    # Built on larry, pushed to the sandbox registry, pulled from there by the hosts.
    for app, reference in cluster.outputs["images"].items():
        assert reference.startswith(f"{sandbox.registry}/orchestration/{app}@sha256:"), reference
    catalog = requests.get(f"http://{sandbox.registry}/v2/_catalog", timeout=10).json()["repositories"]
    assert {"orchestration/distributed_app", "orchestration/distributed_client", DOC_CONSUL_IMAGE} <= set(catalog)


def test_the_checks_docs_sandbox_md_gives_pass_as_pasted(cluster: Cluster, doc_shell: Shell) -> None:
    run_documented(DOC, RUNNER, CHECKS, doc_shell)


def test_consul_servers_agree_on_a_leader_among_three_peers(cluster: Cluster, sandbox: Sandbox) -> None:
    addresses = sorted(sandbox.address(host) for host in HOSTS)
    leaders = {cluster.consul(host, "/v1/status/leader") for host in HOSTS}
    assert len(leaders) == 1 and next(iter(leaders)).split(":")[0] in addresses, leaders
    for host in HOSTS:
        assert sorted(peer.split(":")[0] for peer in cluster.consul(host, "/v1/status/peers")) == addresses, host
    assert cluster.alive_servers("larry") == sorted(HOSTS)


def test_each_host_resolves_the_others_through_consul_dns(cluster: Cluster, sandbox: Sandbox) -> None:
    # On port 53 of each host's address, the resolver its containers use too.
    for host in HOSTS:
        for other in HOSTS:
            if other != host:
                assert cluster.resolve(host, 53, f"{other}.node.consul") == [sandbox.address(other)], host
    assert cluster.resolve("moe", 53, "consul.service.consul") == sorted(sandbox.address(host) for host in HOSTS)


def test_the_swarm_has_larry_as_manager_and_curly_and_moe_as_workers(cluster: Cluster) -> None:
    nodes = cluster.nodes()
    assert {host: node["role"] for host, node in nodes.items()} == {"larry": "manager", "curly": "worker", "moe": "worker"}
    assert {node["state"] for node in nodes.values()} == {"ready"}


def test_heyworld_spreads_over_nodes_and_heyworld_global_runs_on_each(cluster: Cluster) -> None:
    replicated, global_ = cluster.outputs["swarmServices"]
    assert (replicated, global_) == (f"{CLUSTER_STACK}-heyworld", f"{CLUSTER_STACK}-heyworld_global")
    spread = _running(cluster, replicated, 2)
    assert spread and len(spread) > 1, spread
    wait_for("heyworld_global runs one task on each host", lambda: cluster.running_tasks_by_node(global_) == dict.fromkeys(HOSTS, 1), timeout=90)


def test_the_seeds_roles_written_by_hand_are_the_cluster_the_sandbox_gave(cluster: Cluster) -> None:
    """The sandbox hands out the chapter's roles: the same hosts and roles written as `hosts` change nothing."""
    cluster.apply("cluster apply with the seed's roles as hand-written hosts", **cluster.hand_written(SEED_ROLES))
    assert cluster.changes() == []
    assert cluster.outputs["clientContainers"] == {"moe": f"{CLUSTER_STACK}-client"}


def test_the_client_on_moe_finds_the_workers_on_larry_and_curly(cluster: Cluster, sandbox: Sandbox) -> None:
    expected = sorted((sandbox.address(host), port) for host in WORKERS for port in WORKER_PORTS)

    # No waiting: `up` returned only once every worker was passing in Consul, as a user would ask right away.
    report = cluster.client_report("moe")
    assert sorted((i["address"], i["port"]) for i in report["http"]) == expected
    assert sorted(i["node"] for i in report["http"]) == ["curly", "curly", "larry", "larry"]
    assert report["dns_a"] == sorted(sandbox.address(host) for host in WORKERS)
    # All four over UDP: the client asks with EDNS, past Consul's 3-record limit for plain UDP.
    assert sorted((r["address"], r["port"]) for r in report["dns_srv"]) == expected
    assert cluster.resolve_srv("moe", 53, "distributed_app.service.consul", tcp=True) == expected
    assert report["kv"] == {"greeting": GREETING, "workers": "4"}
    # The long-running client says the same in its logs.
    client = sandbox.docker("moe").containers.get(f"{CLUSTER_STACK}-client")
    wait_for(
        "the client's logs name the workers on larry and curly",
        lambda: all(f"at {address}:{port}" in client.logs(tail=30).decode() for address, port in expected),
        timeout=60,
    )


def test_each_server_answers_over_https_only_with_a_certificate_for_its_address(cluster: Cluster, sandbox: Sandbox) -> None:
    """The cluster's default, TLS: the workers registered and the client read above over HTTPS, with the stack's CA."""
    for host in HOSTS:
        address = sandbox.address(host)
        assert requests.get(f"https://{address}:8501/v1/status/leader", verify=cluster.verify, timeout=10).json(), host
        plain = requests.get(f"http://{address}:8501/v1/status/leader", timeout=10)
        assert plain.status_code == 400 and "HTTPS server" in plain.text, host
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://{address}:8500/v1/status/leader", timeout=10)
    key = sandbox.docker("curly").containers.get(f"{CLUSTER_STACK}-curly").exec_run(["cat", KEY_FILE]).output.decode()
    assert cluster.harness.plaintext_exposures([private_key_line(key)]) == []


def test_acls_refuse_a_request_without_a_token_and_no_secret_is_in_the_state(cluster: Cluster, sandbox: Sandbox) -> None:
    """The cluster's default: ACLs deny, so the workers above registered and the client read with their own tokens."""
    management = cluster.outputs["consulManagementToken"]
    for host in HOSTS:
        consul, verify = cluster.consul_url(host), cluster.verify
        assert requests.put(f"{consul}/v1/kv/e2e/anonymous", data="x", timeout=10, verify=verify).status_code == 403, host
        assert requests.get(f"{consul}/v1/kv/distributed_app/{CLUSTER_STACK}/greeting", timeout=10, verify=verify).status_code == 403, host
        register = {"Node": "intruder", "Address": "10.9.9.9", "Service": {"Service": "fake"}}
        assert requests.put(f"{consul}/v1/catalog/register", json=register, timeout=10, verify=verify).status_code == 403, host
    server = sandbox.docker("larry").containers.get(f"{CLUSTER_STACK}-larry")
    gossip_key = json.loads(server.exec_run(["cat", SECRET_CONFIG_FILE]).output)["encrypt"]
    worker = sandbox.docker("larry").containers.get(f"{CLUSTER_STACK}-server1")
    app_token = dict(item.split("=", 1) for item in worker.attrs["Config"]["Env"])["CONSUL_HTTP_TOKEN"]
    assert cluster.harness.plaintext_exposures([management, gossip_key, app_token]) == []


def test_the_workers_on_larry_and_curly_serve_the_greeting_from_kv(cluster: Cluster, sandbox: Sandbox) -> None:
    for host in WORKERS:
        for index, port in enumerate(WORKER_PORTS, start=1):
            page = cluster.worker_page(host, port)
            assert (page["service_id"], page["address"], page["port"]) == (f"server{index}", sandbox.address(host), port)
            assert page["greeting"] == GREETING
            assert page["message"] == f"{GREETING} from server{index} on server{index}"


def test_consul_keeps_a_leader_without_curly_and_curly_rejoins_with_the_data(cluster: Cluster, sandbox: Sandbox) -> None:
    curly_address = sandbox.address("curly")
    server = sandbox.docker("curly").containers.get(f"{CLUSTER_STACK}-curly")
    cluster.kv_put("larry", "e2e-faults/before", "written by three servers")
    with phase("fault: the Consul server on curly stopped"):
        server.stop(timeout=10)
        try:
            # Until the others notice, "rejoined" below would prove nothing.
            wait_for("larry sees curly's server failed", lambda: "curly" not in cluster.alive_servers("larry"), timeout=60)
            wait_for(
                "a leader other than curly",
                lambda: (leader := cluster.consul("larry", "/v1/status/leader")) and not leader.startswith(f"{curly_address}:"),
                timeout=60,
            )
            cluster.kv_put("larry", "e2e-faults/during", "written by two servers")
            assert cluster.kv_get("moe", "e2e-faults/during") == "written by two servers"
            assert cluster.resolve("larry", 53, "moe.node.consul") == [sandbox.address("moe")]
            assert cluster.resolve("moe", 53, "larry.node.consul") == [sandbox.address("larry")]
        finally:
            server.start()
    with phase("fault: the Consul server on curly started again, rejoins"):
        wait_for(
            "curly alive again among 3 raft peers",
            lambda: cluster.alive_servers("larry") == sorted(HOSTS) and len(cluster.consul("larry", "/v1/status/peers")) == 3,
            timeout=120,
        )
        # Stale reads answer from curly's own copy: it has what was written before and while it was down.
        wait_for(
            "curly's own copy of the KV data",
            lambda: cluster.kv_get("curly", "e2e-faults/before", stale=True) == "written by three servers"
            and cluster.kv_get("curly", "e2e-faults/during", stale=True) == "written by two servers",
            timeout=60,
        )


def test_applying_again_changes_nothing(cluster: Cluster) -> None:
    cluster.apply("cluster apply again (no change)")
    assert cluster.changes() == []


def test_more_heyworld_replicas_update_the_service_in_place(cluster: Cluster) -> None:
    service = f"{CLUSTER_STACK}-heyworld"
    before = cluster.manager.services.get(service).id
    cluster.apply("cluster apply heyworldReplicas 2 -> 3", heyworldReplicas=3)
    assert cluster.changes() == [("update", SERVICE, "heyworld-service")]
    assert cluster.manager.services.get(service).id == before
    assert _running(cluster, service, 3)


def test_the_swarm_brings_heyworld_back_when_a_worker_engine_stops(cluster: Cluster, sandbox: Sandbox, engine) -> None:
    service, global_ = cluster.outputs["swarmServices"]
    spread = wait_for("heyworld runs 3 tasks", lambda: _running(cluster, service, 3), timeout=90)
    # A worker host (larry holds the manager) that runs a heyworld task, moe if it does.
    victim = next((host for host in ("moe", "curly") if spread.get(host)), None)
    assert victim, f"no heyworld task on a worker host to take away: {spread}"
    host_container = engine.containers.get(sandbox.host_container(victim))
    with phase(f"fault: {victim}'s engine stopped, swarm reschedules heyworld"):
        host_container.stop(timeout=30)
        try:
            wait_for(f"the manager sees {victim} down", lambda: cluster.nodes()[victim]["state"] == "down", timeout=90)
            after = wait_for(
                f"heyworld back to 3 running tasks without {victim}",
                lambda: (counts := _running(cluster, service, 3)) and victim not in counts and counts,
                timeout=120,
            )
            assert set(after) <= set(HOSTS) - {victim}
        finally:
            host_container.start()
    with phase(f"{victim}'s engine started again: back in the swarm and in Consul"):
        wait_for(f"{victim} ready again", lambda: cluster.nodes()[victim]["state"] == "ready", timeout=120)
        wait_for("heyworld_global on every host again", lambda: cluster.running_tasks_by_node(global_) == dict.fromkeys(HOSTS, 1), timeout=120)
        wait_for("three Consul servers alive", lambda: cluster.alive_servers("larry") == sorted(HOSTS), timeout=120)


@pytest.mark.parametrize("restarted", [("curly",), HOSTS], ids=["one-host", "all-hosts"])
def test_hosts_restarted_come_back_by_themselves_and_up_refresh_proposes_nothing(
    cluster: Cluster, sandbox: Sandbox, engine, restarted: tuple[str, ...]
) -> None:
    """Hosts rebooted: Consul, DNS, the workers, the swarm's tasks and KV back with nothing done, then
    `pulumi up --refresh` of both stacks finds nothing to change (it replaced every host once, on the
    capability the engine renames)."""
    replicas = cluster.config.get("heyworldReplicas", 2)
    cluster.kv_put("larry", "e2e-reboot/before", "written before the reboot")
    hosts = [engine.containers.get(sandbox.host_container(host)) for host in restarted]
    with phase(f"reboot: {', '.join(restarted)} stopped, then started"):
        # At once, as a power cut takes them.
        with ThreadPoolExecutor(len(hosts)) as pool:
            list(pool.map(lambda host: host.stop(timeout=30), hosts))
        for host in hosts:
            host.start()
        time_recovery(recovery_checks(cluster, replicas, "e2e-reboot/before", "written before the reboot"), since=time.monotonic())
    sandbox.apply("sandbox up --refresh after the restart", refresh=True)
    assert (sandbox.refreshed_away(), sandbox.changes()) == ([], [])
    cluster.apply("cluster up --refresh after the restart", refresh=True)
    assert (cluster.refreshed_away(), cluster.changes()) == ([], [])


# Before a worker leaves the swarm for good: engine 20.10's manager panics (nil node in swarmkit's
# nodeMatches) when it updates a global service that had a task on a node since removed.
WEB_PORT = 8090
WEB_V2 = "orchestration-e2e/web:v2"
BROKEN = "orchestration-e2e/broken:latest"


def web_service(image: str) -> dict:
    """A health-checked web service that rolls one task at a time, each new one started before an old one stops.

    Its port is published in host mode: the routing mesh needs IPVS, which these nested engines lack.
    Two replicas on three hosts leave a host free, where each new task starts (a host holds the port once).
    """
    probe = f"import urllib.request as u; u.urlopen('http://127.0.0.1:{WEB_PORT}/', timeout=2)"
    return {
        "image": image,
        "args": ["python3", "-m", "http.server", str(WEB_PORT)],
        "replicas": 2,
        "ports": [{"published": WEB_PORT, "target": WEB_PORT, "mode": "host"}],
        "healthCheck": {"test": ["CMD", "python3", "-c", probe], "interval": "1s", "timeout": "2s", "retries": 2},
        "rollout": {"parallelism": 1, "delay": "1s", "order": "start-first", "monitor": "4s"},
        "convergeTimeout": "2m",
    }


def test_node_labels_and_a_constraint_keep_heyworld_off_moe_and_the_client_gets_a_memory_limit(cluster: Cluster, sandbox: Sandbox, engine) -> None:
    with phase("web images for the rollout tests: a v2 of the base, and one that cannot start"):
        # Content of its own: the same bytes under another tag would pin the service to the same digest.
        build_on_base(engine, WEB_V2, "LABEL orchestration.e2e.web=v2")
        build_on_base(engine, BROKEN, 'ENTRYPOINT ["/bin/false"]')
    sandbox.seed_registry([WEB_V2, BROKEN])
    service = f"{CLUSTER_STACK}-heyworld"
    cluster.apply(
        "cluster apply: node labels, heyworld kept off zone c (moe), a web service",
        nodeLabels={"larry": {"zone": "a"}, "curly": {"zone": "b"}, "moe": {"zone": "c"}},
        heyworldDeploy={"constraints": ["node.labels.zone!=c"], "rollout": {"delay": "1s"}},
        swarmServices={"web": web_service(sandbox.registry_images[BASE_IMAGE])},
        containerResources={"client": {"memoryLimitMb": 256, "memoryReservationMb": 64}},
    )
    assert {op for op, _, name in cluster.changes() if name.startswith("swarm-node-")} == {"create"}
    assert ("update", SERVICE, "heyworld-service") in cluster.changes()
    assert cluster.node_labels() == {"larry": {"zone": "a"}, "curly": {"zone": "b"}, "moe": {"zone": "c"}}
    placed = wait_for("heyworld's 3 tasks on larry and curly only", lambda: _running(cluster, service, 3), timeout=60)
    assert "moe" not in placed and sum(placed.values()) == 3, placed
    # The global service is constrained the same way.
    assert cluster.running_tasks_by_node(f"{CLUSTER_STACK}-heyworld_global").get("moe") is None
    # A memory limit changes in place (docker update), as the provider does it.
    assert ("update", CONTAINER, "client-moe-container") in cluster.changes()
    limits = sandbox.docker("moe").api.inspect_container(f"{CLUSTER_STACK}-client")["HostConfig"]
    assert (limits["Memory"], limits["MemorySwap"], limits["MemoryReservation"]) == (256 * 2**20, 256 * 2**20, 64 * 2**20)
    inventory = cluster.outputs["inventory"]
    assert inventory["hosts"]["moe"] == {f"{CLUSTER_STACK}-moe": cluster.config["consulImage"], f"{CLUSTER_STACK}-client": cluster.outputs["images"]["distributed_client"]}
    assert inventory["services"][f"{CLUSTER_STACK}-web"]["replicas"] == 2
    assert inventory["services"][f"{CLUSTER_STACK}-heyworld"]["mode"] == "replicated"
    assert sorted(inventory["hosts"]) == sorted(HOSTS)


def test_a_service_no_node_can_take_stops_up_saying_why(cluster: Cluster, sandbox: Sandbox) -> None:
    services = cluster.config["swarmServices"]
    huge = {"image": sandbox.registry_images[BASE_IMAGE], "args": ["sleep", "600"], "constraints": ["node.labels.zone!=a"], "resources": {"cpuReservation": 64}}
    with pytest.raises(HarnessError, match=rf"swarm service {CLUSTER_STACK}-huge cannot be placed on any node:\n  curly: reserves 64 CPUs, has \d+\n  larry: node.labels.zone!=a \(node.labels.zone is 'a'\); reserves 64 CPUs"):
        cluster.apply("cluster apply: a service reserving 64 CPUs", swarmServices={**services, "huge": huge})
    # Stopped before the service was created, not after pulumi-docker's 3 minutes of waiting.
    assert f"{CLUSTER_STACK}-huge" not in {service.name for service in cluster.manager.services.list()}
    cluster.apply("cluster apply without it", swarmServices=services)


def test_a_healthy_image_rolls_task_by_task_without_a_failed_request(cluster: Cluster, sandbox: Sandbox) -> None:
    service = f"{CLUSTER_STACK}-web"
    addresses = [sandbox.address(host) for host in HOSTS]
    before = {task["ID"] for task in cluster.manager.api.tasks(filters={"service": service, "desired-state": "running"})}
    with Traffic(addresses, WEB_PORT) as traffic:
        wait_for("web answers", lambda: traffic.requests > 5 and traffic.answered_by, timeout=30)
        cluster.apply("cluster apply: web rolls to v2", swarmServices={"web": web_service(sandbox.registry_images[WEB_V2])})
        time.sleep(2)
    assert ("update", SERVICE, "service-web-service") in cluster.changes(), cluster.changes()
    assert traffic.failed == 0 and traffic.requests > 20, (traffic.failed, traffic.requests, traffic.answered_by)
    PHASES.append((f"  rolling update: {traffic.requests} requests, {traffic.failed} failed", 0.0))
    tasks = cluster.manager.api.tasks(filters={"service": service})
    new = [task for task in tasks if task["DesiredState"] == "running"]
    assert len(new) == 2 and not {task["ID"] for task in new} & before
    assert all(WEB_V2.split(":")[0] in task["Spec"]["ContainerSpec"]["Image"] for task in new)
    # One at a time, each new task started before an old one stopped: the new ones started apart.
    started = sorted(task["Status"]["Timestamp"] for task in new)
    assert started[0] != started[1]


def test_a_broken_image_rolls_back_by_itself_and_the_service_keeps_answering(cluster: Cluster, sandbox: Sandbox) -> None:
    service = f"{CLUSTER_STACK}-web"
    addresses = [sandbox.address(host) for host in HOSTS]
    healthy = web_service(sandbox.registry_images[WEB_V2])
    # On every host already, as a released image is: pulumi-docker looks first 7 s after the update,
    # and sees it converged while a new task is still pulling (the old ones run, start-first), so a
    # slow pull would hide the failure that follows.
    for host in HOSTS:
        sandbox.docker(host).images.pull(sandbox.registry_images[BROKEN])
    with Traffic(addresses, WEB_PORT) as traffic:
        # pulumi-docker fails the update once the engine rolled it back; the harness says the same.
        with pytest.raises(HarnessError, match="service rollback completed"):
            cluster.apply("cluster apply: web to an image that cannot start", swarmServices={"web": web_service(sandbox.registry_images[BROKEN])})
        cluster.config["swarmServices"] = {"web": healthy}  # what the stack runs again, as a user would set it back
        # The provider fails as soon as every slot runs again during the rollback; the engine finishes it.
        wait_for(
            "the engine completes the rollback",
            lambda: cluster.manager.api.inspect_service(service)["UpdateStatus"]["State"] == "rollback_completed",
            timeout=60,
        )
    assert traffic.failed == 0, (traffic.failed, traffic.requests)
    PHASES.append((f"  failed rollout: {traffic.requests} requests, {traffic.failed} failed", 0.0))
    inspected = cluster.manager.api.inspect_service(service)
    assert WEB_V2.split(":")[0] in inspected["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"]
    assert _running(cluster, service, 2)
    # The failed update was stored with its new inputs (the bridge's partial state), so setting the
    # healthy image back is a change again: an update to the spec the engine already rolled back to.
    cluster.apply("cluster apply with web's healthy image again")
    assert ("update", SERVICE, "service-web-service") in cluster.changes(), cluster.changes()
    assert _running(cluster, service, 2)


def test_a_drained_host_loses_its_tasks_and_gets_them_back_when_undrained(cluster: Cluster) -> None:
    global_ = f"{CLUSTER_STACK}-heyworld_global"
    assert cluster.running_tasks_by_node(global_).get("curly") == 1
    cluster.apply("cluster apply: curly drained", drainedHosts=["curly"])
    assert cluster.changes() == [("update", COMMAND, "swarm-node-curly")]
    assert cluster.nodes()["curly"]["availability"] == "drain"
    # `up` returned once nothing was meant to run there any more.
    on_curly = [t for t in cluster.manager.api.tasks(filters={"node": "curly", "desired-state": "running"})]
    assert on_curly == []
    # Their replacements start elsewhere (larry: moe is kept out by heyworld's constraint).
    moved = wait_for("heyworld's 3 tasks running again, none on curly", lambda: _running(cluster, f"{CLUSTER_STACK}-heyworld", 3), timeout=60)
    assert moved == {"larry": 3}, moved
    cluster.apply("cluster apply: curly undrained", drainedHosts=None)
    assert cluster.nodes()["curly"]["availability"] == "active"
    wait_for("heyworld_global back on curly", lambda: cluster.running_tasks_by_node(global_).get("curly") == 1, timeout=60)
    # What placement and drains added goes, so the later tests find the stack as it was. The client's
    # memory limit stays: pulumi-docker cannot lift one (its update sends 0, which Docker reads as "unchanged").
    cluster.apply(
        "cluster apply without node labels, constraints and web",
        nodeLabels=None, heyworldDeploy=None, swarmServices=None,
    )
    assert cluster.node_labels() == dict.fromkeys(HOSTS, {})


def test_a_host_lost_before_a_deploy_stops_up_at_its_provider_and_up_converges_once_it_is_back(cluster: Cluster, sandbox: Sandbox, engine) -> None:
    """curly's engine gone when `up` rolls a change to every worker: the update stops where the engine
    configures curly's provider, naming it, before any worker changes (as the real CLI does it:
    test_sandbox_cluster_real_pulumi); once curly is back a plain `up` makes all four changes."""
    resources = {**cluster.config.get("containerResources", {}), "workers": {"memoryLimitMb": 192}}
    limit = 192 * 2**20

    curly = engine.containers.get(sandbox.host_container("curly"))
    with phase("fault: curly's engine stopped, up rolls a worker memory limit"):
        curly.stop(timeout=30)
        try:
            with pytest.raises(HarnessError) as failed:
                cluster.apply("cluster up while curly is down", containerResources=resources)
        finally:
            curly.start()
    assert "pulumi:providers:docker (curly-engine)" in str(failed.value) and "failed to connect to any docker daemon" in str(failed.value)
    wait_for("curly's engine answers again", lambda: sandbox.docker("curly").ping(), timeout=120)
    assert cluster.changes() == [] and limit not in _limits(sandbox)
    cluster.apply("cluster up once curly is back")
    assert cluster.changes() == sorted(("update", CONTAINER, f"app-{host}-server{n}") for host in WORKERS for n in (1, 2))
    assert _limits(sandbox) == [limit] * 4
    cluster.apply("cluster up again (no change)")
    assert cluster.changes() == []


def test_a_host_lost_while_its_workers_change_fails_naming_them_and_up_refresh_converges_once_it_is_back(
    cluster: Cluster, sandbox: Sandbox, engine
) -> None:
    """curly's host lost the moment its first worker's update starts (larry's and its provider's
    configure already done): that update fails naming the worker, and the provider hands the failure back
    with the new limit in it, as if made. A plain `up` once curly is back would see nothing left to do on
    curly; `up --refresh`, which `make up` runs after a failed update (scripts/recover), reads curly's
    workers as they are and finishes the change."""
    resources = {**cluster.config.get("containerResources", {}), "workers": {"memoryLimitMb": 160}}
    limit = 160 * 2**20
    curly = engine.containers.get(sandbox.host_container("curly"))
    once = threading.Lock()

    def lose_curly(operation: str, name: str) -> None:
        # Called on the harness's threads: curly's two workers start their updates together.
        if name.startswith("app-curly-server") and once.acquire(blocking=False):
            curly.kill()  # a power cut: at once, where a shutdown takes its engine seconds

    cluster.harness.as_operations_start = lose_curly
    try:
        with phase("fault: curly's host lost as its first worker's update starts"):
            with pytest.raises(HarnessError) as failed:
                cluster.apply("cluster up, curly lost mid-change", containerResources=resources)
    finally:
        cluster.harness.as_operations_start = None
        curly.start()
    assert re.search(r"docker:index/container:Container \(app-curly-server\d\)", str(failed.value)), failed.value
    wait_for("curly's engine answers again", lambda: sandbox.docker("curly").ping(), timeout=120)
    recorded = {record.name: record.outputs["memory"] for record in cluster.harness.state if record.name.startswith("app-curly-server")}
    on_curly = {f"app-curly-server{n}": sandbox.docker("curly").api.inspect_container(f"{CLUSTER_STACK}-server{n}")["HostConfig"]["Memory"] for n in (1, 2)}
    assert any(recorded[name] == 160 and on_curly[name] != limit for name in recorded), (recorded, on_curly)
    cluster.apply("cluster up --refresh once curly is back", refresh=True)
    assert [change for change in cluster.changes() if "curly" in change[2]], cluster.changes()
    assert _limits(sandbox) == [limit] * 4
    cluster.apply("cluster up again (no change)")
    assert cluster.changes() == []


def _limits(sandbox: Sandbox) -> list[int]:
    """The workers' memory limits on larry and curly, as `docker inspect` shows them."""
    return [sandbox.docker(host).api.inspect_container(f"{CLUSTER_STACK}-server{n}")["HostConfig"]["Memory"] for host in WORKERS for n in (1, 2)]


# What a host without a Consul server gets for its client agent (docs/cluster-growth.md).
SHEMP_AGENT = (
    ("docker:index/volume:Volume", "consul-shemp-data"),
    (REMOTE_IMAGE, "consul-shemp-image"),
    (CONTAINER, "consul-shemp-agent"),
    ("consul:index/aclToken:AclToken", "consul-shemp-agent-token"),
    ("tls:index/privateKey:PrivateKey", "consul-tls-shemp-key"),
    ("tls:index/certRequest:CertRequest", "consul-tls-shemp-request"),
    ("tls:index/locallySignedCert:LocallySignedCert", "consul-tls-shemp-cert"),
)


def test_a_worker_dropped_from_the_config_leaves_the_swarm(cluster: Cluster, sandbox: Sandbox) -> None:
    sandbox.apply("sandbox apply with a fourth host, shemp", sandboxHosts=[*HOSTS, "shemp"])
    assert {(op, name) for op, _, name in sandbox.changes()} == {
        ("create", "shemp-data"),
        ("create", "shemp-image"),
        ("create", "shemp-container"),
    }
    with_shemp = {**SEED_ROLES, "shemp": []}  # no role: a swarm worker, with a Consul client agent as every host without a server
    cluster.apply("cluster apply with shemp as a bare swarm worker", **cluster.hand_written(with_shemp))
    assert cluster.changes() == sorted(
        [
            ("create", DOCKER_PROVIDER, "shemp-engine"),
            ("create", NETWORK, "shemp-network"),
            ("create", COMMAND, "swarm-join-shemp"),
            *(("create", kind, name) for kind, name in SHEMP_AGENT),
        ]
    )
    assert cluster.resolve("larry", 53, "shemp.node.consul") == [sandbox.address("shemp")]
    assert cluster.nodes()["shemp"] == {"role": "worker", "state": "ready", "availability": "active"}
    global_ = f"{CLUSTER_STACK}-heyworld_global"
    wait_for("heyworld_global runs on shemp too", lambda: cluster.running_tasks_by_node(global_).get("shemp") == 1, timeout=90)

    cluster.apply("cluster apply without shemp", **cluster.hand_written(SEED_ROLES))
    assert cluster.changes() == sorted(
        [
            ("delete", DOCKER_PROVIDER, "shemp-engine"),
            ("delete", NETWORK, "shemp-network"),
            ("delete", COMMAND, "swarm-join-shemp"),
            *(("delete", kind, name) for kind, name in SHEMP_AGENT),
        ]
    )
    assert sorted(cluster.nodes()) == sorted(HOSTS)
    shemp = sandbox.docker("shemp")
    assert shemp.info()["Swarm"]["LocalNodeState"] == "inactive"
    assert leftovers(shemp, f"{CLUSTER_STACK}-") == NOTHING
    # docs/sandbox.md's way to shrink: the cluster stack first, its hosts written by hand (above), then the sandbox.
    sandbox.apply("sandbox apply without shemp", sandboxHosts=None)
    assert {(op, name) for op, _, name in sandbox.changes()} == {("delete", "shemp-data"), ("delete", "shemp-image"), ("delete", "shemp-container")}


def _running(cluster: Cluster, service: str, replicas: int) -> dict[str, int] | None:
    """Running tasks by host, once there are exactly `replicas` of them."""
    counts = cluster.running_tasks_by_node(service)
    return counts if sum(counts.values()) == replicas else None
