"""The dev stack with `consulServers: 3`, `redisThroughConsul`, `consulAcl` and `consulTls`: three Consul
servers elect one leader and all answer in DNS, the web app finds Redis as `redis.service.consul`, gossip
is encrypted, with ACLs denying by default each workload does its job with its own token while a request
without one can look names up but not write, and the API answers over HTTPS only, verified with the
stack's CA, while the servers verify each other's certificates on RPC."""
from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import docker.errors
import pytest
import requests

from components.consul_server import SECRET_CONFIG_FILE
from components.consul_tls import KEY_FILE as SERVER_KEY_FILE
from tests.harness.exposure import private_key_line
from tests.harness.local_images import CONSUL_IMAGE, REDIS_IMAGE
from tests.support.prerequisites import skip_or_fail
from tests.support.program import PROJECT_DIR

from .doc_runner import harness_shell, run_documented, scratch_folder
from .engine_restart import restart_local_engine, time_recovery
from .support import PHASES, DevStack, build_stand_in_images, client_report, web_count

pytestmark = pytest.mark.docker

ROLLED_CONSUL = "orchestration-e2e/consul:rolled"
ROLLED_REDIS = "orchestration-e2e/redis:rolled"
SECURITY = PROJECT_DIR / "docs" / "security.md"
THIS = "tests/e2e/test_dev_stack_three_servers.py"
RETAINED = ("dev-consul-1-data", "dev-consul-2-data", "dev-consul-3-data", "dev-redis-data")


@pytest.fixture(scope="module")
def dev3(engine) -> DevStack:
    build_stand_in_images(engine)
    stack = DevStack(
        engine,
        {"consulServers": 3, "redisThroughConsul": True, "consulAcl": True, "consulTls": True, "retainData": True, "swarmAutolock": True},
    )
    try:
        stack.apply("first apply (dev stack, consulServers=3)")
        yield stack
    finally:
        try:
            stack.destroy()
        finally:
            stack.close()
            for volume in RETAINED:
                with contextlib.suppress(docker.errors.NotFound):
                    engine.volumes.get(volume).remove(force=True)


def test_three_servers_are_alive_with_one_leader(dev3: DevStack) -> None:
    nodes = ["consul-1", "consul-2", "consul-3"]
    assert dev3.outputs["consulNodes"] == nodes
    leader = dev3.consul("/v1/status/leader")
    assert leader
    alive = sorted(m["Name"] for m in dev3.consul("/v1/agent/members") if m["Tags"].get("role") == "consul" and m["Status"] == 1)
    assert alive == nodes
    assert len(dev3.consul("/v1/status/peers")) == 3
    assert leader.split(":")[0] in {dev3.container_ip(f"dev-{node}") for node in nodes}


def test_gossip_is_encrypted_with_a_key_nothing_shows_in_plain_text(dev3: DevStack, engine) -> None:
    nodes = ["consul-1", "consul-2", "consul-3"]
    keys = set()
    for node in nodes:
        server = engine.containers.get(f"dev-{node}")
        info = server.exec_run(["consul", "info"]).output.decode()
        assert re.search(r"serf_lan:(?:\n\t.*)*\n\tencrypted = true", info), info
        keys.add(json.loads(server.exec_run(["cat", SECRET_CONFIG_FILE]).output)["encrypt"])
    [key] = keys
    assert len(base64.b64decode(key)) == 32
    # Not in any container's command line, environment or labels (what `docker inspect` shows), nor in a log.
    for container in engine.containers.list(filters={"name": "dev-"}):
        assert key not in json.dumps(container.attrs), container.name
        assert key not in container.logs().decode(errors="replace"), container.name
    assert key not in json.dumps(dev3.outputs)
    assert dev3.harness.plaintext_exposures([key]) == []


def test_every_server_resolves_through_consul_dns(dev3: DevStack) -> None:
    for node in ("consul-1", "consul-2", "consul-3"):
        assert [r.address for r in dev3.resolve(f"{node}.node.consul")] == [dev3.container_ip(f"dev-{node}")]
    servers = sorted(r.address for r in dev3.resolve("consul.service.consul"))
    assert servers == sorted(dev3.container_ip(f"dev-consul-{n}") for n in (1, 2, 3))


def test_workers_register_with_the_cluster(dev3: DevStack) -> None:
    def passing() -> list[str]:
        return sorted(e["Service"]["ID"] for e in dev3.consul("/v1/health/service/distributed_app", passing="true"))

    assert passing() == ["server1", "server2"]


def test_the_client_reads_with_its_own_token(dev3: DevStack, engine) -> None:
    report = client_report(engine, dev3.outputs["clientContainer"])
    assert sorted(entry["id"] for entry in report["http"]) == ["server1", "server2"]
    assert report["kv"] == {"greeting": "Hello from Consul KV", "workers": "2"}


def test_without_a_token_names_resolve_but_nothing_is_written_or_read(dev3: DevStack) -> None:
    refused = requests.put(f"{dev3.consul_http}/v1/kv/e2e/anonymous", data="x", timeout=10, verify=dev3.verify)
    assert refused.status_code == 403, refused.text
    assert requests.get(f"{dev3.consul_http}/v1/kv/distributed_app/dev/greeting", timeout=10, verify=dev3.verify).status_code == 403
    register = {"Node": "intruder", "Address": "10.9.9.9", "Service": {"Service": "fake"}}
    assert requests.put(f"{dev3.consul_http}/v1/catalog/register", json=register, timeout=10, verify=dev3.verify).status_code == 403
    assert sorted(r.address for r in dev3.resolve("distributed_app.service.consul")) == sorted(
        dev3.container_ip(f"dev-server{n}") for n in (1, 2)
    )
    # The management token, which the stack keeps as a secret output, may.
    allowed = requests.put(f"{dev3.consul_http}/v1/kv/e2e/managed", data="x", headers=dev3.management, timeout=10, verify=dev3.verify)
    assert allowed.status_code == 200


def test_no_token_reaches_the_state_or_a_container_log_in_plain_text(dev3: DevStack, engine) -> None:
    tokens = [dev3.outputs["consulManagementToken"]]
    for name in ("dev-server1", "dev-client"):
        env = dict(item.split("=", 1) for item in engine.api.inspect_container(name)["Config"]["Env"])
        tokens.append(env["CONSUL_HTTP_TOKEN"])
    assert len(set(tokens)) == 3
    assert dev3.harness.plaintext_exposures(tokens) == []
    for container in engine.containers.list(filters={"name": "dev-"}):
        assert not any(token in container.logs().decode(errors="replace") for token in tokens), container.name


def test_the_api_answers_over_https_with_the_ca_and_refuses_plain_http(dev3: DevStack, engine) -> None:
    address = dev3.outputs["consulHttpAddress"]
    assert dev3.outputs["consulUiUrl"] == f"https://{address}/ui"
    assert requests.get(f"https://{address}/v1/status/leader", verify=dev3.verify, timeout=10).json()
    # Without the stack's CA the server is not trusted; spoken to in plain HTTP, it answers that it speaks HTTPS only.
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"https://{address}/v1/status/leader", timeout=10)
    plain = requests.get(f"http://{address}/v1/status/leader", timeout=10)
    assert plain.status_code == 400 and "HTTPS server" in plain.text
    # Inside the stack's network nothing listens on Consul's plain HTTP port.
    probe = "import socket; socket.create_connection(('consul-1', 8500), timeout=3)"
    refused = engine.containers.get("dev-server1").exec_run(["python3", "-c", probe])
    assert refused.exit_code != 0 and b"Connection refused" in refused.output
    # The servers verify each other on RPC: each presents a certificate the CA signed for server.dc1.consul.
    tls = dev3.consul("/v1/agent/self")["DebugConfig"]["TLS"]
    assert tls["InternalRPC"]["VerifyIncoming"] and tls["InternalRPC"]["VerifyServerHostname"]
    assert tls["InternalRPC"]["VerifyOutgoing"]
    assert not tls["HTTPS"]["VerifyIncoming"]
    key = engine.containers.get("dev-consul-2").exec_run(["cat", SERVER_KEY_FILE]).output.decode()
    assert "PRIVATE KEY" in key and dev3.harness.plaintext_exposures([private_key_line(key)]) == []


def test_the_security_guides_consul_cli_commands_run_as_pasted(dev3: DevStack) -> None:
    """docs/security.md's way to use Consul's CLI as an administrator, each command as written, in one bash:
    the CA from the outputs, the API's address from consulUiUrl, the management token; `consul members`."""
    if not (os.environ.get("CONSUL_BIN") or shutil.which("consul")):
        skip_or_fail("no consul binary: set CONSUL_BIN (.ci/consul.sh prints one)")
    with scratch_folder() as folder:
        ca = Path(folder) / "consul-ca.pem"

        def wrote_the_ca(output: str, command) -> None:
            assert ca.read_text().startswith("-----BEGIN CERTIFICATE-----"), ca.read_text()[:200]

        def prints_nothing(output: str, command) -> None:
            assert output == "", output

        def lists_the_three_servers(output: str, command) -> None:
            alive = [line.split()[0] for line in output.splitlines()[1:] if " alive " in f" {line} " and "server" in line]
            assert sorted(alive) == ["consul-1", "consul-2", "consul-3"], output

        run_documented(SECURITY, THIS, {
            "pulumi stack output consulCaCert > consul-ca.pem": wrote_the_ca,
            """export CONSUL_HTTP_ADDR="$(pulumi stack output consulUiUrl | sed 's#/ui$##')" CONSUL_CACERT=consul-ca.pem""": prints_nothing,
            'export CONSUL_HTTP_TOKEN="$(pulumi stack output --show-secrets consulManagementToken)"': prints_nothing,
            "consul members": lists_the_three_servers,
        }, harness_shell("dev", dev3.outputs, Path(folder)))


def test_no_script_check_can_be_registered_over_the_api(dev3: DevStack) -> None:
    # Script checks stay off (Consul's default, neither enable_script_checks nor enable_local_script_checks):
    # even the management token cannot make an agent run a command.
    service = {"Name": "intruder", "Check": {"Args": ["/bin/sh", "-c", "id"], "Interval": "10s"}}
    refused = requests.put(
        f"{dev3.consul_http}/v1/agent/service/register", json=service, headers=dev3.management, timeout=10, verify=dev3.verify
    )
    assert refused.status_code >= 400 and "Scripts are disabled" in refused.text, refused.text


def test_the_swarm_is_autolocked_and_its_unlock_key_is_a_secret_output(dev3: DevStack, engine) -> None:
    spec = engine.swarm.attrs["Spec"]
    assert spec["EncryptionConfig"]["AutoLockManagers"] is True
    key = subprocess.run(["docker", "swarm", "unlock-key", "--quiet"], capture_output=True, text=True, check=True).stdout.strip()
    assert dev3.outputs["swarmUnlockKey"] == key
    assert dev3.harness.plaintext_exposures([key]) == []


def test_web_counts_with_redis_found_through_consul(dev3: DevStack, engine) -> None:
    env = engine.api.inspect_container("dev-web")["Config"]["Env"]
    assert "REDIS_HOST=redis.service.consul" in env

    first = web_count(dev3.outputs["webUrl"] + "/")
    assert web_count(dev3.outputs["webUrl"] + "/") == first + 1


def test_second_apply_changes_nothing(dev3: DevStack) -> None:
    dev3.apply("second apply (consulServers=3, no change)")
    assert dev3.harness.last_run.changes() == []


def test_an_engine_restart_loses_nothing_and_the_swarm_waits_for_its_unlock_key(dev3: DevStack, engine) -> None:
    """A host reboot with the swarm autolocked: Consul, its ACLs and TLS, the workers and the web app come
    back by themselves; the swarm's tasks wait for `docker swarm unlock` with the stack's key, as autolock
    means; then `pulumi up --refresh` proposes nothing."""
    counter = dev3.outputs["webUrl"] + "/"
    seen_before = web_count(counter)
    PHASES.append(("engine restart (consulServers=3): SIGTERM until the engine answers", restart_local_engine(engine)))
    time_recovery(
        {
            "three Consul servers alive, with a leader": lambda: len(dev3.consul("/v1/status/peers")) == 3 and dev3.consul("/v1/status/leader"),
            "the web counter counts on, Redis found through Consul": lambda: web_count(counter) > seen_before,
            "both workers pass and are in DNS": lambda: len(dev3.resolve("distributed_app.service.consul")) == 2,
            "the client reads with its own token": lambda: client_report(engine, dev3.outputs["clientContainer"])["kv"]["workers"] == "2",
        },
        since=time.monotonic(),
    )
    assert engine.info()["Swarm"]["LocalNodeState"] == "locked"
    unlocked = time.monotonic()
    subprocess.run(["docker", "swarm", "unlock"], input=dev3.outputs["swarmUnlockKey"] + "\n", text=True, check=True, capture_output=True)
    time_recovery({"heyworld runs its replicas once unlocked": lambda: dev3.running_tasks("dev-heyworld") == 2}, since=unlocked)

    dev3.apply("up --refresh after the engine restart (consulServers=3)", refresh=True)
    assert dev3.harness.runs[-2].names("delete") == []
    assert dev3.harness.last_run.changes() == []


def test_data_outlives_new_images_and_a_destroy(dev3: DevStack, engine) -> None:
    def kept() -> str:
        return dev3.consul_text("/v1/kv/e2e/kept", raw="true")

    def seen() -> int:
        body = urllib.request.urlopen(dev3.outputs["webUrl"] + "/", timeout=5).read().decode()
        return int(re.search(r"seen (\d+) times", body).group(1))

    written = requests.put(f"{dev3.consul_http}/v1/kv/e2e/kept", data="before", headers=dev3.management, timeout=10, verify=dev3.verify)
    assert written.status_code == 200
    count = seen()

    # New images replace Consul's servers (one after the other) and Redis: their volumes stay.
    for image, rolled in ((CONSUL_IMAGE, ROLLED_CONSUL), (REDIS_IMAGE, ROLLED_REDIS)):
        engine.images.build(fileobj=io.BytesIO(f"FROM {image}\nLABEL rolled=yes\n".encode()), tag=rolled, rm=True)
    dev3.overrides.update(consulImage=ROLLED_CONSUL, redisImage=ROLLED_REDIS)
    dev3.apply("apply with new Consul and Redis images")
    replaced = {name for op, _, name in dev3.harness.last_run.changes() if op == "replace"}
    assert {"consul-consul-1-agent", "consul-consul-2-agent", "consul-consul-3-agent", "compose-redis"} <= replaced
    assert kept() == "before"
    assert seen() == count + 1

    dev3.destroy()
    assert {volume.name for volume in engine.volumes.list()} >= set(RETAINED)

    # The same stack again, with a new management token: the data is there and ACLs still hold.
    dev3.apply("apply again after destroy")
    assert kept() == "before"
    assert seen() == count + 2
    assert requests.put(f"{dev3.consul_http}/v1/kv/e2e/anonymous", data="x", timeout=10, verify=dev3.verify).status_code == 403
