"""Three Consul servers with ACLs and TLS, and an autolocked swarm, through the real Pulumi CLI and
providers (see real_pulumi.py): the workloads work with their own tokens over HTTPS, a request without
a token cannot write, no secret (tokens, gossip key, a server's private key, unlock key) is in the state
or the output in plain text; an engine restart changes nothing a refreshed preview would see; a new image replaces the servers one after the other, each once the one
before it serves again, and a leader remains."""
from __future__ import annotations

import json
import re
import subprocess
import time

import pytest
import requests

from components.consul_server import SECRET_CONFIG_FILE
from components.consul_tls import KEY_FILE
from tests.harness.exposure import private_key_line
from tests.harness.local_images import CONSUL_IMAGE

from .engine_restart import restart_local_engine, time_recovery
from .real_pulumi import RealProject, deployed
from .support import PHASES, client_report, consul_ca_file

pytestmark = pytest.mark.docker

ROLLED_IMAGE = "orchestration-e2e/consul:rolled"
AGENTS = ("consul-consul-1-agent", "consul-consul-2-agent", "consul-consul-3-agent")
UNLOCK_COMMAND = "pulumi stack output --show-secrets swarmUnlockKey | docker swarm unlock"


@pytest.fixture(scope="module")
def real3(engine) -> RealProject:
    with deployed(engine, consulServers=3, consulAcl=True, consulTls=True, swarmAutolock=True) as project:
        yield project


def test_three_servers_elect_a_leader_and_a_second_preview_proposes_nothing(real3: RealProject) -> None:
    outputs = real3.outputs()
    consul = f"https://{outputs['consulHttpAddress']}"
    assert len(requests.get(f"{consul}/v1/status/peers", timeout=5, verify=consul_ca_file(outputs)).json()) == 3
    assert requests.get(f"http://{outputs['consulHttpAddress']}/v1/status/peers", timeout=5).status_code == 400
    assert real3.preview_changes("real: no-change preview") == []


def test_after_an_engine_restart_consul_answers_the_swarm_unlocks_and_a_refreshed_preview_proposes_nothing(real3: RealProject, engine) -> None:
    """A host reboot: the servers elect a leader again by themselves; the autolocked swarm waits for the
    key `pulumi stack output --show-secrets swarmUnlockKey` gives, as docs/day-2.md says; then a
    refreshed preview finds nothing to change."""
    real3.run("preview", "--refresh", "--expect-no-changes", label="real: preview --refresh (consulServers=3)")
    outputs = json.loads(real3.run("stack", "output", "--json", "--show-secrets").stdout)
    consul = f"https://{outputs['consulHttpAddress']}"
    verify = consul_ca_file(outputs)
    PHASES.append(("real: engine restart (consulServers=3), SIGTERM until the engine answers", restart_local_engine(engine)))
    time_recovery(
        {
            "real: three Consul servers with a leader, over HTTPS": lambda: len(requests.get(f"{consul}/v1/status/peers", timeout=2, verify=verify).json()) == 3
            and requests.get(f"{consul}/v1/status/leader", timeout=2, verify=verify).json(),
            "real: the client reads KV with its own token": lambda: client_report(engine, outputs["clientContainer"])["kv"]["workers"] == "2",
        },
        since=time.monotonic(),
    )
    assert engine.info()["Swarm"]["LocalNodeState"] == "locked"
    # As docs/day-2.md has it, in the project (whose stack `make up` selected).
    unlock = subprocess.run(UNLOCK_COMMAND, shell=True, cwd=real3.dir, env=real3.environment, capture_output=True, text=True, check=False)
    assert unlock.returncode == 0, unlock.stderr
    assert engine.info()["Swarm"]["LocalNodeState"] == "active"
    real3.run("preview", "--refresh", "--expect-no-changes", label="real: preview --refresh after the engine restart (consulServers=3)")


def test_workloads_use_their_tokens_and_anonymous_writes_are_refused(real3: RealProject) -> None:
    outputs = real3.outputs()
    consul, verify = f"https://{outputs['consulHttpAddress']}", consul_ca_file(outputs)
    assert outputs["consulManagementToken"] == "[secret]"
    management = json.loads(real3.run("stack", "output", "--json", "--show-secrets").stdout)["consulManagementToken"]
    headers = {"X-Consul-Token": management}
    passing = requests.get(
        f"{consul}/v1/health/service/distributed_app", params={"passing": "true"}, headers=headers, timeout=5, verify=verify
    )
    assert sorted(entry["Service"]["ID"] for entry in passing.json()) == ["server1", "server2"]
    assert requests.put(f"{consul}/v1/kv/real/anonymous", data="x", timeout=5, verify=verify).status_code == 403
    tokens = [management]
    for name in ("dev-server1", "dev-client"):
        inspected = json.loads(subprocess.run(["docker", "inspect", name], capture_output=True, text=True, check=True).stdout)[0]
        tokens += [item.split("=", 1)[1] for item in inspected["Config"]["Env"] if item.startswith("CONSUL_HTTP_TOKEN=")]
    gossip = subprocess.run(["docker", "exec", "dev-consul-1", "cat", SECRET_CONFIG_FILE], capture_output=True, text=True, check=True)
    tokens.append(json.loads(gossip.stdout)["encrypt"])
    unlock_key = subprocess.run(["docker", "swarm", "unlock-key", "--quiet"], capture_output=True, text=True, check=True).stdout.strip()
    assert json.loads(real3.run("stack", "output", "--json", "--show-secrets").stdout)["swarmUnlockKey"] == unlock_key
    tokens.append(unlock_key)
    server_key = subprocess.run(["docker", "exec", "dev-consul-2", "cat", KEY_FILE], capture_output=True, text=True, check=True)
    tokens.append(private_key_line(server_key.stdout))
    assert len(set(tokens)) == 6
    state = real3.exported_state()
    assert [token for token in tokens if token in state] == []
    assert [token for token in tokens if token in real3.up_output] == []


def test_a_new_image_replaces_the_servers_one_after_the_other(real3: RealProject) -> None:
    # The same Consul under another image id: every server must be replaced.
    subprocess.run(["docker", "build", "-q", "-t", ROLLED_IMAGE, "-"], input=f"FROM {CONSUL_IMAGE}\nLABEL rolled=yes\n", text=True, check=True, capture_output=True)
    real3.set_config({"consulImage": ROLLED_IMAGE})
    output = real3.run("up", "--yes", "--skip-preview", label="real: up with a new Consul image").stdout
    events = [
        (agent, event)
        for line in output.splitlines()
        if (match := re.search(r"(consul-consul-\d-agent) (deleting original|created replacement)", line))
        for agent, event in [match.groups()]
    ]
    # Each server is back before the next one goes.
    assert events == [(agent, event) for agent in AGENTS for event in ("deleting original", "created replacement")], events
    outputs = real3.outputs()
    consul, verify = f"https://{outputs['consulHttpAddress']}", consul_ca_file(outputs)
    assert requests.get(f"{consul}/v1/status/leader", timeout=5, verify=verify).json()
    assert len(requests.get(f"{consul}/v1/status/peers", timeout=5, verify=verify).json()) == 3
    assert real3.preview_changes("real: no-change preview after the new image") == []
