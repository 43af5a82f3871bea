"""The dev stack in Consul's service mesh (ACLs and TLS on) through the real Pulumi CLI and providers, where
this machine has them (see real_pulumi.py): the oracle for what the harness does with the sidecars' shared
network namespace, the intentions and the service-identity tokens. The client's report comes through the
mesh; a preview after `up` (refreshed too) proposes nothing; an intention removed behind Pulumi's back is
found by `up --refresh` and made again, and the client's calls stop and come back with no container restarted."""
from __future__ import annotations

import json
import time

import pytest
import requests

from .real_pulumi import RealProject, deployed
from .support import PHASES, client_report, consul_ca_file, wait_for

pytestmark = pytest.mark.docker

# A subnet of its own: a network another test left on the default one does not stop it.
MESH = {"consulMesh": True, "consulAcl": True, "consulTls": True, "networkSubnet": "10.213.90.0/24"}


@pytest.fixture(scope="module")
def real(engine) -> RealProject:
    with deployed(engine, **MESH) as project:
        yield project


def secret_outputs(real: RealProject) -> dict:
    return json.loads(real.run("stack", "output", "--json", "--show-secrets", label="stack output").stdout)


def app_reply(engine, outputs: dict) -> dict:
    return client_report(engine, outputs["clientContainer"])["app"]


def test_the_clients_report_comes_through_the_mesh(real: RealProject, engine) -> None:
    reply = app_reply(engine, real.outputs())
    assert reply["message"].startswith("Hello from Consul KV from server"), reply


def test_a_preview_after_up_proposes_nothing_refreshed_or_not(real: RealProject) -> None:
    real.run("preview", "--expect-no-changes", "--diff", label="real: preview after up (mesh)")
    real.run("preview", "--refresh", "--expect-no-changes", "--diff", label="real: refreshed preview after up (mesh)")


def test_a_removed_intention_stops_the_calls_and_up_refresh_brings_it_back(real: RealProject, engine) -> None:
    outputs = secret_outputs(real)
    consul = f"https://{outputs['consulHttpAddress']}"
    headers = {"X-Consul-Token": outputs["consulManagementToken"]}
    containers = {c.name: c.attrs["State"]["StartedAt"] for c in engine.containers.list(filters={"name": "dev-"})}
    requests.delete(f"{consul}/v1/config/service-intentions/distributed_app", headers=headers, timeout=10,
                    verify=consul_ca_file(outputs)).raise_for_status()
    removed = time.monotonic()
    wait_for("the client's call refused", lambda: "error" in app_reply(engine, outputs), timeout=10, interval=0.2)
    PHASES.append(("  real: intention removed -> call refused", time.monotonic() - removed))
    up = real.run("up", "--yes", "--skip-preview", "--refresh", label="real: up --refresh (intention restored)")
    assert "+ 1 created" in up.stdout and "mesh-distributed_app" in up.stdout, up.stdout[-3000:]
    wait_for("the client's call through again", lambda: "message" in app_reply(engine, outputs), timeout=10, interval=0.2)
    assert {c.name: c.attrs["State"]["StartedAt"] for c in engine.containers.list(filters={"name": "dev-"})} == containers
    real.run("preview", "--expect-no-changes", "--diff", label="real: preview after the intention came back")
