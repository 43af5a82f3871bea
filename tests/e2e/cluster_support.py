"""The sandbox stack and a cluster stack on it, applied through the apply harness, and probes of both.

The path is the one docs/sandbox.md gives a user: the `sandbox` stack makes larry, curly and
moe as Docker-in-Docker hosts and a registry on this machine's engine; our stand-in images go
into that registry (nothing can be pulled here); a `cluster` stack then deploys onto the hosts,
first through `hostsFromStack` (served by the harness from the sandbox's apply outputs), then
with the seed's roles as hand-written `hosts`. The stacks carry docs/sandbox.md's names and subnet (the
default, 10.77.0.0/24), apart from the dev e2e (dev-*, 172.29.0.0/24), which can run beside them.
"""
from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import dns.rdatatype
import dns.resolver
import docker
import requests

from components.consul_server import HTTP_PORT
from components.consul_tls import HTTPS_PORT
from components.swarm_cluster import OWNER_LABEL
from tests.harness import ApplyHarness
from tests.harness.docker_common import split_reference
from tests.harness.engine import objects_named_with, sweep
from tests.harness.local_images import (
    BASE_IMAGE,
    CONSUL_IMAGE,
    DIND_HOST_IMAGE,
    REGISTRY_IMAGE,
    build_consul_image,
    build_dind_host_image,
    build_registry_image,
    extra_ca_certificates,
)
from tests.support.program import PROJECT, PROJECT_DIR, run_program

from .support import PHASES, SLOWEST_SHOWN, STATE_DIR, consul_ca_file, phase

# docs/sandbox.md's stack names and sandbox subnet (its default), so its blocks run here as pasted.
SANDBOX_STACK = "sandbox"
CLUSTER_STACK = "sandbox-cluster"


def stack_reference(stack: str) -> str:
    """The file backend's name for a stack of this project: what a user puts in `hostsFromStack`."""
    return f"organization/{PROJECT}/{stack}"


SANDBOX_REFERENCE = stack_reference(SANDBOX_STACK)
SANDBOX_SUBNET = "10.77.0.0/24"
HOSTS = ("larry", "curly", "moe")
# The seed's layout: a Consul server everywhere, workers on larry and curly, the client on moe.
SEED_ROLES = {"larry": ["consul-server", "app"], "curly": ["consul-server", "app"], "moe": ["consul-server", "client"]}
# Nested engines are slow to answer while they build images or restart.
NESTED_ENGINE_TIMEOUT = 600


def build_sandbox_images(engine: docker.DockerClient) -> None:
    """What nothing here can pull: the hosts' and the registry's images, and Consul (pushed into the sandbox)."""
    with phase("build dind-host image (apps/build.sh dind-host)"):
        build_dind_host_image(engine)
    with phase("build registry image (apps/build.sh registry)"):
        build_registry_image(engine)
    with phase("build consul image (apps/build.sh consul)"):
        build_consul_image(engine)


class HarnessStack:
    """One stack applied through its own ApplyHarness: `apply` and `destroy` are `pulumi up` / `pulumi destroy`.

    The state is mirrored to a file under STATE_DIR, so a run killed before its teardown is
    cleaned up by the next one.
    """

    def __init__(self, stack: str, config: Mapping[str, Any], stack_outputs: Mapping[str, Any] | None = None) -> None:
        self.stack = stack
        self.config = dict(config)
        STATE_DIR.mkdir(parents=True, exist_ok=True)
        self.state_file = STATE_DIR / f"{stack}-state.json"
        self.harness = ApplyHarness(project_dir=PROJECT_DIR, state_file=self.state_file, stack_outputs=stack_outputs)
        self.outputs: dict[str, Any] = {}

    def apply(self, label: str, refresh: bool = False, **changes: Any) -> dict[str, Any]:
        """Applies the config with `changes` merged in; a change to None removes that key.
        `refresh`: `pulumi up --refresh`."""
        for key, value in changes.items():
            if value is None:
                self.config.pop(key, None)
            else:
                self.config[key] = value
        with phase(label):
            outputs = self.harness.apply(lambda: run_program(self.harness, self.stack, self.config), label=label, refresh=refresh)
        # In place: whoever holds `outputs` (a StackReference's source) sees the latest apply.
        self.outputs.clear()
        self.outputs.update(outputs)
        self._note_slowest()
        return self.outputs

    def adopt(self, outputs: dict[str, Any]) -> None:
        """Goes on with the stack another process applied to this one's state file (a doc's `pulumi up`
        or `destroy` through tests/harness/cli.py), whose outputs are `outputs`."""
        stack_outputs = self.harness.stack_outputs
        self.harness.close()
        self.harness = ApplyHarness(project_dir=PROJECT_DIR, state_file=self.state_file, stack_outputs=stack_outputs)
        # In place: whoever holds `outputs` (a StackReference's source) sees them.
        self.outputs.clear()
        self.outputs.update(outputs)

    def changes(self) -> list[tuple[str, str, str]]:
        return sorted(self.harness.last_run.changes())

    def refreshed_away(self) -> list[tuple[str, str, str]]:
        """What the refresh before the last apply found gone (so that apply made it again)."""
        refresh = self.harness.runs[-2]
        assert refresh.label == "refresh", refresh
        return sorted(refresh.names("delete"))

    def destroy(self) -> None:
        if len(self.harness.state):
            with phase(f"destroy ({self.stack})"):
                self.harness.destroy()
            self._note_slowest()

    def _note_slowest(self) -> None:
        """The last run's slowest operations, listed under its phase."""
        slowest = sorted(self.harness.last_run.operations, key=lambda operation: -operation.seconds)[:SLOWEST_SHOWN]
        PHASES.extend((f"  {o.op} {o.type} {o.name}", o.seconds) for o in slowest if o.seconds >= 1)

    def forget(self) -> None:
        """Drops the state without deleting: for resources that went away with the engines holding them."""
        for record in list(self.harness.state):
            self.harness.state.remove(record.urn)

    def close(self) -> None:
        self.harness.close()


def sandbox_config(subnet: str) -> dict[str, Any]:
    """A sandbox stack's config on this machine: our host and registry images, on `subnet`."""
    return {
        "environment": "sandbox",
        "sandboxSubnet": subnet,
        "sandboxHostImage": DIND_HOST_IMAGE,
        "sandboxRegistryImage": REGISTRY_IMAGE,
        # Capabilities instead of --privileged: works where --privileged does (CI) and where it doesn't (here).
        "sandboxPrivileged": False,
    }


class SandboxProbes:
    """Clients for the engines a sandbox stack makes, from its outputs: for a stack applied by the
    harness (Sandbox) or by the real CLI alike. Needs `stack`, `outputs` and `engine`."""

    stack: str
    outputs: dict[str, Any]
    engine: docker.DockerClient

    def _start_probes(self, engine: docker.DockerClient) -> None:
        self.engine = engine
        self._engines: dict[str, docker.DockerClient] = {}
        self.registry_images: dict[str, str] = {}
        """Local image -> its reference in the sandbox registry, once `seed_registry` pushed it."""

    @property
    def registry(self) -> str:
        return self.outputs["registry"]

    def address(self, host: str) -> str:
        return self.outputs["addresses"][host]

    def host_container(self, host: str) -> str:
        """The container on this machine's engine that is `host`."""
        return f"{self.stack}-{host}"

    def docker(self, host: str) -> docker.DockerClient:
        """A client for `host`'s own engine (docker -H tcp://<address>:2375)."""
        if host not in self._engines:
            self._engines[host] = docker.DockerClient(base_url=self.outputs["dockerHosts"][host], timeout=NESTED_ENGINE_TIMEOUT)
        return self._engines[host]

    def seed_registry(self, images: Iterable[str]) -> None:
        """Loads local images into larry and pushes them to the sandbox registry, as docs/sandbox.md shows.

        Nested engines pull from that registry, never from this machine's engine; larry keeps its
        copies, which is what `appBaseImage` needs there (larry builds our images).
        """
        larry = self.docker("larry")
        for image in images:
            with phase(f"load {image} into larry, push it to the sandbox registry"):
                for _ in larry.api.load_image(self.engine.api.get_image(image)):
                    pass
                repository, tag = split_reference(image)
                target = f"{self.registry}/{repository}"
                larry.api.tag(image, target, tag)
                for chunk in larry.api.push(target, tag=tag, stream=True, decode=True):
                    if "error" in chunk:
                        raise AssertionError(f"pushing {target}:{tag} from larry failed: {chunk['error']}")
                self.registry_images[image] = f"{target}:{tag}"

    def _close_probes(self) -> None:
        for client in self._engines.values():
            client.close()
        self._engines.clear()


class Sandbox(SandboxProbes, HarnessStack):
    """The sandbox stack on this machine's engine, applied by the harness, and clients for the engines it makes."""

    def __init__(self, engine: docker.DockerClient, stack: str = SANDBOX_STACK, subnet: str = SANDBOX_SUBNET) -> None:
        HarnessStack.__init__(self, stack, sandbox_config(subnet))
        self._start_probes(engine)

    def close(self) -> None:
        self._close_probes()
        super().close()


def cluster_config(sandbox: SandboxProbes) -> dict[str, Any]:
    """A cluster stack's config on `sandbox`'s hosts (through hostsFromStack), with the images seeded there."""
    images = sandbox.registry_images
    return {
        "environment": "cluster",
        "hostsFromStack": stack_reference(sandbox.stack),
        "consulImage": images[CONSUL_IMAGE],
        # Any image with sh will do; the base image is in the registry anyway.
        "heyworldImage": images[BASE_IMAGE],
        # Our images are built on larry (the sandbox's buildDockerHost), where the base was loaded.
        "appBaseImage": BASE_IMAGE,
        # pip in those builds must trust this machine's TLS-re-signing proxy.
        "buildCaCertificates": extra_ca_certificates(),
        # Destroy leaves nothing behind on the hosts.
        "retainData": False,
        # These modules reach the workers on their published ports, outside the mesh the cluster runs by
        # default; tests/e2e/test_cluster_mesh.py deploys the default.
        "consulMesh": False,
    }


class ClusterProbes:
    """Consul, the swarm and the workloads of a cluster stack on a sandbox, from its outputs: for a stack
    applied by the harness (Cluster) or by the real CLI alike. Needs `outputs` and `sandbox`."""

    outputs: dict[str, Any]
    sandbox: SandboxProbes

    def hand_written(self, roles: Mapping[str, list[str]]) -> dict[str, Any]:
        """Config for `hosts` instead of `hostsFromStack`: the sandbox's hosts with the given roles,
        and its registry and build engine (without hostsFromStack nothing else supplies those)."""
        hosts = [{**host, "roles": roles[host["name"]]} for host in self.sandbox.outputs["hosts"] if host["name"] in roles]
        return {
            "hostsFromStack": None,
            "hosts": hosts,
            "registry": self.sandbox.outputs["registry"],
            "buildDockerHost": self.sandbox.outputs["buildDockerHost"],
        }

    # ------------------------------------------------------------------ Consul probes

    @property
    def management(self) -> dict[str, str]:
        """The header that lets a probe past ACLs, where they are on."""
        token = self.outputs.get("consulManagementToken")
        return {"X-Consul-Token": token} if token else {}

    def consul_url(self, host: str) -> str:
        """`host`'s Consul API, HTTPS where the stack turned TLS on (the cluster's default)."""
        scheme, port = ("https", HTTPS_PORT) if "consulCaCert" in self.outputs else ("http", HTTP_PORT)
        return f"{scheme}://{self.sandbox.address(host)}:{port}"

    @property
    def verify(self) -> str | bool:
        return consul_ca_file(self.outputs)

    def consul(self, host: str, path: str, **params: Any) -> Any:
        response = requests.get(
            f"{self.consul_url(host)}{path}", params=params, headers=self.management, timeout=10, verify=self.verify
        )
        response.raise_for_status()
        return response.json() if response.text else None

    def kv_put(self, host: str, key: str, value: str) -> None:
        response = requests.put(
            f"{self.consul_url(host)}/v1/kv/{key}", data=value, headers=self.management, timeout=10, verify=self.verify
        )
        response.raise_for_status()
        assert response.json() is True, response.text

    def kv_get(self, host: str, key: str, stale: bool = False) -> str | None:
        """A key's value from `host`'s server; `stale` answers from that server's own copy of the data."""
        params = {"raw": "true", **({"stale": "true"} if stale else {})}
        response = requests.get(
            f"{self.consul_url(host)}/v1/kv/{key}", params=params, headers=self.management, timeout=10, verify=self.verify
        )
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.text

    def alive_servers(self, host: str) -> list[str]:
        members = self.consul(host, "/v1/agent/members")
        return sorted(m["Name"] for m in members if m["Tags"].get("role") == "consul" and m["Status"] == 1)

    def resolve(self, host: str, port: int, name: str) -> list[str]:
        """A records of `name` from the Consul DNS published on `host`'s address and `port`."""
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [self.sandbox.address(host)]
        resolver.port = port
        resolver.lifetime = 5
        return sorted(record.address for record in resolver.resolve(name, "A"))

    def resolve_srv(self, host: str, port: int, name: str, tcp: bool = False) -> list[tuple[str, int]]:
        """(address, port) of each SRV record of `name`, the address from the answer's additional section."""
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [self.sandbox.address(host)]
        resolver.port = port
        resolver.lifetime = 5
        answer = resolver.resolve(name, "SRV", tcp=tcp)
        addresses = {rrset.name: rrset[0].address for rrset in answer.response.additional if rrset.rdtype == dns.rdatatype.A}
        return sorted((addresses[record.target], record.port) for record in answer)

    # ------------------------------------------------------------------ swarm probes

    @property
    def manager(self) -> docker.DockerClient:
        return self.sandbox.docker(self.outputs["swarmManager"])

    def nodes(self) -> dict[str, dict[str, str]]:
        """`docker node ls` on the manager: hostname -> role, state, availability."""
        return {
            node["Description"]["Hostname"]: {
                "role": node["Spec"]["Role"],
                "state": node["Status"]["State"],
                "availability": node["Spec"]["Availability"],
            }
            for node in self.manager.api.nodes()
        }

    def node_labels(self) -> dict[str, dict[str, str]]:
        """Each node's labels but the one saying which stack made it a swarm node (components.swarm_cluster)."""
        return {
            node["Description"]["Hostname"]: {key: value for key, value in (node["Spec"].get("Labels") or {}).items() if key != OWNER_LABEL}
            for node in self.manager.api.nodes()
        }

    def running_tasks_by_node(self, service: str) -> dict[str, int]:
        """hostname -> tasks of `service` that should run and do."""
        hostnames = {node["ID"]: node["Description"]["Hostname"] for node in self.manager.api.nodes()}
        counts: dict[str, int] = {}
        for task in self.manager.api.tasks(filters={"service": service, "desired-state": "running"}):
            if task["Status"]["State"] == "running":
                host = hostnames.get(task["NodeID"], task["NodeID"])
                counts[host] = counts.get(host, 0) + 1
        return counts

    # ------------------------------------------------------------------ workloads

    def client_report(self, host: str) -> dict[str, Any]:
        """The client's one-shot JSON report (apps/README.md), run inside its container on `host`."""
        client = self.sandbox.docker(host).containers.get(self.outputs["clientContainers"][host])
        result = client.exec_run(["python", "app.py", "--json"], environment={"INTERVAL": "0"}, demux=True)
        stdout, stderr = (part.decode() if part else "" for part in result.output)
        assert result.exit_code == 0, f"client on {host} exited {result.exit_code}: {stderr}"
        return json.loads(stdout.strip().splitlines()[-1])

    def worker_page(self, host: str, port: int) -> dict[str, Any]:
        response = requests.get(f"http://{self.sandbox.address(host)}:{port}/", timeout=5)
        response.raise_for_status()
        return response.json()


class Cluster(ClusterProbes, HarnessStack):
    """A cluster stack on the sandbox's hosts, applied by the harness; StackReferences to the sandbox read its latest outputs."""

    def __init__(self, sandbox: Sandbox, stack: str = CLUSTER_STACK) -> None:
        HarnessStack.__init__(self, stack, cluster_config(sandbox), stack_outputs={stack_reference(sandbox.stack): sandbox.outputs})
        self.sandbox = sandbox


def worker_endpoints(sandbox: SandboxProbes, ports: Iterable[int] = (8081, 8082)) -> list[tuple[str, int]]:
    """(address, port) of every worker the sandbox's roles give a cluster stack with the default workers."""
    return sorted((host["address"], port) for host in sandbox.outputs["hosts"] if "app" in host["roles"] for port in ports)


def recovery_checks(cluster: ClusterProbes, replicas: int, kv_key: str, kv_value: str) -> dict[str, Callable[[], Any]]:
    """What a user checks after hosts rebooted, each a probe true once it passes (for time_recovery):
    Consul, the workers in DNS on every host, the client, heyworld's tasks, heyworld_global and KV."""
    sandbox = cluster.sandbox
    hosts = list(sandbox.outputs["addresses"])
    workers = worker_endpoints(sandbox)
    service, global_ = cluster.outputs["swarmServices"]
    client_host = next(iter(cluster.outputs["clientContainers"]))
    return {
        "three Consul servers alive, with a leader": lambda: cluster.alive_servers("larry") == sorted(hosts)
        and cluster.consul("larry", "/v1/status/leader"),
        "the workers in DNS on every host": lambda: all(
            cluster.resolve_srv(host, 53, "distributed_app.service.consul", tcp=True) == workers for host in hosts
        ),
        f"the client on {client_host} reports every worker": lambda: sorted(
            (i["address"], i["port"]) for i in cluster.client_report(client_host)["http"]
        )
        == workers,
        "heyworld's tasks run": lambda: sum(cluster.running_tasks_by_node(service).values()) == replicas,
        "heyworld_global on every host": lambda: cluster.running_tasks_by_node(global_) == dict.fromkeys(hosts, 1),
        "KV kept": lambda: cluster.kv_get(hosts[-1], kv_key) == kv_value,
    }


class Traffic:
    """Requests to a service's host-mode port, one after the other, as a load balancer in front of the
    hosts sends them: each request goes to the next host and, refused there, to the others in turn.
    A request fails when no host answers it with 200 (the routing mesh needs IPVS, which these nested
    engines lack, so the hosts' own ports stand in for it)."""

    def __init__(self, addresses: list[str], port: int) -> None:
        self._urls = [f"http://{address}:{port}/" for address in addresses]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.requests = 0
        self.failed = 0
        self.answered_by: dict[str, int] = {}

    def __enter__(self) -> "Traffic":
        self._thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        turn = 0
        while not self._stop.is_set():
            urls = self._urls[turn % len(self._urls):] + self._urls[: turn % len(self._urls)]
            turn += 1
            self.requests += 1
            for url in urls:
                try:
                    if requests.get(url, timeout=2).status_code == 200:
                        self.answered_by[url] = self.answered_by.get(url, 0) + 1
                        break
                except requests.RequestException:
                    continue
            else:
                self.failed += 1
            time.sleep(0.05)


def build_on_base(engine: docker.DockerClient, tag: str, instruction: str) -> None:
    """The base image with one more Dockerfile instruction: an image of its own, with a digest of its own."""
    dockerfile = f"FROM {BASE_IMAGE}\n{instruction}\n"
    engine.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=tag, rm=True)


def leftovers(engine: docker.DockerClient, prefix: str) -> dict[str, list[str]]:
    return objects_named_with(engine, prefix)


def clear_earlier_runs(engine: docker.DockerClient, cluster_stack: str = CLUSTER_STACK, sandbox_stack: str = SANDBOX_STACK) -> None:
    """Destroys what a killed run left: the cluster first (its engines live in the sandbox), then the sandbox."""
    cluster = HarnessStack(cluster_stack, {})
    sandbox = HarnessStack(sandbox_stack, {})
    try:
        if len(cluster.harness.state):
            with phase("destroy leftovers of an earlier run (cluster)"):
                try:
                    cluster.harness.destroy()
                except Exception:  # noqa: BLE001 - its engines are gone or going with the sandbox
                    cluster.forget()
        if len(sandbox.harness.state):
            with phase("destroy leftovers of an earlier run (sandbox)"):
                try:
                    sandbox.harness.destroy()
                except Exception:  # noqa: BLE001 - the sweep below removes the rest by name
                    sandbox.forget()
    finally:
        cluster.close()
        sandbox.close()
        sweep(engine, f"{sandbox_stack}-")
