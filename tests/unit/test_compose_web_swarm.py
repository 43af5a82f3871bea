"""The compose web app as a replicated swarm service (`composeWeb`), under mocks: what runs, how it is
published, rolled out and health-checked, how it reaches Redis, and the settings refused naming the key."""
from __future__ import annotations

import pytest

from components.compose_app import WEB_HEALTH_TEST
from components.swarm_service import IMAGE_TRIGGER_LABEL
from tests.unit.conftest import Deployment, deploy, deploy_rejected
from tests.unit.test_config_errors import cluster as cluster_config

SERVICE = "docker:index/service:Service"
CONTAINER = "docker:index/container:Container"
NETWORK = "docker:index/network:Network"
VOLUME = "docker:index/volume:Volume"
CATALOG_SERVICE = "consul:index/service:Service"


@pytest.fixture(scope="module")
def swarm_web() -> Deployment:
    return deploy("dev", {"composeWeb": {"mode": "swarm"}})


@pytest.fixture(scope="module")
def container_web() -> Deployment:
    return deploy("dev")


def test_by_default_web_is_a_container_on_a_bridge_network(container_web: Deployment) -> None:
    assert container_web.one(CONTAINER, "compose-web").inputs["name"] == "dev-web"
    assert not [r for r in container_web.of_type(SERVICE) if r.name.startswith("compose-")]
    network = container_web.one(NETWORK, "compose-network").inputs
    assert (network["name"], network["driver"], network.get("attachable")) == ("dev-compose", "bridge", None)
    assert container_web.outputs["webUrl"] == "http://localhost:5000"


def test_swarm_mode_runs_web_as_three_replicas_on_the_mesh_rolled_start_first(swarm_web: Deployment) -> None:
    assert not [r for r in swarm_web.of_type(CONTAINER) if r.name == "compose-web"]
    service = swarm_web.one(SERVICE, "compose-web-service")
    inputs = service.inputs
    assert inputs["name"] == "dev-web"
    assert inputs["mode"] == {"replicated": {"replicas": 3}}
    # The routing mesh (ingress), the provider's default mode: left unset, as the provider reads it back.
    assert inputs["endpointSpec"] == {"ports": [{"targetPort": 5000, "publishedPort": 5000, "protocol": "tcp"}]}
    assert inputs["updateConfig"] == {"parallelism": 1, "delay": "10s", "failureAction": "rollback", "order": "start-first"}
    assert inputs["rollbackConfig"] == {"parallelism": 1, "delay": "10s", "order": "start-first"}
    assert inputs["convergeConfig"] == {"delay": "1s", "timeout": "3m"}
    container = inputs["taskSpec"]["containerSpec"]
    # Gated: a new task counts as running only once it answers (Redis included), so the next waits for it.
    assert container["healthcheck"] == {"tests": list(WEB_HEALTH_TEST), "interval": "1s", "timeout": "3s", "startPeriod": "30s", "retries": 3}
    assert container["env"] == {"REDIS_HOST": "redis", "REDIS_PORT": "6379", "PORT": "5000"}
    # Swarm publishes on every address, so the URL says so.
    assert swarm_web.outputs["webUrl"] == "http://localhost:5000"


def test_a_rebuilt_image_behind_the_same_tag_rolls_the_tasks(swarm_web: Deployment) -> None:
    container = swarm_web.one(SERVICE, "compose-web-service").inputs["taskSpec"]["containerSpec"]
    labels = {label["label"]: label["value"] for label in container["labels"]}
    # The build's digest: a new build changes the task spec, and Swarm rolls the tasks onto the new image.
    assert labels == {IMAGE_TRIGGER_LABEL: "orchestration/composeapp@sha256:composeapp-image-build"}


def test_web_tasks_reach_redis_over_an_attachable_overlay_network_redis_joins(swarm_web: Deployment) -> None:
    network = swarm_web.one(NETWORK, "compose-network")
    assert (network.inputs["name"], network.inputs["driver"], network.inputs["attachable"]) == ("dev-compose-overlay", "overlay", True)
    service = swarm_web.one(SERVICE, "compose-web-service")
    assert service.inputs["taskSpec"]["networksAdvanceds"] == [{"id": "compose-network-id"}]
    redis = swarm_web.one(CONTAINER, "compose-redis")
    assert [n["name"] for n in redis.inputs["networksAdvanced"]] == ["dev-compose-overlay", "dev-net"]
    assert redis.inputs["networksAdvanced"][0]["aliases"] == ["redis"]
    # Web's tasks start once Redis is healthy; the overlay network once the swarm is.
    assert redis.urn in service.dependencies
    swarm_init = swarm_web.one("command:local:Command", "swarm-init")
    assert swarm_init.urn in network.dependencies
    assert swarm_init.urn in service.dependencies


def test_redis_keeps_its_retained_volume_and_stays_a_container(swarm_web: Deployment) -> None:
    volume = swarm_web.one(VOLUME, "compose-redis-data")
    assert volume.retain_on_delete
    assert volume.inputs["name"] == "dev-redis-data"
    redis = swarm_web.one(CONTAINER, "compose-redis").inputs
    assert redis["volumes"] == [{"volumeName": "dev-redis-data", "containerPath": "/data"}]


def test_the_service_is_the_compose_components_and_listed_with_the_others(swarm_web: Deployment) -> None:
    service = swarm_web.one(SERVICE, "compose-web-service")
    chain = [r.name for r in swarm_web.ancestors(service)]
    assert chain[:2] == ["compose-web", "compose"], chain
    assert swarm_web.outputs["swarmServices"][-1] == "dev-web"
    inventory = swarm_web.outputs["inventory"]
    assert "dev-web" not in inventory["hosts"]["local"]
    assert inventory["services"]["dev-web"]["replicas"] == 3
    assert inventory["services"]["dev-web"]["mode"] == "replicated"


def test_consul_lists_web_where_its_port_is_published(swarm_web: Deployment) -> None:
    web = swarm_web.one(CATALOG_SERVICE, "catalog-web").inputs
    # The dev network's gateway is the engine's host, where Swarm publishes the port.
    assert (web["address"], web["port"]) == ("172.29.0.1", 5000)


def test_host_mode_with_one_stop_first_task_and_deploy_settings() -> None:
    dev = deploy(
        "dev",
        {
            "webPort": 5081,
            "composeWeb": {
                "mode": "swarm",
                "publishMode": "host",
                "replicas": 1,
                "rollout": {"order": "stop-first", "delay": "1s", "monitor": "5s"},
                "resources": {"memoryLimitMb": 128},
                "constraints": ["node.role==manager"],
                "convergeTimeout": "90s",
            },
        },
    )
    inputs = dev.one(SERVICE, "compose-web-service").inputs
    assert inputs["endpointSpec"] == {"ports": [{"targetPort": 5000, "publishedPort": 5081, "protocol": "tcp", "publishMode": "host"}]}
    assert inputs["mode"] == {"replicated": {"replicas": 1}}
    assert inputs["updateConfig"] == {"parallelism": 1, "delay": "1s", "failureAction": "rollback", "monitor": "5s", "order": "stop-first"}
    assert inputs["taskSpec"]["resources"] == {"limits": {"memoryBytes": 128 * 1024 * 1024}}
    assert inputs["taskSpec"]["placement"]["constraints"] == ["node.role==manager"]
    assert inputs["convergeConfig"]["timeout"] == "1m30s"
    # A constraint is checked against the nodes first, on the local engine.
    check = dev.one("command:local:Command", "compose-web-placement")
    assert check.urn in dev.one(SERVICE, "compose-web-service").dependencies


@pytest.mark.parametrize(
    ("settings", "key", "problem"),
    [
        ({"composeWeb": {"mode": "swarm", "publishMode": "host"}}, "composeWeb.replicas", "3 tasks with `publishMode: host` on one engine"),
        ({"composeWeb": {"mode": "swarm", "publishMode": "host", "replicas": 1}}, "composeWeb.rollout.order", "host-mode port already in use"),
        ({"composeWeb": {"mode": "swarm"}, "redisThroughConsul": True}, "composeWeb.mode", "Consul's DNS at 172.29.0.254 does not answer"),
        ({"composeWeb": {"mode": "swarm", "replicas": "three"}}, "composeWeb.replicas", "'three' is not a whole number"),
        ({"composeWeb": {"mode": "swarm", "rollout": {"delay": "soon"}}}, "composeWeb.rollout.delay", "'soon' is not a duration"),
        ({"composeWeb": {"publishMode": "host"}}, "composeWeb.publishMode", "is only read with `mode: swarm`"),
        ({"composeWeb": {"mode": "swarm", "ports": []}}, "composeWeb", "unknown fields ['ports']"),
    ],
)
def test_a_bad_setting_is_refused_naming_the_key_before_anything_is_registered(settings, key: str, problem: str) -> None:
    message, registered = deploy_rejected("dev", settings)
    assert f"config `orchestration:{key}`:" in message, message
    assert problem in message, message
    assert registered == []


def test_host_mode_with_all_at_once_needs_no_stop_first() -> None:
    dev = deploy("dev", {"composeWeb": {"mode": "swarm", "publishMode": "host", "replicas": 1, "rollout": {"strategy": "all-at-once"}}})
    assert dev.one(SERVICE, "compose-web-service").inputs["updateConfig"]["order"] == "stop-first"


def test_the_cluster_runs_no_compose_app_so_the_switch_is_refused_there() -> None:
    message, _ = deploy_rejected("cluster", {**cluster_config(), "composeWeb": {"mode": "swarm"}})
    assert "config `orchestration:composeWeb.mode`: the compose app runs in the local environment only" in message
    # Saying `container` there is harmless: it is what the cluster does anyway (it runs no compose app).
    assert deploy("cluster", {**cluster_config(), "composeWeb": {"mode": "container"}}).outputs["swarmServices"]
