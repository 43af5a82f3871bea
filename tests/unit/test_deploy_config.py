"""Deploy settings under mocks: placement, resources, health checks, rollouts, node labels, drains, the inventory,
and the containers' CPU and memory limits."""
from __future__ import annotations

import pytest

from components.container_resources import cpus_text
from components.swarm_service import PLACEMENT_SCRIPT
from stacks.deploy_config import _short_duration
from tests.unit.conftest import Deployment, deploy
from tests.unit.test_config_errors import cluster as cluster_config

SERVICE = "docker:index/service:Service"
CONTAINER = "docker:index/container:Container"
COMMAND = "command:local:Command"
MIB = 1024 * 1024
WEB = {
    "image": "registry.example.com/web:1",
    "args": ["python3", "-m", "http.server", "8000"],
    "replicas": 3,
    "ports": [{"published": 8090, "target": 8000}],
    "healthCheck": {"test": ["CMD", "python3", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/')"], "interval": "1s", "retries": 2},
    "constraints": ["node.hostname!=moe"],
    "spread": "node.labels.zone",
    "resources": {"cpuLimit": 0.5, "memoryLimitMb": 128, "cpuReservation": 0.1, "memoryReservationMb": 32},
    "rollout": {"parallelism": 1, "delay": "2000ms", "order": "start-first", "monitor": "5s"},
    "convergeTimeout": "90s",
}


@pytest.fixture(scope="module")
def defaults() -> Deployment:
    return deploy("cluster", cluster_config())


@pytest.fixture(scope="module")
def configured() -> Deployment:
    return deploy(
        "cluster",
        cluster_config(
            swarmServices={"web": WEB},
            heyworldDeploy={"rollout": {"strategy": "all-at-once"}, "constraints": ["node.labels.zone==a"]},
            nodeLabels={"larry": {"zone": "a"}, "curly": {"zone": "b", "disk": "ssd"}},
            drainedHosts=["moe"],
        ),
    )


def test_by_default_services_roll_one_at_a_time_start_first_and_roll_back(defaults: Deployment) -> None:
    heyworld = defaults.one(SERVICE, "heyworld-service").inputs
    assert heyworld["updateConfig"] == {"parallelism": 1, "delay": "10s", "failureAction": "rollback", "order": "start-first"}
    # A rollback goes back the same way, so it too keeps tasks running.
    assert heyworld["rollbackConfig"] == {"parallelism": 1, "delay": "10s", "order": "start-first"}
    task = heyworld["taskSpec"]
    # An empty placement all the same: the provider keeps one left out, so lifted constraints would stay.
    assert task["placement"] == {"constraints": [], "prefs": []}
    assert "resources" not in task and "healthcheck" not in task["containerSpec"]
    assert "endpointSpec" not in heyworld
    # No constraint or reservation: nothing to check before the service.
    assert not [r for r in defaults.of_type(COMMAND) if r.name.endswith("-placement")]
    # Nothing declared for any node: no node settings at all.
    assert not [r for r in defaults.of_type(COMMAND) if r.name.startswith("swarm-node-")]


def test_a_configured_service_is_placed_sized_health_checked_and_published_on_the_mesh(configured: Deployment) -> None:
    web = configured.one(SERVICE, "service-web-service")
    inputs = web.inputs
    assert inputs["name"] == "cluster-web"
    assert inputs["mode"] == {"replicated": {"replicas": 3}}
    task = inputs["taskSpec"]
    assert task["containerSpec"]["args"] == WEB["args"]
    assert task["containerSpec"]["healthcheck"] == {
        "tests": WEB["healthCheck"]["test"], "interval": "1s", "timeout": "3s", "startPeriod": "0s", "retries": 2,
    }
    # The provider hands each pref to Swarm as the spread descriptor itself.
    assert task["placement"] == {"constraints": ["node.hostname!=moe"], "prefs": ["node.labels.zone"]}
    assert task["resources"] == {
        "limits": {"nanoCpus": 500_000_000, "memoryBytes": 128 * MIB},
        "reservation": {"nanoCpus": 100_000_000, "memoryBytes": 32 * MIB},
    }
    # Durations as the provider reads them back, so the next up finds nothing changed.
    assert inputs["updateConfig"] == {"parallelism": 1, "delay": "2s", "failureAction": "rollback", "monitor": "5s", "order": "start-first"}
    assert inputs["rollbackConfig"] == {"parallelism": 1, "delay": "2s", "monitor": "5s", "order": "start-first"}
    assert inputs["convergeConfig"] == {"delay": "1s", "timeout": "1m30s"}
    # Ingress, the provider's default, goes unsaid.
    assert inputs["endpointSpec"] == {"ports": [{"targetPort": 8000, "publishedPort": 8090, "protocol": "tcp"}]}
    # On the manager's engine, after the swarm and the node labels it may be constrained by.
    assert web.provider_urn == configured.one("pulumi:providers:docker", "larry-engine").urn
    assert {configured.one(COMMAND, f"swarm-node-{host}").urn for host in ("larry", "curly", "moe")} <= set(web.dependencies)
    # Checked against the nodes first, on the manager, with the constraints and the reservation.
    check = configured.one(COMMAND, "service-web-placement")
    assert check.urn in web.dependencies and check.parent == web.parent
    assert check.inputs["create"] == "python3 -" and check.inputs["stdin"] == PLACEMENT_SCRIPT
    assert check.inputs["environment"] == {
        "DOCKER_HOST": "tcp://10.0.0.11:2376",
        "SERVICE_NAME": "cluster-web",
        "SERVICE_CONSTRAINTS": '["node.hostname!=moe"]',
        "SERVICE_NANO_CPUS": "100000000",
        "SERVICE_MEMORY_BYTES": str(32 * MIB),
    }


def test_all_at_once_stops_every_task_then_starts_the_new_ones(configured: Deployment) -> None:
    for name in ("heyworld-service", "heyworld-global-service"):
        inputs = configured.one(SERVICE, name).inputs
        assert inputs["updateConfig"] == {"parallelism": 0, "failureAction": "rollback", "order": "stop-first"}, name
        assert inputs["taskSpec"]["placement"] == {"constraints": ["node.labels.zone==a"], "prefs": []}, name


def test_node_labels_and_drains_run_against_the_manager_for_each_node(configured: Deployment) -> None:
    settings = {host: configured.one(COMMAND, f"swarm-node-{host}") for host in ("larry", "curly", "moe")}
    environments = {host: command.inputs["environment"] for host, command in settings.items()}
    assert {host: env["DOCKER_HOST"] for host, env in environments.items()} == dict.fromkeys(settings, "tcp://10.0.0.11:2376")
    assert environments["curly"]["NODE_LABELS"] == "disk=ssd\nzone=b"
    assert environments["curly"]["NODE_LABEL_KEYS"] == "disk zone"
    assert {host: env["NODE_AVAILABILITY"] for host, env in environments.items()} == {"larry": "active", "curly": "active", "moe": "drain"}
    # Each node's id comes from its init or join, so the settings wait for it.
    assert configured.one(COMMAND, "swarm-join-curly").urn in settings["curly"].dependencies
    assert configured.one(COMMAND, "swarm-init").urn in settings["larry"].dependencies
    assert all(command.parent == configured.one("orchestration:swarm:SwarmCluster", "swarm").urn for command in settings.values())


def test_a_drained_manager_is_a_manager_only_node() -> None:
    deployment = deploy("cluster", {"drainedHosts": ["larry"]})
    larry = deployment.one(COMMAND, "swarm-node-larry").inputs["environment"]
    assert (larry["NODE_AVAILABILITY"], deployment.outputs["swarmManager"]) == ("drain", "larry")
    # The others keep running tasks: nothing to set on them.
    assert [command.name for command in deployment.of_type(COMMAND) if command.name.startswith("swarm-node-")] == ["swarm-node-larry"]


def test_the_inventory_lists_each_hosts_containers_and_each_services_mode_replicas_and_image(configured: Deployment) -> None:
    inventory = configured.outputs["inventory"]
    assert sorted(inventory["hosts"]) == ["curly", "larry", "moe"]
    # In the mesh (the cluster's default) each worker with its pod and sidecar.
    workers = [f"cluster-server{n}{part}" for n in (1, 2) for part in ("", "-pod", "-sidecar")]
    assert sorted(inventory["hosts"]["larry"]) == sorted(["cluster-larry", *workers])
    assert inventory["hosts"]["larry"]["cluster-larry"] == "hashicorp/consul:1.16"
    assert inventory["hosts"]["moe"]["cluster-client"].startswith("10.0.0.11:5000/orchestration/distributed_client")
    # The image as the tasks run it: pinned to the digest the registry serves.
    assert inventory["services"]["cluster-web"] == {"mode": "replicated", "replicas": 3, "image": f"{WEB['image']}@sha256:service-web-image"}
    assert inventory["services"]["cluster-heyworld_global"]["mode"] == "global"
    assert inventory["services"]["cluster-heyworld_global"]["replicas"] is None
    assert configured.outputs["swarmServices"] == ["cluster-heyworld", "cluster-heyworld_global", "cluster-web"]


def test_the_local_swarm_runs_configured_services_too_and_the_inventory_lists_one_host() -> None:
    dev = deploy("dev", {"swarmServices": {"web": {"image": "web:1", "mode": "global"}}})
    web = dev.one(SERVICE, "service-web-service").inputs
    assert web["name"] == "dev-web" and web["mode"] == {"global": True}
    # The provider's wait fails on a global service, so it has none.
    assert "convergeConfig" not in web
    inventory = dev.outputs["inventory"]
    assert sorted(inventory["hosts"]["local"]) == [
        "dev-client", "dev-consul-1", "dev-redis", "dev-server1", "dev-server2", "dev-web",
    ]
    assert inventory["hosts"]["local"]["dev-redis"] == "redis:7"
    assert inventory["services"]["dev-web"] == {"mode": "global", "replicas": None, "image": "web:1@sha256:service-web-image"}
    assert inventory["services"]["dev-heyworld"]["replicas"] == 2


@pytest.mark.parametrize(
    "milliseconds, text",
    [(0, "0s"), (500, "500ms"), (2000, "2s"), (1500, "1.5s"), (90_000, "1m30s"), (120_000, "2m"), (3_600_000, "1h"), (3_660_000, "1h1m")],
)
def test_durations_are_written_as_the_provider_reads_them_back(milliseconds: int, text: str) -> None:
    assert _short_duration(milliseconds) == text


def test_container_limits_apply_to_each_kind_of_container_as_the_provider_reads_them_back() -> None:
    limits = {
        "consul": {"cpuLimit": 1, "memoryLimitMb": 256, "memoryReservationMb": 128},
        "workers": {"cpuLimit": 0.25, "memoryLimitMb": 64},
        "client": {"memoryReservationMb": 16},
    }
    cluster = deploy("cluster", cluster_config(containerResources=limits))
    consul = cluster.one(CONTAINER, "consul-curly-agent").inputs
    # cpus as the provider writes it back ("1.0"), and no swap beyond the limit (the engine would double it).
    assert (consul["cpus"], consul["memory"], consul["memorySwap"], consul["memoryReservation"]) == ("1.0", 256, 256, 128)
    for worker in ("app-larry-server1", "app-curly-server2"):
        inputs = cluster.one(CONTAINER, worker).inputs
        assert (inputs["cpus"], inputs["memory"], inputs["memorySwap"]) == ("0.25", 64, 64), worker
        assert "memoryReservation" not in inputs, worker
    client = cluster.one(CONTAINER, "client-moe-container").inputs
    assert client["memoryReservation"] == 16 and "memory" not in client and "cpus" not in client
    # Unset, nothing is declared: the dev stack's containers are as before.
    dev = deploy("dev")
    for container in dev.of_type(CONTAINER):
        assert not {"cpus", "memory", "memorySwap", "memoryReservation"} & set(container.inputs), container.name


@pytest.mark.parametrize("cpus, text", [(1, "1.0"), (2.0, "2.0"), (0.5, "0.5"), (0.25, "0.25"), (1.5, "1.5"), (0.001, "0.001")])
def test_cpus_are_written_as_the_provider_reads_them_back(cpus: float, text: str) -> None:
    assert cpus_text(cpus) == text
