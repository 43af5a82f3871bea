"""The cluster stack under mocks: every resource on the right host, Consul and Swarm wired per host."""
from __future__ import annotations

import json

import pytest

from tests.unit.conftest import Deployment, deploy

CONTAINER = "docker:index/container:Container"
COMMAND = "command:local:Command"
ADDRESSES = {"larry": "10.0.0.11", "curly": "10.0.0.12", "moe": "10.0.0.13"}


@pytest.fixture(scope="module")
def cluster() -> Deployment:
    return deploy("cluster", {"registryUsername": "ci", "registryPassword": "s3cret-registry"}, secret_keys=("registryPassword",))


def engine_urn(deployment: Deployment, host: str) -> str:
    return deployment.one("pulumi:providers:docker", f"{host}-engine").urn


def test_one_engine_per_host_from_config(cluster: Deployment) -> None:
    for host, address in ADDRESSES.items():
        engine = cluster.one("pulumi:providers:docker", f"{host}-engine")
        assert engine.inputs["host"] == f"ssh://deploy@{address}"
        auth = json.loads(engine.inputs["registryAuth"])
        assert [(a["address"], a["username"], a["password"]) for a in auth] == [("10.0.0.11:5000", "ci", "s3cret-registry")]
        assert "registryAuth" in engine.secret_inputs


def test_every_container_runs_on_its_hosts_engine(cluster: Deployment) -> None:
    expected = {
        "consul-larry-agent": "larry",
        "consul-curly-agent": "curly",
        "consul-moe-agent": "moe",
        "app-larry-server1": "larry",
        "app-larry-server2": "larry",
        "app-curly-server1": "curly",
        "app-curly-server2": "curly",
        "client-moe-container": "moe",
        # The mesh, on by default in the cluster: each worker's pod and sidecar, the client's sidecar.
        **{f"app-{host}-server{n}-{part}": host for host in ("larry", "curly") for n in (1, 2) for part in ("pod", "sidecar")},
        "client-moe-sidecar": "moe",
    }
    containers = {r.name: r for r in cluster.of_type(CONTAINER)}
    assert sorted(containers) == sorted(expected)
    for name, host in expected.items():
        registration = containers[name]
        assert registration.provider_urn == engine_urn(cluster, host), name
        pulled = cluster.by_urn(
            next(d for d in registration.dependencies if "RemoteImage" in d and cluster.by_urn(d).parent == registration.parent)
        )
        assert pulled.provider_urn == engine_urn(cluster, host), name


def test_consul_servers_advertise_and_publish_on_the_private_address_only(cluster: Deployment) -> None:
    for host, address in ADDRESSES.items():
        agent = cluster.one(CONTAINER, f"consul-{host}-agent").inputs
        command = agent["command"]
        assert f"-advertise={address}" in command
        assert "-bootstrap-expect=3" in command
        joins = sorted(flag.split("=", 1)[1] for flag in command if flag.startswith("-retry-join="))
        assert joins == sorted(a for h, a in ADDRESSES.items() if h != host)
        published = {(p["external"], p["internal"], p["protocol"]) for p in agent["ports"]}
        assert published == {
            (8300, 8300, "tcp"),
            (8301, 8301, "tcp"),
            (8301, 8301, "udp"),
            (8302, 8302, "tcp"),
            (8302, 8302, "udp"),
            # TLS is on by default in the cluster: HTTPS only.
            (8501, 8501, "tcp"),
            (53, 53, "tcp"),
            (53, 53, "udp"),
        }
        assert {p["ip"] for p in agent["ports"]} == {address}
        # Two bindings of one container port and protocol would replace the server on every `pulumi up`.
        assert len({(p["internal"], p["protocol"]) for p in agent["ports"]}) == len(agent["ports"])


def test_containers_on_a_host_use_that_hosts_consul(cluster: Deployment) -> None:
    for name, host in (("app-larry-server1", "larry"), ("app-curly-server2", "curly"), ("client-moe-container", "moe")):
        registration = cluster.one(CONTAINER, name).inputs
        # In the mesh (the cluster's default) a worker's DNS servers are its pod's, whose namespace it joins.
        namespace = cluster.one(CONTAINER, f"{name}-pod").inputs if name.startswith("app-") else registration
        assert namespace["dns"] == [ADDRESSES[host]], name
        env = dict(item.split("=", 1) for item in registration["envs"])
        assert env["CONSUL_HTTP_ADDR"] == f"https://{ADDRESSES[host]}:8501", name


def test_workers_outside_the_mesh_publish_and_advertise_their_hosts_address() -> None:
    plain = deploy("cluster", {"consulMesh": False})
    assert not [r for r in plain.of_type(CONTAINER) if r.name.endswith(("-pod", "-sidecar"))]
    for index, worker in enumerate(("server1", "server2")):
        registration = plain.one(CONTAINER, f"app-curly-{worker}").inputs
        port = 8081 + index
        assert registration["ports"] == [{"internal": 8080, "external": port, "ip": "10.0.0.12"}]
        env = dict(item.split("=", 1) for item in registration["envs"])
        assert (env["SERVICE_ID"], env["SERVICE_ADDRESS"], env["SERVICE_PORT"]) == (worker, "10.0.0.12", str(port))


def test_images_are_built_once_and_pushed_to_the_registry(cluster: Deployment) -> None:
    build_engine = cluster.one("pulumi:providers:docker", "build-engine")
    builds = {r.name for r in cluster.of_type("docker:index/image:Image")}
    # Nothing in the cluster runs the compose app: its image is not built there.
    assert builds == {"distributed_app-image-build", "distributed_client-image-build"}
    for app in ("distributed_app", "distributed_client"):
        build = cluster.one("docker:index/image:Image", f"{app}-image-build")
        assert build.provider_urn == build_engine.urn
        assert build.inputs["build"]["platform"] == "linux/amd64"
        assert build.inputs["skipPush"] is False
        assert build.inputs["imageName"] == f"10.0.0.11:5000/orchestration/{app}:cluster"
        assert build.inputs["registry"]["server"] == "10.0.0.11:5000"
        assert "registry" in build.secret_inputs
    pulled = cluster.one("docker:index/remoteImage:RemoteImage", "app-larry-image")
    assert pulled.inputs["name"] == "10.0.0.11:5000/orchestration/distributed_app@sha256:distributed_app-image-build"


def test_swarm_init_then_token_then_joins_then_services(cluster: Deployment) -> None:
    init = cluster.one(COMMAND, "swarm-init")
    assert init.inputs["environment"] == {
        "DOCKER_HOST": "ssh://deploy@10.0.0.11", "SWARM_ADVERTISE_ADDR": "10.0.0.11", "SWARM_OWNER": "orchestration/cluster"
    }
    token = cluster.one(COMMAND, "swarm-worker-token")
    assert init.urn in token.dependencies
    joins = [cluster.one(COMMAND, f"swarm-join-{host}") for host in ("curly", "moe")]
    for join, host in zip(joins, ("curly", "moe")):
        assert token.urn in join.dependencies
        assert join.inputs["environment"]["DOCKER_HOST"] == f"ssh://deploy@{ADDRESSES[host]}"
        assert join.inputs["environment"]["SWARM_MANAGER"] == "10.0.0.11:2377"
        assert join.inputs["environment"]["SWARM_OWNER"] == "orchestration/cluster"
        assert "docker swarm leave" in join.inputs["delete"] and "docker node rm" in join.inputs["delete"]
    for service in cluster.of_type("docker:index/service:Service"):
        assert service.provider_urn == engine_urn(cluster, "larry")
        assert {init.urn, *(join.urn for join in joins)} <= service.dependencies
    assert not [r for r in cluster.of_type(COMMAND) if r.name == "swarm-join-larry"]


def test_the_worker_token_stays_secret_end_to_end(cluster: Deployment) -> None:
    token = cluster.one(COMMAND, "swarm-worker-token")
    assert token.additional_secret_outputs == ("stdout",)
    assert token.inputs["logging"] == "stderr"
    for host in ("curly", "moe"):
        join = cluster.one(COMMAND, f"swarm-join-{host}")
        assert "environment" in join.secret_inputs
        assert join.inputs["environment"]["SWARM_TOKEN"] == "stdout-of-swarm-worker-token"
    assert "stdout-of-swarm-worker-token" not in json.dumps(cluster.outputs)


def test_heyworld_replicas_change_is_an_input_change_not_a_new_resource() -> None:
    two = deploy("cluster", {"heyworldReplicas": 2})
    three = deploy("cluster", {"heyworldReplicas": 3})
    before = two.one("docker:index/service:Service", "heyworld-service")
    after = three.one("docker:index/service:Service", "heyworld-service")
    assert before.urn == after.urn
    assert {k: v for k, v in before.inputs.items() if k != "mode"} == {k: v for k, v in after.inputs.items() if k != "mode"}
    assert after.inputs["mode"] == {"replicated": {"replicas": 3}}


def test_kv_settings_count_every_worker(cluster: Deployment) -> None:
    keys = cluster.one("consul:index/keys:Keys", "catalog-kv").inputs["keys"]
    assert {"path": "distributed_app/cluster/workers", "value": "4"} in keys


def test_five_hosts_make_five_consul_servers() -> None:
    hosts = [
        {"name": f"node{i}", "docker": f"tcp://10.1.0.{i}:2376", "address": f"10.1.0.{i}", "roles": ["consul-server", "app", "client"]}
        for i in range(1, 6)
    ]
    five = deploy("cluster", {"hosts": hosts, "swarmManager": "node3"})
    agents = [r for r in five.of_type(CONTAINER) if r.name.endswith("-agent")]
    assert len(agents) == 5
    for agent in agents:
        command = agent.inputs["command"]
        assert "-bootstrap-expect=5" in command
        assert len([flag for flag in command if flag.startswith("-retry-join=")]) == 4
    assert five.one(COMMAND, "swarm-init").inputs["environment"]["DOCKER_HOST"] == "tcp://10.1.0.3:2376"
    assert len([r for r in five.of_type(COMMAND) if r.name.startswith("swarm-join-")]) == 4
    # Agents, workers and clients, and in the mesh each worker's pod and sidecar and each client's sidecar.
    assert len(five.of_type(CONTAINER)) == 5 + 5 * 2 + 5 + 5 * 2 * 2 + 5


def test_tls_material_for_tcp_engines_is_secret() -> None:
    hosts = [{**h, "docker": f"tcp://{h['address']}:2376"} for h in (
        {"name": name, "address": address, "roles": ["consul-server", "app", "client"]} for name, address in ADDRESSES.items()
    )]
    pem = {"dockerTlsCa": "CA PEM", "dockerTlsCert": "CERT PEM", "dockerTlsKey": "KEY PEM"}
    tls = deploy("cluster", {"hosts": hosts, **pem}, secret_keys=tuple(pem))
    engine = tls.one("pulumi:providers:docker", "moe-engine")
    assert engine.inputs["caMaterial"] == "CA PEM"
    assert {"caMaterial", "certMaterial", "keyMaterial"} <= engine.secret_inputs


def test_the_cluster_follows_consuls_advice_for_raft_timing_and_dev_keeps_consuls_default(cluster: Deployment) -> None:
    for host in ADDRESSES:
        assert "-hcl=performance { raft_multiplier = 1 }" in cluster.one(CONTAINER, f"consul-{host}-agent").inputs["command"]
    dev = deploy("dev")
    assert not [flag for flag in dev.one(CONTAINER, "consul-consul-1-agent").inputs["command"] if "raft_multiplier" in flag]
    chosen = deploy("dev", {"consulRaftMultiplier": 3}).one(CONTAINER, "consul-consul-1-agent").inputs["command"]
    assert "-hcl=performance { raft_multiplier = 3 }" in chosen
