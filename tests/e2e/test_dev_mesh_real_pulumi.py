"""The dev stack in Consul's service mesh (ACLs and TLS on) through the real Pulumi CLI and providers, where
this machine has them (see real_pulumi.py): the oracle for what the harness does with the sidecars' shared
network namespace, the intentions and the service-identity tokens. The stack is made by docs/mesh.md's
"Turning it on" as pasted (the doc's `pulumi up` answered yes), and the doc's other blocks run as pasted
on it, as test_dev_mesh.py runs them through the harness: the client's report comes through the mesh; a
preview after `up` (refreshed too) proposes nothing; the intention the doc removes behind Pulumi's back
stops the client's calls, and the doc's `up --refresh` makes it again and lets them through, with no
container restarted."""
from __future__ import annotations

import json
import re

import pytest
import requests

from tests.support.docs import Command

from .doc_runner import Shell, prints_nothing_to_check, real_cli_shell, run_documented
from .real_pulumi import RealProject, deployed
from .support import consul_ca_file, phase
from .test_dev_mesh import (
    APP, CLIENT, DOC, INTENTIONS, LOGS, MACHINE, ONE_REPORT, REMOVED, RESTORE, THROUGH_AGAIN, TURN_ON,
    client_logs_show_the_app_through_the_mesh, one_report_through_the_mesh,
)

RUNNER = "tests/e2e/test_dev_mesh_real_pulumi.py"

pytestmark = pytest.mark.docker


def turned_on_as_the_doc_says(project: RealProject) -> None:
    project.shell = real_cli_shell(project.dir, project.environment)
    with phase("real: first up (docs/mesh.md's commands, the prompt answered yes)"):
        run_documented(DOC, RUNNER, dict.fromkeys(TURN_ON, prints_nothing_to_check), project.shell)


@pytest.fixture(scope="module")
def real(engine) -> RealProject:
    # This machine's settings lie under the doc's: the stand-in images and a subnet of its own.
    with deployed(engine, up=turned_on_as_the_doc_says, networkSubnet=MACHINE["networkSubnet"]) as project:
        yield project


def secret_outputs(real: RealProject) -> dict:
    return json.loads(real.run("stack", "output", "--json", "--show-secrets", label="stack output").stdout)


def test_docs_then_block_as_pasted(real: RealProject) -> None:
    for key in ("consulMesh", "consulAcl", "consulTls"):
        assert real.run("config", "get", key).stdout.strip() == "true"
    run_documented(DOC, RUNNER, {LOGS: client_logs_show_the_app_through_the_mesh, ONE_REPORT: one_report_through_the_mesh}, real.shell)


def test_a_preview_after_up_proposes_nothing_refreshed_or_not(real: RealProject) -> None:
    real.run("preview", "--expect-no-changes", "--diff", label="real: preview after up (mesh)")
    real.run("preview", "--refresh", "--expect-no-changes", "--diff", label="real: refreshed preview after up (mesh)")


def the_cli_recreated_the_intention(output: str, command: Command) -> None:
    """`the intention is recreated: 1 created`, as the CLI sums up the update."""
    assert re.search(r"\+ 1 created", output) and "mesh-distributed_app" in output, output[-3000:]


def test_docs_intentions_block_as_pasted_stops_the_calls_and_up_refresh_lets_them_through(real: RealProject, engine) -> None:
    shell: Shell = real.shell
    containers = {c.name: c.attrs["State"]["StartedAt"] for c in engine.containers.list(filters={"name": "dev-"})}
    with phase("real: docs/mesh.md's intention removed, the client refused"):
        run_documented(DOC, RUNNER, REMOVED, shell)
    with phase("real: docs/mesh.md's pulumi up --refresh, the client through again"):
        run_documented(DOC, RUNNER, {RESTORE: the_cli_recreated_the_intention, **THROUGH_AGAIN}, shell)
    outputs = secret_outputs(real)
    answer = requests.get(f"https://{outputs['consulHttpAddress']}{INTENTIONS}/{APP}", timeout=10, verify=consul_ca_file(outputs),
                          headers={"X-Consul-Token": outputs["consulManagementToken"]})
    answer.raise_for_status()
    assert [(source["Name"], source["Action"]) for source in answer.json()["Sources"]] == [(CLIENT, "allow")]
    assert {c.name: c.attrs["State"]["StartedAt"] for c in engine.containers.list(filters={"name": "dev-"})} == containers
    real.run("preview", "--expect-no-changes", "--diff", label="real: preview after the intention came back")
