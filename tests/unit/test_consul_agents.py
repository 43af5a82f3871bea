"""A Consul client agent on every host without a server, under mocks: each host's containers register
with and ask their own host's agent; the agents join with the cluster's gossip key, CA and a token each."""
from __future__ import annotations

import json

import pytest

from components.consul_client_agent import SYNCED_CHECK
from components.consul_server import SECRET_CONFIG_FILE, TOKEN_FILE
from components.consul_tls import CERT_FILE, KEY_FILE
from tests.unit.conftest import Deployment, deploy, deploy_rejected

CONTAINER = "docker:index/container:Container"
ACL_TOKEN = "consul:index/aclToken:AclToken"
CLIENT_AGENT = "orchestration:consul:ConsulClientAgent"
SERVER = "orchestration:consul:ConsulServer"
ADDRESSES = {"larry": "10.0.0.11", "curly": "10.0.0.12", "moe": "10.0.0.13", "shemp": "10.0.0.14", "joe": "10.0.0.15"}
# Three servers, two hosts without: workers on a server host and a client host, the client on a client host.
ROLES = {"larry": ["consul-server", "app"], "curly": ["consul-server"], "moe": ["consul-server"], "shemp": ["app"], "joe": ["client"]}
CLIENT_HOSTS = ("shemp", "joe")


def hosts(roles: dict[str, list[str]]) -> list[dict]:
    return [{"name": name, "docker": f"tcp://{ADDRESSES[name]}:2376", "address": ADDRESSES[name], "roles": given} for name, given in roles.items()]


@pytest.fixture(scope="module")
def five() -> Deployment:
    return deploy("cluster", {"hosts": hosts(ROLES)})


def uploads(container) -> dict[str, str]:
    return {upload["file"]: upload["content"] for upload in container.inputs["uploads"]}


def env(container) -> dict[str, str]:
    return dict(item.split("=", 1) for item in container.inputs["envs"])


def test_each_host_without_a_server_gets_a_client_agent_under_the_cluster_on_its_own_engine(five: Deployment) -> None:
    cluster = five.one("orchestration:consul:ConsulCluster", "consul")
    assert sorted(r.name for r in five.of_type(CLIENT_AGENT)) == ["consul-joe", "consul-shemp"]
    assert sorted(r.name for r in five.of_type(SERVER)) == ["consul-curly", "consul-larry", "consul-moe"]
    for host in CLIENT_HOSTS:
        component = five.one(CLIENT_AGENT, f"consul-{host}")
        assert component.parent == cluster.urn
        agent = five.one(CONTAINER, f"consul-{host}-agent")
        assert agent.parent == component.urn
        assert agent.provider_urn == five.one("pulumi:providers:docker", f"{host}-engine").urn
        assert agent.inputs["name"] == f"cluster-{host}" and agent.inputs["hostname"] == host
    assert five.outputs["consulClientAgents"] == list(CLIENT_HOSTS)
    assert five.outputs["consulNodes"] == ["larry", "curly", "moe"]
    assert {host: sorted(containers) for host, containers in five.outputs["inventory"]["hosts"].items()}["curly"] == ["cluster-curly"]
    assert "cluster-joe" in five.outputs["inventory"]["hosts"]["joe"]


def test_a_client_agent_is_no_server_and_joins_the_servers_at_their_addresses(five: Deployment) -> None:
    for host in CLIENT_HOSTS:
        command = five.one(CONTAINER, f"consul-{host}-agent").inputs["command"]
        assert command[:2] == ["consul", "agent"] and "-server" not in command
        assert not [flag for flag in command if flag.startswith("-bootstrap-expect")]
        assert f"-node={host}" in command and f"-advertise={ADDRESSES[host]}" in command
        assert sorted(flag.split("=", 1)[1] for flag in command if flag.startswith("-retry-join=")) == sorted(
            ADDRESSES[server] for server in ("larry", "curly", "moe")
        )
        assert "-recursor=127.0.0.11" in command and "-dns-port=53" in command


def test_a_client_agent_publishes_serf_lan_its_api_and_dns_on_its_hosts_address_only(five: Deployment) -> None:
    for host in CLIENT_HOSTS:
        ports = five.one(CONTAINER, f"consul-{host}-agent").inputs["ports"]
        assert {(p["external"], p["internal"], p["protocol"]) for p in ports} == {
            (8301, 8301, "tcp"), (8301, 8301, "udp"), (8501, 8501, "tcp"), (53, 53, "tcp"), (53, 53, "udp"),
        }
        assert {p["ip"] for p in ports} == {ADDRESSES[host]}


def test_every_container_registers_with_and_resolves_through_its_own_hosts_agent(five: Deployment) -> None:
    for name, host in (("app-larry-server1", "larry"), ("app-shemp-server2", "shemp"), ("client-joe-container", "joe")):
        container = five.one(CONTAINER, name)
        # In the mesh (the cluster's default) a worker's DNS servers are its pod's, whose namespace it joins.
        namespace = five.one(CONTAINER, f"{name}-pod") if name.startswith("app-") else container
        assert namespace.inputs["dns"] == [ADDRESSES[host]], name
        assert env(container)["CONSUL_HTTP_ADDR"] == f"https://{ADDRESSES[host]}:8501", name
        if "CONSUL_DNS_SERVER" in env(container):
            assert env(container)["CONSUL_DNS_SERVER"] == ADDRESSES[host]
        # Created once that agent serves (its container waits for its health), and on no other client agent.
        own_agent = five.one(CONTAINER, f"consul-{host}-agent")
        assert own_agent.urn in container.dependencies, name
        others = {five.one(CONTAINER, f"consul-{other}-agent").urn for other in CLIENT_HOSTS if other != host}
        assert not others & container.dependencies, name


def test_each_client_agent_has_a_node_identity_token_of_its_own_kept_secret(five: Deployment) -> None:
    api = five.one("pulumi:providers:consul", "consul-api")
    for host in CLIENT_HOSTS:
        token = five.one(ACL_TOKEN, f"consul-{host}-agent-token")
        assert token.inputs["nodeIdentities"] == [{"nodeName": host, "datacenter": "dc1"}]
        assert not token.inputs.get("policies") and token.provider_urn == api.urn
        agent = five.one(CONTAINER, f"consul-{host}-agent")
        files = uploads(agent)
        assert "uploads" in agent.secret_inputs
        secret = f"secret-of-accessor-of-{token.name}"
        config = json.loads(files[SECRET_CONFIG_FILE])
        assert config["acl"] == {"enabled": True, "default_policy": "deny", "tokens": {"agent": secret}}
        # The same gossip key as the servers'; no management token anywhere on a client host.
        server_config = json.loads(uploads(five.one(CONTAINER, "consul-larry-agent"))[SECRET_CONFIG_FILE])
        assert config["encrypt"] == server_config["encrypt"]
        assert server_config["acl"]["tokens"]["initial_management"] not in json.dumps(files)
        assert files[TOKEN_FILE] == secret
        assert secret not in json.dumps(agent.inputs["envs"]) and secret not in json.dumps(agent.inputs["command"])
        assert secret not in json.dumps(five.outputs)


def test_a_client_agents_certificate_names_no_server_and_its_address(five: Deployment) -> None:
    for host in CLIENT_HOSTS:
        request = five.one("tls:index/certRequest:CertRequest", f"consul-tls-{host}-request").inputs
        assert request["subject"]["commonName"] == "client.dc1.consul"
        assert not [name for name in request["dnsNames"] if name.startswith("server.")]
        assert ADDRESSES[host] in request["ipAddresses"]
        files = uploads(five.one(CONTAINER, f"consul-{host}-agent"))
        assert {CERT_FILE, KEY_FILE} <= set(files)
    assert five.one("tls:index/certRequest:CertRequest", "consul-tls-larry-request").inputs["subject"]["commonName"] == "server.dc1.consul"


def test_client_agents_start_after_the_servers_one_host_after_the_other_each_once_synced(five: Deployment) -> None:
    ready = five.one("command:local:Command", "consul-ready")
    first, second = (five.one(CONTAINER, f"consul-{host}-agent") for host in CLIENT_HOSTS)
    assert ready.urn in first.dependencies and ready.urn in second.dependencies
    assert first.urn in second.dependencies and second.urn not in first.dependencies
    assert first.inputs["wait"] is True and first.inputs["healthcheck"]["tests"] == ["CMD-SHELL", SYNCED_CHECK]
    assert env(first)["CONSUL_HTTP_TOKEN_FILE"] == TOKEN_FILE and env(first)["CONSUL_HTTP_ADDR"] == "https://127.0.0.1:8501"
    assert first.delete_before_replace


def test_without_acls_tls_or_gossip_encryption_a_client_agent_has_nothing_secret() -> None:
    plain = deploy("cluster", {"hosts": hosts(ROLES), "consulAcl": False, "consulTls": False, "consulGossipEncryption": False})
    agent = plain.one(CONTAINER, "consul-shemp-agent")
    assert agent.inputs.get("uploads") is None and not plain.of_type(ACL_TOKEN)
    assert "-http-port=8500" in agent.inputs["command"]
    assert env(plain.one(CONTAINER, "app-shemp-server1"))["CONSUL_HTTP_ADDR"] == "http://10.0.0.14:8500"


def test_the_chapters_three_servers_make_no_client_agent() -> None:
    three = deploy("cluster")
    assert not three.of_type(CLIENT_AGENT) and three.outputs["consulClientAgents"] == []


@pytest.mark.parametrize(
    ("roles", "error"),
    [
        (
            {**ROLES, "shemp": ["consul-server", "app"]},
            "config `orchestration:hosts`: 4 hosts have the role 'consul-server'; Consul needs an odd quorum: one of [1, 3, 5]",
        ),
        ({**ROLES, "joe": ["app"]}, "config `orchestration:hosts`: no host has the role 'client'"),
        ({**ROLES, "joe": ["agent"]}, "config `orchestration:hosts[4].roles`: ['agent']: expected a list of ['consul-server', 'app', 'client']"),
    ],
    ids=["four servers", "no client", "an unknown role"],
)
def test_bad_roles_are_refused_before_anything_is_registered(roles: dict, error: str) -> None:
    message, registered = deploy_rejected("cluster", {"hosts": hosts(roles)})
    assert message.startswith(error), message
    assert registered == []


def test_a_host_added_without_a_server_changes_no_other_hosts_agent(five: Deployment) -> None:
    """Growing the cluster: the new host's agent joins the servers; nothing already running is touched."""
    four = deploy("cluster", {"hosts": hosts({name: roles for name, roles in ROLES.items() if name != "shemp"})})
    for host in ("larry", "curly", "moe", "joe"):
        before, after = four.one(CONTAINER, f"consul-{host}-agent"), five.one(CONTAINER, f"consul-{host}-agent")
        assert before.urn == after.urn and before.inputs == after.inputs, host
    for name in ("app-larry-server1", "client-joe-container"):
        assert four.one(CONTAINER, name).inputs == five.one(CONTAINER, name).inputs, name
    added = {r.name for r in five.registrations} - {r.name for r in four.registrations}
    assert {"consul-shemp", "consul-shemp-agent", "consul-shemp-agent-token", "consul-tls-shemp-key", "app-shemp-server1"} <= added


def test_past_ten_hosts_without_a_server_client_agents_roll_in_lanes_that_never_hold_every_host_of_a_workload_at_once() -> None:
    """28 hosts: three servers with workers, 25 without, the client on two of those (a workload no server host
    runs). Each agent waits for the servers and for one other agent at most: the one before it in its lane."""
    roles = {server: ["consul-server", "app"] for server in ("larry", "curly", "moe")}
    roles.update({f"c{index}": ["app"] for index in range(25)})
    roles["c0"] = roles["c1"] = ["client"]
    layout = [
        {"name": name, "docker": f"tcp://10.2.0.{index + 1}:2376", "address": f"10.2.0.{index + 1}", "roles": given}
        for index, (name, given) in enumerate(roles.items())
    ]
    many = deploy("cluster", {"hosts": layout})
    ready = many.one("command:local:Command", "consul-ready")
    agents = {host: many.one(CONTAINER, f"consul-{host}-agent") for host in roles if host[1:].isdigit()}
    host_of = {agent.urn: host for host, agent in agents.items()}
    before: dict[str, str] = {}
    for host, agent in agents.items():
        assert ready.urn in agent.dependencies, host
        waited_for = [host_of[urn] for urn in agent.dependencies if urn in host_of]
        assert len(waited_for) <= 1, (host, waited_for)
        before.update({host: waited_for[0]} if waited_for else {})
    firsts = [host for host in agents if host not in before]
    lanes = []
    for first in firsts:
        lane = [first]
        while (following := [host for host, previous in before.items() if previous == lane[-1]]):
            assert len(following) == 1, (lane, following)
            lane.append(following[0])
        lanes.append(lane)
    assert sorted(host for lane in lanes for host in lane) == sorted(agents)
    assert [len(lane) for lane in lanes] == [9, 8, 8], lanes
    # The client's two hosts never roll at the same moment; the workers run on the servers' hosts too.
    assert any({"c0", "c1"} <= set(lane) for lane in lanes), lanes


def test_a_hosts_containers_wait_for_its_agents_container_which_waits_for_the_agents_volume_and_image(five: Deployment) -> None:
    """Each dependency on a component is one on every child, each walked by the SDK for a cycle: the
    container alone says the same (it takes the volume's name and the image's id)."""
    for host, dependent in (("shemp", "app-shemp-server1"), ("joe", "client-joe-container"), ("larry", "app-larry-server1")):
        agent = five.one(CONTAINER, f"consul-{host}-agent")
        volume = five.one("docker:index/volume:Volume", f"consul-{host}-data")
        image = five.one("docker:index/remoteImage:RemoteImage", f"consul-{host}-image")
        dependencies = five.one(CONTAINER, dependent).dependencies
        assert agent.urn in dependencies and volume.urn not in dependencies and image.urn not in dependencies, host
        assert {volume.urn, image.urn} <= set(agent.dependencies), host
    second = five.one(CONTAINER, "consul-joe-agent")
    assert five.one(CONTAINER, "consul-shemp-agent").urn in second.dependencies
    assert five.one("docker:index/volume:Volume", "consul-shemp-data").urn not in second.dependencies
