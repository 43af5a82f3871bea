"""The dev stack, applied for real on the local engine through the apply harness.

One deployment serves the whole module (tests run in file order): the first
apply builds and starts everything, the probes check what a user of the stack
would see, then a second identical apply must change nothing, an engine restart (a
host reboot) must lose nothing and leave `up --refresh` nothing to do, scaling heyworld
2 -> 3 must update the service in place, a new greeting must change its KV key
and nothing else, and destroy must leave nothing behind.
"""
from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import pytest

from stacks.workloads import APPS
from tests.harness.engine import objects_named_with

from .doc_checks import DEV_CHECKS, README, RUNNER
from .doc_runner import harness_shell, run_documented, scratch_folder
from .engine_restart import dev_checks, restart_local_engine, time_recovery
from .support import PHASES, DevStack, build_stand_in_images, client_report, wait_for, web_count

pytestmark = pytest.mark.docker

SERVICE = "docker:index/service:Service"


@pytest.fixture(scope="module")
def dev(engine) -> DevStack:
    build_stand_in_images(engine)
    stack = DevStack(engine)
    try:
        stack.apply("first apply (dev stack, builds the app images)")
        yield stack
    finally:
        try:
            stack.destroy()  # nothing left to do when the destroy test ran
        finally:
            stack.close()


def test_web_app_counts_each_request(dev: DevStack) -> None:
    url = dev.outputs["webUrl"]
    assert url == "http://localhost:5000"
    # No waiting, here or below: `up` returns once what a user checks next answers.
    first = web_count(url + "/")
    assert web_count(url + "/") == first + 1
    assert web_count(url + "/") == first + 2


def test_consul_has_a_leader_and_the_configured_servers(dev: DevStack) -> None:
    assert dev.outputs["consulNodes"] == ["consul-1"]
    assert dev.consul("/v1/status/leader")
    servers = [m for m in dev.consul("/v1/agent/members") if m["Tags"].get("role") == "consul" and m["Status"] == 1]
    assert [m["Name"] for m in servers] == ["consul-1"]
    assert len(dev.consul("/v1/status/peers")) == 1


def test_consul_dns_answers_for_the_service_and_the_node(dev: DevStack) -> None:
    server_ip = dev.container_ip("dev-consul-1")
    assert [record.address for record in dev.resolve("consul.service.consul")] == [server_ip]
    assert [record.address for record in dev.resolve("consul-1.node.consul")] == [server_ip]


def test_external_services_and_settings_are_in_consul(dev: DevStack) -> None:
    assert dev.outputs["catalogServices"] == ["redis", "web"]
    assert [s["ServiceAddress"] for s in dev.consul("/v1/catalog/service/redis")] == [dev.container_ip("dev-redis")]
    assert [r.address for r in dev.resolve("web.service.consul")] == [dev.container_ip("dev-web")]
    prefix = dev.outputs["kvPrefix"]
    assert prefix == "distributed_app/dev/"
    assert dev.consul_text(f"/v1/kv/{prefix}greeting", raw="true") == "Hello from Consul KV"
    assert dev.consul_text(f"/v1/kv/{prefix}workers", raw="true") == "2"


def test_both_workers_are_registered_passing_and_in_dns(dev: DevStack) -> None:
    def passing() -> list[str]:
        entries = dev.consul("/v1/health/service/distributed_app", passing="true")
        return sorted(entry["Service"]["ID"] for entry in entries) if len(entries) == 2 else []

    assert passing() == ["server1", "server2"]
    worker_ips = sorted(dev.container_ip(f"dev-server{n}") for n in (1, 2))
    assert sorted(r.address for r in dev.resolve("distributed_app.service.consul")) == worker_ips
    srv = dev.resolve("distributed_app.service.consul", "SRV")
    assert sorted(record.port for record in srv) == [8080, 8080]
    assert len({str(record.target) for record in srv}) == 2


def test_client_reports_the_workers_over_http_and_dns(dev: DevStack, engine) -> None:
    client = engine.containers.get(dev.outputs["clientContainer"])
    report = client_report(engine, dev.outputs["clientContainer"])
    worker_ips = sorted(dev.container_ip(f"dev-server{n}") for n in (1, 2))
    assert sorted(entry["id"] for entry in report["http"]) == ["server1", "server2"]
    assert sorted(report["dns_a"]) == worker_ips
    assert sorted(entry["port"] for entry in report["dns_srv"]) == [8080, 8080]
    assert report["kv"] == {"greeting": "Hello from Consul KV", "workers": "2"}
    # The long-running client reports the same in its logs.
    wait_for("client logs list both workers", lambda: all(w in client.logs().decode() for w in ("server1", "server2")), timeout=60)


def test_containers_resolve_consul_names_through_consul_dns(dev: DevStack, engine) -> None:
    client = engine.containers.get(dev.outputs["clientContainer"])
    lookup = "import socket, sys; print(socket.gethostbyname(sys.argv[1]))"
    for name, container in (("redis.service.consul", "dev-redis"), ("web.service.consul", "dev-web")):
        result = client.exec_run(["python", "-c", lookup, name])
        assert result.exit_code == 0, result.output.decode()
        assert result.output.decode().strip() == dev.container_ip(container), name


def test_workers_serve_the_greeting_they_read_from_kv(dev: DevStack, engine) -> None:
    worker = engine.containers.get("dev-server1")
    result = worker.exec_run(["python", "-c", "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:8080/').read().decode())"])
    assert json.loads(result.output.decode())["greeting"] == "Hello from Consul KV"


def test_heyworld_runs_its_replicas_and_global_one_per_node(dev: DevStack, engine) -> None:
    replicated, global_ = dev.outputs["swarmServices"]
    assert (replicated, global_) == ("dev-heyworld", "dev-heyworld_global")
    assert dev.running_tasks(replicated) == 2
    nodes = len(engine.nodes.list())
    wait_for("heyworld_global has one task per node", lambda: dev.running_tasks(global_) == nodes, timeout=90)


def test_no_join_token_reaches_the_state_or_the_log_in_plain_text(dev: DevStack, engine) -> None:
    tokens = engine.swarm.attrs["JoinTokens"]
    assert tokens["Worker"].startswith("SWMTKN-")
    assert dev.harness.plaintext_exposures([tokens["Worker"], tokens["Manager"]]) == []


def test_the_readmes_checks_run_as_pasted(dev: DevStack) -> None:
    """README.md's checks, each as written, in bash: `pulumi stack output` reads the harness's outputs."""
    with scratch_folder() as folder:
        run_documented(README, RUNNER, DEV_CHECKS, harness_shell("dev", dev.outputs, Path(folder)))


def test_second_apply_creates_and_replaces_nothing(dev: DevStack) -> None:
    dev.apply("second apply (no change)")
    assert dev.harness.last_run.changes() == []
    assert dev.harness.last_run.of("same")


def test_an_engine_restart_changes_nothing(dev: DevStack, engine) -> None:
    """A host reboot: everything answers again by itself, nothing is lost, and `pulumi up --refresh`
    then proposes nothing (it replaced the network, and all on it, when the engine reported a gateway)."""
    checks = dev_checks(dev.outputs, engine)
    PHASES.append(("engine restart: SIGTERM until the engine answers", restart_local_engine(engine)))
    time_recovery(checks, since=time.monotonic())
    assert dev.consul_text(f"/v1/kv/{dev.outputs['kvPrefix']}greeting", raw="true") == "Hello from Consul KV"

    dev.apply("up --refresh after the engine restart", refresh=True)
    # What moved is only read back (dynamic addresses are dealt out again in start order): no change
    # follows from it, and `--expect-no-changes` does not count a refresh's own steps.
    refreshed = dev.harness.runs[-2]
    assert refreshed.label == "refresh" and refreshed.names("delete") == []
    assert dev.harness.last_run.changes() == []


def test_more_heyworld_replicas_update_the_service_in_place(dev: DevStack, engine) -> None:
    before = engine.services.get("dev-heyworld").id
    dev.apply("apply heyworldReplicas 2 -> 3", heyworldReplicas=3)
    assert dev.harness.last_run.changes() == [("update", SERVICE, "heyworld-service")]
    assert engine.services.get("dev-heyworld").id == before
    assert dev.running_tasks("dev-heyworld") == 3


def test_a_changed_setting_updates_its_key_and_nothing_else(dev: DevStack) -> None:
    dev.apply("apply greeting change", greeting="Howdy from Consul KV")
    assert dev.harness.last_run.changes() == [("update", "consul:index/keys:Keys", "catalog-kv")]
    assert dev.consul_text(f"/v1/kv/{dev.outputs['kvPrefix']}greeting", raw="true") == "Howdy from Consul KV"


def test_destroy_removes_everything_and_leaves_the_swarm(dev: DevStack, engine) -> None:
    dev.destroy()
    assert len(dev.harness.state) == 0
    assert objects_named_with(engine, "dev-") == {"services": [], "containers": [], "networks": [], "volumes": []}
    # The images the stack built went with it.
    tags = {tag for image in engine.api.images() for tag in image.get("RepoTags") or []}
    assert tags & {f"orchestration/{app}:dev" for app in APPS} == set()
    if not dev.swarm_was_active:
        assert engine.info()["Swarm"]["LocalNodeState"] == "inactive"
    with pytest.raises(OSError):
        urllib.request.urlopen("http://localhost:5000/", timeout=3)
