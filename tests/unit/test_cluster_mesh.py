"""Consul's service mesh in the cluster, on by default there: each worker and its sidecar in a pod that publishes
only the sidecar's public listener, on the host's address and the worker's port; the client's sidecar on its
host; every sidecar talking to its own host's agent; the intentions through the cluster's consul provider;
the servers running Consul's CA; Envoy with gRPC on every agent, client agents too; the sandbox refusing the key."""
from __future__ import annotations

import pytest

from components.mesh_sidecar import MESH_LABEL, SIDECAR_PORT, SIDECAR_PORT_LABEL
from tests.unit.conftest import Deployment, deploy, deploy_rejected

CONTAINER = "docker:index/container:Container"
INTENTIONS = "consul:index/configEntryServiceIntentions:ConfigEntryServiceIntentions"
ADDRESSES = {"larry": "10.0.0.11", "curly": "10.0.0.12", "moe": "10.0.0.13"}


@pytest.fixture(scope="module")
def cluster() -> Deployment:
    return deploy("cluster")


def env(container) -> dict[str, str]:
    return dict(item.split("=", 1) for item in container.inputs["envs"])


def engine_urn(deployment: Deployment, host: str) -> str:
    return deployment.one("pulumi:providers:docker", f"{host}-engine").urn


def test_the_mesh_is_on_by_default_in_the_cluster_with_consuls_ca_on_every_server(cluster: Deployment) -> None:
    for host in ADDRESSES:
        command = cluster.one(CONTAINER, f"consul-{host}-agent").inputs["command"]
        assert "-hcl=connect { enabled = true }" in command, host
        assert not [part for part in command if "grpc" in part], host  # the built-in proxy speaks the HTTP API only
    assert not [p for p in cluster.one(CONTAINER, "consul-larry-agent").inputs["ports"] if p["internal"] in (8502, 8503)]


def test_each_worker_and_its_sidecar_share_a_pod_that_publishes_the_sidecar_only(cluster: Deployment) -> None:
    for host in ("larry", "curly"):
        address = ADDRESSES[host]
        for index, worker_id in enumerate(("server1", "server2")):
            port = 8081 + index
            worker = cluster.one(CONTAINER, f"app-{host}-{worker_id}")
            pod = cluster.one(CONTAINER, f"app-{host}-{worker_id}-pod")
            sidecar = cluster.one(CONTAINER, f"app-{host}-{worker_id}-sidecar")
            # The sidecar's public listener, the same port inside and on the host's address: nothing else.
            assert pod.inputs["ports"] == [{"internal": port, "external": port, "ip": address}]
            assert pod.inputs["labels"] == [
                {"label": MESH_LABEL, "value": "distributed_app"}, {"label": SIDECAR_PORT_LABEL, "value": str(port)}
            ]
            assert pod.inputs["dns"] == [address] and pod.inputs["hostname"] == worker_id
            assert not worker.inputs.get("ports") and worker.inputs["networkMode"] == f"container:{pod.name}-id"
            assert {key: env(worker).get(key) for key in ("LISTEN_ADDRESS", "SIDECAR_PORT", "NODE_ADDRESS", "SERVICE_ADDRESS")} == {
                "LISTEN_ADDRESS": "127.0.0.1", "SIDECAR_PORT": str(port), "NODE_ADDRESS": address, "SERVICE_ADDRESS": None,
            }
            assert sidecar.inputs["command"] == ["consul", "connect", "proxy", "-sidecar-for", worker_id]
            assert sidecar.inputs["networkMode"] == f"container:{pod.name}-id"
            assert f"{port:04X}" in sidecar.inputs["healthcheck"]["tests"][1]  # listening on its own port
            # Its own host's agent, over HTTPS (the cluster's default), with the app's service identity.
            assert env(sidecar)["CONSUL_HTTP_ADDR"] == f"https://{address}:8501"
            assert "uploads" in sidecar.secret_inputs
            for container in (worker, pod, sidecar):
                assert container.provider_urn == engine_urn(cluster, host), container.name
                assert container.parent == worker.parent
            assert {worker.urn, pod.urn} <= sidecar.dependencies and pod.urn in worker.dependencies
            assert cluster.one("consul:index/aclToken:AclToken", "access-distributed-app-sidecar-token").urn in sidecar.dependencies


def test_the_client_on_moe_calls_through_its_sidecar_once_every_sidecar_and_intention_is_there(cluster: Deployment) -> None:
    client = cluster.one(CONTAINER, "client-moe-container")
    assert (env(client)["SIDECAR_PORT"], env(client)["APP_URL"]) == (str(SIDECAR_PORT), "http://127.0.0.1:9191/")
    sidecar = cluster.one(CONTAINER, "client-moe-sidecar")
    assert sidecar.inputs["command"] == ["consul", "connect", "proxy", "-sidecar-for", "cluster-client"]
    assert sidecar.provider_urn == engine_urn(cluster, "moe") and client.urn in sidecar.dependencies
    assert env(sidecar)["CONSUL_HTTP_ADDR"] == "https://10.0.0.13:8501"
    needed = {r.urn for r in cluster.of_type(CONTAINER) if r.name.startswith("app-") and r.name.endswith("-sidecar")}
    needed |= {r.urn for r in cluster.of_type(INTENTIONS)}
    assert len(needed) == 4 + 2 and needed <= client.dependencies
    assert cluster.outputs["inventory"]["hosts"]["moe"]["cluster-client-sidecar"] == "hashicorp/consul:1.16"
    assert cluster.outputs["inventory"]["hosts"]["larry"]["cluster-server1-pod"].endswith("distributed_app@sha256:distributed_app-image-build")


def test_the_intentions_go_through_the_clusters_consul_provider(cluster: Deployment) -> None:
    api = cluster.one("pulumi:providers:consul", "consul-api")
    entries = {r.name: r for r in cluster.of_type(INTENTIONS)}
    assert set(entries) == {"mesh-deny-all", "mesh-distributed_app"}
    assert all(entry.provider_urn == api.urn for entry in entries.values())


def test_outside_the_mesh_the_cluster_runs_no_pod_sidecar_or_intention() -> None:
    plain = deploy("cluster", {"consulMesh": False})
    assert not plain.of_type(INTENTIONS)
    assert not [r for r in plain.of_type(CONTAINER) if r.name.endswith(("-pod", "-sidecar"))]
    assert "-hcl=connect { enabled = true }" not in plain.one(CONTAINER, "consul-larry-agent").inputs["command"]


def test_envoy_takes_its_configuration_from_its_own_hosts_agent_over_grpc_client_agents_too() -> None:
    hosts = [
        {"name": "larry", "docker": "tcp://10.0.0.11:2376", "address": "10.0.0.11", "roles": ["consul-server", "app"]},
        {"name": "curly", "docker": "tcp://10.0.0.12:2376", "address": "10.0.0.12", "roles": ["consul-server", "app"]},
        {"name": "moe", "docker": "tcp://10.0.0.13:2376", "address": "10.0.0.13", "roles": ["consul-server"]},
        {"name": "shemp", "docker": "tcp://10.0.0.14:2376", "address": "10.0.0.14", "roles": ["client"]},
    ]
    envoy = deploy("cluster", {"hosts": hosts, "meshProxy": "envoy", "meshEnvoyImage": "example/consul-envoy:1.16"})
    for host, address in (("larry", "10.0.0.11"), ("shemp", "10.0.0.14")):
        agent = envoy.one(CONTAINER, f"consul-{host}-agent").inputs
        assert "-hcl=ports { grpc_tls = 8503 }" in agent["command"], host
        assert {"internal": 8503, "external": 8503, "ip": address, "protocol": "tcp"} in agent["ports"], host
    sidecar = envoy.one(CONTAINER, "client-shemp-sidecar").inputs
    assert sidecar["command"] == ["consul", "connect", "envoy", "-sidecar-for", "cluster-client", "-grpc-addr", "https://10.0.0.14:8503"]
    worker_sidecar = envoy.one(CONTAINER, "app-curly-server2-sidecar").inputs
    assert worker_sidecar["command"][-1] == "https://10.0.0.12:8503"


def test_the_sandbox_refuses_the_mesh_key_and_names_where_it_belongs() -> None:
    message, registered = deploy_rejected("sandbox", {"consulMesh": True})
    assert registered == []
    assert "orchestration:consulMesh" in message and "cluster stack" in message
