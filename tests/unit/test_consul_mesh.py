"""Consul's service mesh in dev (`consulMesh`): the CA on, a sidecar per worker and for the client, workers on
loopback, intentions that deny by default, sidecar tokens that are service identities; Envoy as declared."""
from __future__ import annotations

import pytest

from components.consul_mesh import Intention, allowed_sources
from components.mesh_sidecar import MESH_LABEL, SIDECAR_PORT, TOKEN_FILE, SidecarArgs, proxy_command
from tests.unit.conftest import Deployment, deploy

CONTAINER = "docker:index/container:Container"
INTENTIONS = "consul:index/configEntryServiceIntentions:ConfigEntryServiceIntentions"
TOKEN = "consul:index/aclToken:AclToken"
POLICY = "consul:index/aclPolicy:AclPolicy"


@pytest.fixture(scope="module")
def mesh() -> Deployment:
    return deploy("dev", {"consulMesh": True})


@pytest.fixture(scope="module")
def mesh_with_acl() -> Deployment:
    return deploy("dev", {"consulMesh": True, "consulAcl": True, "consulTls": True})


def env(container) -> dict[str, str]:
    return dict(item.split("=", 1) for item in container.inputs["envs"])


def test_the_mesh_is_off_in_dev_by_default() -> None:
    dev = deploy("dev")
    assert not dev.of_type(INTENTIONS)
    assert not [c for c in dev.of_type(CONTAINER) if c.name.endswith("-sidecar")]
    agent = dev.one(CONTAINER, "consul-consul-1-agent")
    assert "-hcl=connect { enabled = true }" not in agent.inputs["command"]


def test_the_servers_run_consuls_ca(mesh: Deployment) -> None:
    command = mesh.one(CONTAINER, "consul-consul-1-agent").inputs["command"]
    assert "-hcl=connect { enabled = true }" in command
    assert not [part for part in command if "grpc" in part]  # the built-in proxy speaks the HTTP API only


def test_intentions_deny_every_call_but_the_clients_to_the_app(mesh: Deployment) -> None:
    entries = {r.name: r for r in mesh.of_type(INTENTIONS)}
    assert set(entries) == {"mesh-deny-all", "mesh-distributed_app"}
    deny = entries["mesh-deny-all"].inputs
    assert (deny["name"], [(s["name"], s["action"], s["precedence"]) for s in deny["sources"]]) == ("*", [("*", "deny", 5)])
    allow = entries["mesh-distributed_app"].inputs
    assert (allow["name"], [(s["name"], s["action"], s["precedence"]) for s in allow["sources"]]) == (
        "distributed_app", [("distributed_client", "allow", 9)]
    )
    component = next(r for r in mesh.registrations if r.type == "orchestration:consul:ConsulMesh")
    api = mesh.one("pulumi:providers:consul", "consul-api")
    for entry in entries.values():
        assert entry.parent == component.urn and entry.provider_urn == api.urn


def test_each_worker_listens_on_loopback_publishes_nothing_and_has_a_sidecar_in_its_pods_namespace(mesh: Deployment) -> None:
    for worker_id in ("server1", "server2"):
        worker = mesh.one(CONTAINER, f"app-{worker_id}")
        assert (env(worker)["LISTEN_ADDRESS"], env(worker)["SIDECAR_PORT"]) == ("127.0.0.1", str(SIDECAR_PORT))
        assert "NODE_ADDRESS" not in env(worker) and "SERVICE_ADDRESS" not in env(worker)  # its address on dev's network
        assert not worker.inputs.get("ports")
        assert worker.inputs["labels"] == [{"label": MESH_LABEL, "value": "distributed_app"}]
        # The pod holds the namespace, with what Docker ties to it; the worker and its sidecar join it.
        pod = mesh.one(CONTAINER, f"app-{worker_id}-pod")
        assert (pod.inputs["name"], pod.inputs["hostname"]) == (f"dev-{worker_id}-pod", worker_id)
        assert pod.inputs["networksAdvanced"] == [{"name": "dev-net", "aliases": [worker_id]}]
        assert not pod.inputs.get("ports") and pod.inputs["restart"] == "unless-stopped" and pod.parent == worker.parent
        assert pod.inputs["labels"] == [{"label": MESH_LABEL, "value": "distributed_app"}]
        assert worker.inputs["networkMode"] == f"container:app-{worker_id}-pod-id" and pod.urn in worker.dependencies
        for tied in ("hostname", "networksAdvanced", "dns"):
            assert not worker.inputs.get(tied), tied  # Docker refuses them beside `container:` mode
        sidecar = mesh.one(CONTAINER, f"app-{worker_id}-sidecar")
        assert sidecar.inputs["name"] == f"dev-{worker_id}-sidecar"
        assert sidecar.inputs["command"] == ["consul", "connect", "proxy", "-sidecar-for", worker_id]
        assert sidecar.inputs["networkMode"] == f"container:app-{worker_id}-pod-id"
        assert {worker.urn, pod.urn} <= sidecar.dependencies
        assert env(sidecar)["CONSUL_HTTP_ADDR"] == "http://consul-1:8500"
        assert sidecar.parent == worker.parent and sidecar.inputs["restart"] == "unless-stopped" and sidecar.inputs["wait"]
    assert mesh.outputs["inventory"]["hosts"]["local"]["dev-server1-sidecar"] == "hashicorp/consul:1.16"


def test_the_client_calls_the_app_through_its_upstream_once_the_mesh_allows_it(mesh: Deployment) -> None:
    client = mesh.one(CONTAINER, "client-container")
    assert {key: env(client)[key] for key in ("SERVICE_ID", "SIDECAR_PORT", "UPSTREAM", "APP_URL")} == {
        "SERVICE_ID": "dev-client", "SIDECAR_PORT": str(SIDECAR_PORT), "UPSTREAM": "distributed_app:9191", "APP_URL": "http://127.0.0.1:9191/",
    }
    assert client.inputs["wait"]  # its sidecar starts once it is registered
    sidecar = mesh.one(CONTAINER, "client-sidecar")
    assert sidecar.inputs["command"] == ["consul", "connect", "proxy", "-sidecar-for", "dev-client"]
    assert client.urn in sidecar.dependencies
    needed = {mesh.one(CONTAINER, f"app-server{n}-sidecar").urn for n in (1, 2)} | {r.urn for r in mesh.of_type(INTENTIONS)}
    assert needed <= client.dependencies


def test_with_acls_each_sidecar_holds_a_service_identity_in_a_file(mesh_with_acl: Deployment) -> None:
    tokens = {r.name: r for r in mesh_with_acl.of_type(TOKEN)}
    for grant, service in (("distributed-app-sidecar", "distributed_app"), ("distributed-client-sidecar", "distributed_client")):
        token = tokens[f"access-{grant}-token"]
        assert token.inputs["serviceIdentities"] == [{"serviceName": service}] and not token.inputs.get("policies")
    for name in ("app-server1-sidecar", "client-sidecar"):
        sidecar = mesh_with_acl.one(CONTAINER, name)
        assert env(sidecar)["CONSUL_HTTP_TOKEN_FILE"] == TOKEN_FILE and "CONSUL_HTTP_TOKEN" not in env(sidecar)
        assert TOKEN_FILE in [upload["file"] for upload in sidecar.inputs["uploads"]] and "uploads" in sidecar.secret_inputs
        assert env(sidecar)["CONSUL_HTTP_ADDR"] == "https://consul-1:8501" and "CONSUL_CACERT" in env(sidecar)
    rules = {r.inputs["name"]: r.inputs["rules"] for r in mesh_with_acl.of_type(POLICY)}
    assert 'service "distributed_app-sidecar-proxy" { policy = "write" }' in rules["dev-distributed-app"]
    assert 'service "distributed_client" { policy = "write" }' in rules["dev-distributed-client"]
    assert 'service "distributed_client-sidecar-proxy" { policy = "write" }' in rules["dev-distributed-client"]


def test_envoy_runs_as_consul_documents_it_with_the_servers_serving_grpc() -> None:
    envoy = deploy("dev", {"consulMesh": True, "meshProxy": "envoy", "meshEnvoyImage": "example/consul-envoy:1.16"})
    assert "-grpc-port=8502" in envoy.one(CONTAINER, "consul-consul-1-agent").inputs["command"]
    sidecar = envoy.one(CONTAINER, "app-server1-sidecar")
    assert sidecar.inputs["command"] == ["consul", "connect", "envoy", "-sidecar-for", "server1", "-grpc-addr", "http://consul-1:8502"]
    image = envoy.one("docker:index/remoteImage:RemoteImage", "app-sidecar-image")
    assert image.inputs["name"] == "example/consul-envoy:1.16"
    with_tls = deploy("dev", {"consulMesh": True, "consulTls": True, "meshProxy": "envoy", "meshEnvoyImage": "example/consul-envoy:1.16"})
    assert "-hcl=ports { grpc_tls = 8503 }" in with_tls.one(CONTAINER, "consul-consul-1-agent").inputs["command"]
    assert with_tls.one(CONTAINER, "app-server1-sidecar").inputs["command"][-1] == "https://consul-1:8503"


def test_an_allowed_intention_names_services_not_the_wildcard() -> None:
    with pytest.raises(ValueError, match="names '\\*'"):
        allowed_sources([Intention("*", "distributed_app")])
    assert allowed_sources([Intention("b", "app"), Intention("a", "app"), Intention("a", "app")]) == {"app": ["a", "b"]}


def test_a_proxy_consul_does_not_run_is_refused() -> None:
    args = SidecarArgs(service_id="s", container_name="c", service_container_id="id", image="i", consul_http_addr="a", proxy="linkerd")
    with pytest.raises(ValueError, match="'linkerd' is not one of"):
        proxy_command(args)
