"""Consul ACLs: deny by default (on in cluster, available in dev), a secret management token, one token per workload."""
from __future__ import annotations

import json
import re

import pytest

from components.consul_access import ANONYMOUS_TOKEN_ID
from components.consul_server import SECRET_CONFIG_FILE, TOKEN_FILE
from tests.unit.conftest import Deployment, deploy

CONTAINER = "docker:index/container:Container"
PASSWORD = "random:index/randomPassword:RandomPassword"
POLICY = "consul:index/aclPolicy:AclPolicy"
TOKEN = "consul:index/aclToken:AclToken"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@pytest.fixture(scope="module")
def cluster() -> Deployment:
    return deploy("cluster")


@pytest.fixture(scope="module")
def dev_with_acl() -> Deployment:
    return deploy("dev", {"consulAcl": True})


def uploads(container) -> dict[str, str]:
    return {upload["file"]: upload["content"] for upload in container.inputs.get("uploads") or []}


def env(container) -> dict[str, str]:
    return dict(item.split("=", 1) for item in container.inputs["envs"])


def management_token(deployment: Deployment) -> str:
    agent = next(r for r in deployment.of_type(CONTAINER) if r.name.endswith("-agent"))
    return json.loads(uploads(agent)[SECRET_CONFIG_FILE])["acl"]["tokens"]["initial_management"]


def test_the_management_token_is_drawn_once_secret_and_held_by_the_provider(cluster: Deployment) -> None:
    drawn = cluster.one(PASSWORD, "consul-management-token")
    assert drawn.inputs["length"] == 32 and drawn.inputs["overrideSpecial"] == "0123456789abcdef"
    token = management_token(cluster)
    assert UUID.match(token)
    provider = cluster.one("pulumi:providers:consul", "consul-api")
    assert provider.inputs["token"] == token and "token" in provider.secret_inputs
    ready = cluster.one("command:local:Command", "consul-ready")
    assert ready.inputs["environment"]["CONSUL_HTTP_TOKEN"] == token and "environment" in ready.secret_inputs
    assert cluster.outputs["consulManagementToken"] == token


def test_every_server_denies_by_default_and_reads_its_token_from_files(cluster: Deployment) -> None:
    token = management_token(cluster)
    for host in ("larry", "curly", "moe"):
        agent = cluster.one(CONTAINER, f"consul-{host}-agent")
        files = uploads(agent)
        acl = json.loads(files[SECRET_CONFIG_FILE])["acl"]
        assert (acl["enabled"], acl["default_policy"]) == (True, "deny")
        assert files[TOKEN_FILE] == token
        assert env(agent)["CONSUL_HTTP_TOKEN_FILE"] == TOKEN_FILE
        assert "uploads" in agent.secret_inputs
        assert token not in json.dumps([agent.inputs["command"], agent.inputs["envs"], agent.inputs["healthcheck"]])


def test_each_workload_gets_a_least_privilege_policy_and_token(cluster: Deployment) -> None:
    rules = {r.inputs["name"]: r.inputs["rules"] for r in cluster.of_type(POLICY)}
    kv = 'key_prefix "distributed_app/cluster/"'
    # In the mesh (the cluster's default) each workload also registers its sidecar.
    assert rules["cluster-distributed-app"] == (
        'service "distributed_app" { policy = "write" }\nservice "distributed_app-sidecar-proxy" { policy = "write" }\n'
        f'node_prefix "" {{ policy = "read" }}\n{kv} {{ policy = "read" }}\n'
    )
    client = rules["cluster-distributed-client"]
    assert [line for line in client.splitlines() if "write" in line] == [
        'service "distributed_client" { policy = "write" }', 'service "distributed_client-sidecar-proxy" { policy = "write" }'
    ]
    assert f'{kv} {{ policy = "read" }}' in client
    assert rules["cluster-catalog"] == f'{kv} {{ policy = "write" }}\n'
    assert "write" not in rules["cluster-anonymous"]
    tokens = {r.name: r.inputs.get("policies") or r.inputs["serviceIdentities"] for r in cluster.of_type(TOKEN)}
    assert tokens == {
        "access-distributed-app-sidecar-token": [{"serviceName": "distributed_app"}],
        "access-distributed-client-sidecar-token": [{"serviceName": "distributed_client"}],
        "access-distributed-app-token": ["cluster-distributed-app"],
        "access-distributed-client-token": ["cluster-distributed-client"],
        "access-catalog-token": ["cluster-catalog"],
    }
    attachment = cluster.one("consul:index/aclTokenPolicyAttachment:AclTokenPolicyAttachment", "access-anonymous")
    assert attachment.inputs == {"tokenId": ANONYMOUS_TOKEN_ID, "policy": "cluster-anonymous"}
    for registration in [*cluster.of_type(POLICY), *cluster.of_type(TOKEN)]:
        assert registration.provider_urn == cluster.one("pulumi:providers:consul", "consul-api").urn


def test_workers_and_client_carry_their_own_token_as_a_secret(cluster: Deployment) -> None:
    expected = {
        "app-larry-server1": "secret-of-accessor-of-access-distributed-app-token",
        "app-curly-server2": "secret-of-accessor-of-access-distributed-app-token",
        "client-moe-container": "secret-of-accessor-of-access-distributed-client-token",
    }
    for name, token in expected.items():
        container = cluster.one(CONTAINER, name)
        assert env(container)["CONSUL_HTTP_TOKEN"] == token
        assert "envs" in container.secret_inputs


def test_the_catalog_is_written_with_the_catalog_token(cluster: Deployment) -> None:
    provider = cluster.one("pulumi:providers:consul", "access-catalog-api")
    assert provider.inputs["token"] == "secret-of-accessor-of-access-catalog-token"
    assert "token" in provider.secret_inputs
    assert cluster.one("consul:index/keys:Keys", "catalog-kv").provider_urn == provider.urn


def test_dev_grants_the_catalog_its_node_and_services_only(dev_with_acl: Deployment) -> None:
    rules = dev_with_acl.one(POLICY, "access-catalog-policy").inputs["rules"]
    assert 'node "dev-compose" { policy = "write" }' in rules
    assert 'service "redis" { policy = "write" }' in rules and 'service "web" { policy = "write" }' in rules
    assert "_prefix \"\"" not in rules
    catalog = dev_with_acl.one("pulumi:providers:consul", "access-catalog-api")
    for name in ("catalog-node", "catalog-redis", "catalog-web", "catalog-kv"):
        registration = next(r for r in dev_with_acl.registrations if r.name == name)
        assert registration.provider_urn == catalog.urn, name


def test_dev_has_no_acls_unless_asked() -> None:
    dev = deploy("dev")
    assert dev.of_type(POLICY) == [] and dev.of_type(TOKEN) == []
    assert "consulManagementToken" not in dev.outputs
    agent = dev.one(CONTAINER, "consul-consul-1-agent")
    assert TOKEN_FILE not in uploads(agent)
    assert "CONSUL_HTTP_TOKEN" not in env(dev.one(CONTAINER, "app-server1"))
    assert dev.one("consul:index/keys:Keys", "catalog-kv").provider_urn == dev.one("pulumi:providers:consul", "consul-api").urn
