"""docs/sandbox.md's blocks as a user pastes them, with what each prints checked against what the doc shows
beside it. test_cluster_stack.py runs them through the harness (its `pulumi`: tests/harness/cli.py),
test_sandbox_cluster_real_pulumi.py through the real CLI, on the stacks the doc names."""
from __future__ import annotations

import ipaddress
import json
import re
from pathlib import Path

from tests.support.docs import Command, blocks

from .agents_support import CLIENT_AGENTS, ROLES, SERVERS, WORKER_HOSTS
from .agents_support import HOSTS as AGENTS_HOSTS
from .cluster_support import CLUSTER_STACK, HOSTS, SANDBOX_STACK, SANDBOX_SUBNET, SEED_ROLES, SandboxProbes
from .doc_runner import Check, Shell, prints_nothing_to_check, project_doc

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
# Step 1, the hosts' image; the sandbox runs this machine's stand-in, the same Dockerfile on the same base.
BUILD_HOST_IMAGE = "apps/build.sh dind-host orchestration/dind-host:bookworm"
DOC_HOST_IMAGE = "orchestration/dind-host:bookworm"
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


# "More hosts": the doc's settings added to the sandbox's stack file, then its four commands.
GROWN_CLIENT = "joe"
SANDBOX_GROW = "pulumi up --stack sandbox"
CLUSTER_GROW = "pulumi up --stack sandbox-cluster"
GROWN_DIGS = ["dig @10.77.0.15 shemp.node.consul", "dig @10.77.0.15 distributed_app.service.consul SRV"]


def more_hosts_settings() -> str:
    """The doc's yaml block that adds the five hosts and their roles to `Pulumi.sandbox.yaml`, as it shows it."""
    (block,) = [block for block in blocks(DOC) if block.language == "yaml" and "orchestration:sandboxRoles:" in block.body]
    return block.body


def add_under_config(stack_file: Path, settings: str) -> None:
    """What the user does in an editor: the doc's lines pasted under the file's `config:`."""
    lines = stack_file.read_text().splitlines(keepends=True)
    at = next(index for index, line in enumerate(lines) if line.rstrip() == "config:") + 1
    stack_file.write_text("".join([*lines[:at], settings if settings.endswith("\n") else f"{settings}\n", *lines[at:]]))


def _address(host: str) -> str:
    return str(ipaddress.ip_network(SANDBOX_SUBNET)[11 + AGENTS_HOSTS.index(host)])


def sandbox_grown(sandbox: SandboxProbes, shell: Shell, before: dict[str, tuple[str, str]]) -> Check:
    """`shemp at 10.77.0.14, joe at .15; larry, curly and moe unchanged`: the first three hosts' containers on
    this machine's engine are the same ones, never restarted (`before`: host -> (id, start), taken before the up)."""

    def check(output: str, command: Command) -> None:
        hosts = json.loads(shell.run(f"pulumi stack output --stack {SANDBOX_STACK} hosts --json"))
        assert {host["name"]: host["address"] for host in hosts} == {host: _address(host) for host in AGENTS_HOSTS}, hosts
        assert {host["name"]: sorted(host["roles"]) for host in hosts} == {host: sorted(roles) for host, roles in ROLES.items()}, hosts
        assert host_containers(sandbox, HOSTS) == before, output
        assert sorted(host_containers(sandbox, AGENTS_HOSTS)) == sorted(AGENTS_HOSTS)
        # The up's own account: nothing updated, replaced or deleted, only the new hosts made (the CLI lists
        # each host and its volume, image and container; the harness counts the last three).
        assert not re.search(r"\b\d+ (updated|replaced|deleted)\b", output), output
        counted = re.search(r"(\d+) changes", output)
        if counted:
            assert int(counted.group(1)) == 3 * len(CLIENT_AGENTS), output
        else:
            made = set(re.findall(r"^ *\+ +\S+:\S+ (\S+) created?\b", output, flags=re.MULTILINE))
            assert made == {f"{host}{part}" for host in CLIENT_AGENTS for part in ("", "-data", "-image", "-container")}, output
    return check


def host_containers(sandbox: SandboxProbes, hosts: tuple[str, ...]) -> dict[str, tuple[str, str]]:
    """Each host's container on this machine's engine: its id and when it started."""
    found = {}
    for host in hosts:
        container = sandbox.engine.api.inspect_container(sandbox.host_container(host))
        found[host] = (container["Id"], container["State"]["StartedAt"])
    return found


def cluster_grown(sandbox: SandboxProbes, shell: Shell) -> Check:
    """`client agents on shemp and joe, workers on larry and shemp, the client on joe`: in the stack's outputs,
    and running on each host's engine."""

    def check(output: str, command: Command) -> None:
        outputs = json.loads(shell.run(f"pulumi stack output --stack {CLUSTER_STACK} --json"))
        assert (outputs["consulNodes"], outputs["consulClientAgents"]) == (list(SERVERS), list(CLIENT_AGENTS)), outputs
        assert outputs["clientContainers"] == {GROWN_CLIENT: f"{CLUSTER_STACK}-client"}, outputs
        for host in AGENTS_HOSTS:
            running = {container.name for container in sandbox.docker(host).containers.list()}
            # The host's Consul agent (a server on the first three, a client agent on the others) is named for it.
            assert f"{CLUSTER_STACK}-{host}" in running, (host, running)
            workers = {f"{CLUSTER_STACK}-server1", f"{CLUSTER_STACK}-server2"} & running
            assert len(workers) == (2 if host in WORKER_HOSTS else 0), (host, running)
            assert (f"{CLUSTER_STACK}-client" in running) == (host == GROWN_CLIENT), (host, running)
    return check


def _shemp_from_joe(output: str, command: Command) -> None:
    """`any host's DNS answers for every node`: joe's, a host without a server, answers for shemp."""
    assert "status: NOERROR" in output and "ANSWER: 1," in output, output
    assert _records(output, "A") == [("shemp.node.consul.", _address("shemp"))], output


def _the_workers_on_larry_and_shemp(output: str, command: Command) -> None:
    assert "status: NOERROR" in output and f"ANSWER: {len(WORKER_HOSTS) * len(WORKER_PORTS)}," in output, output
    addresses = dict(_records(output, "A"))
    # SRV data: priority, weight, port, target; the target's address is in the additional section.
    answers = [data.split() for _, data in _records(output, "SRV")]
    assert sorted((addresses[target], int(port)) for _, _, port, target in answers) == sorted(
        (_address(host), port) for host in WORKER_HOSTS for port in WORKER_PORTS
    ), output


def _records(output: str, kind: str) -> list[tuple[str, str]]:
    """(name, data) of each record of `kind` dig printed, answers and additional alike."""
    found = []
    for line in output.splitlines():
        fields = line.split()
        if not line.startswith(";") and len(fields) >= 5 and fields[3] == kind:
            found.append((fields[0], " ".join(fields[4:])))
    return sorted(found)


GROWN_CHECKS = {GROWN_DIGS[0]: _shemp_from_joe, GROWN_DIGS[1]: _the_workers_on_larry_and_shemp}
