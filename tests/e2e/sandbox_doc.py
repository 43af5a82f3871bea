"""docs/sandbox.md's blocks as a user pastes them, with what each prints checked against what the doc shows
beside it. test_cluster_stack.py runs them through the harness (its `pulumi`: tests/harness/cli.py),
test_sandbox_cluster_real_pulumi.py through the real CLI, on the stacks the doc names."""
from __future__ import annotations

import ipaddress
import json

from tests.support.docs import Command

from .cluster_support import HOSTS, SANDBOX_SUBNET, SEED_ROLES
from .doc_runner import prints_nothing_to_check, project_doc

WORKERS = ("larry", "curly")
WORKER_PORTS = (8081, 8082)

DOC = project_doc("docs/sandbox.md")
RUNNER = "tests/e2e/sandbox_doc.py"
# docs/sandbox.md's blocks as pasted, in the order a user of this machine (whose engine refuses
# --privileged, and which pulls no image) runs them.
PRIVILEGED_OFF = "pulumi config set --stack sandbox sandboxPrivileged false"
CLUSTER_STACK_INIT = [
    "pulumi stack init sandbox-cluster --secrets-provider passphrase",
    "pulumi config set --stack sandbox-cluster environment cluster",
    "pulumi config set --stack sandbox-cluster hostsFromStack organization/orchestration/sandbox",
]
DOC_CONSUL_IMAGE = "local/consul"
STAND_INS = [
    "docker save local/consul | docker -H tcp://10.77.0.11:2375 load",
    "docker -H tcp://10.77.0.11:2375 tag local/consul 10.77.0.10:5000/local/consul",
    "docker -H tcp://10.77.0.11:2375 push 10.77.0.10:5000/local/consul",
    "pulumi config set --stack sandbox-cluster consulImage 10.77.0.10:5000/local/consul",
]
CLUSTER_UP = "pulumi up --stack sandbox-cluster"
TEAR_DOWN = ["pulumi destroy --stack sandbox-cluster", "pulumi destroy --stack sandbox"]


def _the_hosts_as_described(output: str, command: Command) -> None:
    """`hosts`: [{name, docker, address, roles}], the chapter's roles (servers on all three, workers on larry and curly, the client on moe)."""
    network = ipaddress.ip_network(SANDBOX_SUBNET)
    expected = [
        {"name": host, "docker": f"tcp://{network[11 + index]}:2375", "address": str(network[11 + index]), "roles": SEED_ROLES[host]}
        for index, host in enumerate(HOSTS)
    ]
    assert [{**host, "roles": sorted(host["roles"])} for host in json.loads(output)] == [
        {**host, "roles": sorted(host["roles"])} for host in expected
    ], output


SANDBOX_UP = {"make up STACK=sandbox": prints_nothing_to_check, "pulumi stack output --stack sandbox hosts --json": _the_hosts_as_described}


def _dns_answers(count: int):
    def check(output: str, command: Command) -> None:
        assert "status: NOERROR" in output and f"ANSWER: {count}," in output, output
    return check


def _nodes_as_shown(output: str, command: Command) -> None:
    rows = {line.split()[1 if line.split()[1] != "*" else 2]: line for line in output.splitlines()[1:] if line.strip()}
    assert sorted(rows) == sorted(HOSTS), output
    assert "Leader" in rows["larry"] and all("Ready" in row for row in rows.values()), output


def _services_as_shown(output: str, command: Command) -> None:
    shown = command.comment.split(", ")
    assert sorted(line.split()[1] for line in output.splitlines()[1:] if line.strip()) == sorted(shown), output


def _the_clients_report(output: str, command: Command) -> None:
    assert "healthy instance(s)" in output, output


def _three_peers(output: str, command: Command) -> None:
    network = ipaddress.ip_network(SANDBOX_SUBNET)
    assert sorted(json.loads(output)) == sorted(f"{network[11 + index]}:8300" for index in range(len(HOSTS))), output


CHECKS = {
    "dig @10.77.0.11 consul.service.consul": _dns_answers(len(HOSTS)),
    "dig @10.77.0.11 distributed_app.service.consul SRV": _dns_answers(len(WORKERS) * len(WORKER_PORTS)),
    "docker -H tcp://10.77.0.11:2375 node ls": _nodes_as_shown,
    "docker -H tcp://10.77.0.11:2375 service ls": _services_as_shown,
    "docker -H tcp://10.77.0.13:2375 logs sandbox-cluster-client": _the_clients_report,
    "pulumi stack output --stack sandbox-cluster consulCaCert > consul-ca.pem": prints_nothing_to_check,
    "curl -s --cacert consul-ca.pem https://10.77.0.11:8501/v1/status/peers": _three_peers,
}
