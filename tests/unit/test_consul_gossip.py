"""Consul's gossip encrypted by default: one key per stack, secret, reaching the servers only in a file."""
from __future__ import annotations

import base64
import json

import pytest

from components.consul_server import SECRET_CONFIG_FILE
from tests.unit.conftest import Deployment, deploy, deploy_rejected

CONTAINER = "docker:index/container:Container"
PASSWORD = "random:index/randomPassword:RandomPassword"
SERVERS = {"dev": ["consul-consul-1-agent"], "cluster": ["consul-larry-agent", "consul-curly-agent", "consul-moe-agent"]}


@pytest.fixture(scope="module", params=["dev", "cluster"])
def stack(request: pytest.FixtureRequest) -> tuple[str, Deployment]:
    overrides = {"consulServers": 3} if request.param == "dev" else {}
    deployment = deploy(request.param, overrides)
    return request.param, deployment


def servers(stack: tuple[str, Deployment]) -> list:
    name, deployment = stack
    names = SERVERS[name] if name == "cluster" else ["consul-consul-1-agent", "consul-consul-2-agent", "consul-consul-3-agent"]
    return [deployment.one(CONTAINER, server) for server in names]


def test_one_key_per_stack_drawn_as_hex_and_kept_secret(stack: tuple[str, Deployment]) -> None:
    _, deployment = stack
    key = deployment.one(PASSWORD, "consul-gossip-key")
    assert key.name == "consul-gossip-key"
    assert deployment.by_urn(key.parent).type == "orchestration:consul:ConsulCluster"
    assert key.inputs["length"] == 64
    assert key.inputs["overrideSpecial"] == "0123456789abcdef"
    assert (key.inputs["upper"], key.inputs["lower"], key.inputs["numeric"]) == (False, False, False)
    assert "result" in key.additional_secret_outputs


def test_every_server_reads_the_same_32_byte_key_from_a_secret_file(stack: tuple[str, Deployment]) -> None:
    _, deployment = stack
    key = deployment.one(PASSWORD, "consul-gossip-key")
    contents = set()
    for server in servers(stack):
        uploads = {upload["file"]: upload["content"] for upload in server.inputs["uploads"]}
        assert "uploads" in server.secret_inputs
        assert key.urn in server.dependencies
        contents.add(uploads[SECRET_CONFIG_FILE])
        assert f"-config-file={SECRET_CONFIG_FILE}" in server.inputs["command"]
    [content] = contents
    encoded = json.loads(content)["encrypt"]
    assert len(base64.b64decode(encoded, validate=True)) == 32
    for server in servers(stack):
        shown = json.dumps({field: server.inputs.get(field) for field in ("command", "envs", "labels", "healthcheck")})
        assert encoded not in shown, "the key must not be on the command line or in the environment"


def test_turned_off_there_is_no_key_and_no_file() -> None:
    deployment = deploy("dev", {"consulGossipEncryption": False})
    assert not [r for r in deployment.of_type(PASSWORD) if r.name == "consul-gossip-key"]
    agent = deployment.one(CONTAINER, "consul-consul-1-agent").inputs
    assert not agent.get("uploads")
    assert not any(part.startswith("-config-file") for part in agent["command"])


def test_a_non_boolean_is_refused_naming_the_key() -> None:
    message, registered = deploy_rejected("dev", {"consulGossipEncryption": "maybe"})
    assert "consulGossipEncryption" in message
    assert registered == [] or all(r.type == "pulumi:pulumi:Stack" for r in registered)
