"""pulumi-consul's service intentions and service-identity tokens through the harness, read back from a
real Consul agent (ACLs on, deny by default): what Consul decides for a call, and the token it holds."""
from __future__ import annotations

import json
import urllib.parse
import urllib.request

import pulumi
import pulumi_consul as consulp
import pulumi_docker as pdocker
import pytest

from tests.harness.inline import run_inline
from tests.harness.local_images import build_consul_image

pytestmark = pytest.mark.docker

MANAGEMENT_TOKEN = "3c9d2f5e-8a41-4b7c-9e0d-6f2a1b8c4d7e"
INTENTIONS = "consul:index/configEntryServiceIntentions:ConfigEntryServiceIntentions"
ACL_AGENT = [
    "consul", "agent", "-dev", "-client", "0.0.0.0",
    "-hcl", f'acl {{ enabled = true default_policy = "deny" tokens {{ initial_management = "{MANAGEMENT_TOKEN}" }} }}',
]


def consul_call(address: str, method: str, path: str, **params) -> object:
    request = urllib.request.Request(
        f"http://{address}{path}?{urllib.parse.urlencode(params)}", method=method, headers={"X-Consul-Token": MANAGEMENT_TOKEN}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


def consul_get(address: str, path: str, **params) -> object:
    return consul_call(address, "GET", path, **params)


def allowed(address: str, source: str, destination: str) -> bool:
    return consul_get(address, "/v1/connect/intentions/check", source=source, destination=destination)["Allowed"]


def test_intentions_deny_by_default_change_in_place_and_tokens_carry_service_identities(harness, engine, prefix) -> None:
    image = build_consul_image(engine)
    declared = {"client": "allow", "precedence": True}

    def program() -> None:
        agent = pdocker.Container(
            "agent", name=f"{prefix}-consul", image=image, command=ACL_AGENT,
            ports=[pdocker.ContainerPortArgs(internal=8500, ip="127.0.0.1")],
        )
        address = agent.ports.apply(lambda ports: f"127.0.0.1:{ports[0]['external']}")
        on_api = pulumi.ResourceOptions(provider=consulp.Provider("api", address=address, token=MANAGEMENT_TOKEN))
        # Consul's precedence for * -> * and for exact -> exact, declared or not.
        precedence = {"deny": 5, "app": 9} if declared["precedence"] else {"deny": None, "app": None}
        consulp.ConfigEntryServiceIntentions(
            "deny-all", name="*", sources=[consulp.ConfigEntryServiceIntentionsSourceArgs(name="*", action="deny", precedence=precedence["deny"])],
            opts=on_api,
        )
        if declared["client"]:
            consulp.ConfigEntryServiceIntentions(
                "app",
                name="app",
                sources=[
                    consulp.ConfigEntryServiceIntentionsSourceArgs(
                        name="client", action=declared["client"], description="the report", precedence=precedence["app"]
                    )
                ],
                opts=on_api,
            )
        token = consulp.AclToken(
            "sidecar", description="app sidecar", service_identities=[consulp.AclTokenServiceIdentityArgs(service_name="app")], opts=on_api
        )
        pulumi.export("address", address)
        pulumi.export("accessor", token.accessor_id)

    outputs = harness.apply(lambda: run_inline(harness, program))
    address = outputs["address"]
    assert allowed(address, "client", "app") and not allowed(address, "web", "app") and not allowed(address, "client", "web")
    entry = consul_get(address, "/v1/config/service-intentions/app")
    assert [(s["Name"], s["Action"], s["Type"], s["Description"]) for s in entry["Sources"]] == [("client", "allow", "consul", "the report")]
    token = consul_get(address, f"/v1/acl/token/{outputs['accessor']}")
    assert (token["ServiceIdentities"], token.get("Policies")) == ([{"ServiceName": "app"}], None)

    declared["client"] = "deny"  # an intention's action changes in place
    harness.apply(lambda: run_inline(harness, program))
    assert harness.last_run.changes() == [("update", INTENTIONS, "app")]
    assert not allowed(address, "client", "app")

    harness.apply(lambda: run_inline(harness, program))  # unchanged: nothing to do
    assert harness.last_run.changes() == []

    # Left out, the precedence Consul read back is proposed as removed on every update, as the real CLI does.
    declared["precedence"] = False
    harness.apply(lambda: run_inline(harness, program))
    assert sorted(harness.last_run.changes()) == [("update", INTENTIONS, "app"), ("update", INTENTIONS, "deny-all")]
    harness.apply(lambda: run_inline(harness, program))
    assert sorted(harness.last_run.changes()) == [("update", INTENTIONS, "app"), ("update", INTENTIONS, "deny-all")]
    declared["precedence"] = True
    harness.apply(lambda: run_inline(harness, program))
    harness.apply(lambda: run_inline(harness, program))
    assert harness.last_run.changes() == []

    consul_call(address, "DELETE", "/v1/config/service-intentions/app")  # behind Pulumi's back: refresh sees it gone
    harness.apply(lambda: run_inline(harness, program), refresh=True)
    assert harness.runs[-2].changes() == [("delete", INTENTIONS, "app")]
    assert harness.last_run.changes() == [("create", INTENTIONS, "app")]
    assert consul_get(address, "/v1/config/service-intentions/app")["Sources"][0]["Action"] == "deny"

    declared["client"] = None  # dropped: the entry is deleted
    harness.apply(lambda: run_inline(harness, program))
    assert harness.last_run.changes() == [("delete", INTENTIONS, "app")]
    assert [entry["Name"] for entry in consul_get(address, "/v1/config/service-intentions")] == ["*"]
