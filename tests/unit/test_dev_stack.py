"""The dev stack under mocks: what it registers, where, and in which order."""
from __future__ import annotations

from collections import Counter

import pytest

from components.consul_server import SERVING_CHECK
from tests.unit.conftest import Deployment, deploy

CONTAINER = "docker:index/container:Container"
REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage"
COMMAND = "command:local:Command"
DOCKER_IMAGE = "docker:index/image:Image"


@pytest.fixture(scope="module")
def dev() -> Deployment:
    return deploy("dev")


def container(deployment: Deployment, name: str) -> dict:
    return deployment.one(CONTAINER, name).inputs


def env(deployment: Deployment, name: str) -> dict[str, str]:
    return dict(item.split("=", 1) for item in container(deployment, name)["envs"])


def test_resource_types_and_counts(dev: Deployment) -> None:
    custom = Counter(r.type for r in dev.registrations if r.custom)
    assert custom == {
        "pulumi:providers:docker": 1,
        "pulumi:providers:consul": 1,
        "docker:index/network:Network": 2,
        "docker:index/volume:Volume": 2,
        "docker:index/image:Image": 3,
        REMOTE_IMAGE: 7,
        CONTAINER: 6,
        "docker:index/service:Service": 2,
        COMMAND: 6,
        "consul:index/node:Node": 1,
        "consul:index/service:Service": 2,
        "consul:index/keys:Keys": 1,
        "random:index/randomPassword:RandomPassword": 1,
    }


def test_every_resource_is_inside_a_component_of_ours(dev: Deployment) -> None:
    for registration in dev.registrations:
        if registration.custom:
            owners = dev.ancestors(registration)
            assert owners and owners[0].type.startswith("orchestration:"), registration.urn
        else:
            assert registration.type.startswith("orchestration:"), registration.urn


def test_children_are_named_after_their_component(dev: Deployment) -> None:
    for registration in dev.registrations:
        parents = dev.ancestors(registration)
        if parents and parents[0].type.startswith("orchestration:"):
            assert registration.name.startswith(parents[0].name + "-"), registration.urn


def test_every_docker_resource_runs_on_the_local_engine(dev: Deployment) -> None:
    engine = dev.one("pulumi:providers:docker", "local-engine")
    assert engine.inputs["host"] == "unix:///var/run/docker.sock"
    docker_resources = [r for r in dev.registrations if r.type.startswith("docker:")]
    assert docker_resources
    for registration in docker_resources:
        assert registration.provider_urn == engine.urn, registration.urn


def test_containers_run_the_pulled_image_id_not_a_tag(dev: Deployment) -> None:
    for registration in dev.of_type(CONTAINER):
        image_id = registration.inputs["image"]
        assert image_id.startswith("sha256:"), registration.urn
        pulled = dev.one(REMOTE_IMAGE, image_id.removeprefix("sha256:"))
        assert pulled.urn in registration.dependencies
        assert pulled.inputs["keepLocally"] is True


def test_our_images_build_from_the_apps_folders_with_the_configured_base(dev: Deployment) -> None:
    for app in ("composeapp", "distributed_app", "distributed_client"):
        build = dev.one("docker:index/image:Image", f"{app}-image-build")
        assert build.inputs["build"]["context"] == f"apps/{app}"
        assert build.inputs["build"]["args"] == {"BASE_IMAGE": "python:3.12-slim"}
        assert build.inputs["skipPush"] is True
        assert build.inputs["imageName"] == f"orchestration/{app}:dev"


def test_web_reaches_redis_by_name_on_a_private_network_and_publishes_5000(dev: Deployment) -> None:
    web, redis = container(dev, "compose-web"), container(dev, "compose-redis")
    assert env(dev, "compose-web")["REDIS_HOST"] == "redis"
    assert web["ports"] == [{"internal": 5000, "external": 5000, "ip": "127.0.0.1"}]
    assert redis.get("ports") is None
    private = [n for n in redis["networksAdvanced"] if "redis" in n.get("aliases", [])]
    assert [n["name"] for n in private] == ["dev-compose"]
    assert "dev-compose" in [n["name"] for n in web["networksAdvanced"]]
    assert redis["volumes"] == [{"volumeName": "dev-redis-data", "containerPath": "/data"}]
    assert dev.outputs["webUrl"] == "http://localhost:5000"


def test_a_single_consul_server_bootstraps_itself(dev: Deployment) -> None:
    agent = container(dev, "consul-consul-1-agent")
    command = agent["command"]
    assert command[:3] == ["consul", "agent", "-server"]
    assert "-bootstrap-expect=1" in command
    assert "-node=consul-1" in command
    assert "-datacenter=dc1" in command
    assert not [flag for flag in command if flag.startswith("-retry-join")]
    assert {"internal": 8500, "external": 8500, "ip": "127.0.0.1", "protocol": "tcp"} in agent["ports"]
    assert {"internal": 53, "external": 8600, "ip": "127.0.0.1", "protocol": "udp"} in agent["ports"]
    assert {"internal": 53, "external": 8600, "ip": "127.0.0.1", "protocol": "tcp"} in agent["ports"]
    assert len(agent["ports"]) == 3
    assert "-dns-port=53" in command
    # Containers use it as their DNS server: at a fixed address on the stack network.
    assert agent["networksAdvanced"][0]["ipv4Address"] == "172.29.0.254"
    assert agent["volumes"] == [{"volumeName": "dev-consul-1-data", "containerPath": "/consul/data"}]
    assert agent["healthcheck"]["tests"] == ["CMD-SHELL", SERVING_CHECK]
    assert agent["wait"] is True


def test_consul_servers_are_replaced_one_after_the_other() -> None:
    """Each server waits for the one before it to serve, so an update never stops them all at once."""
    dev3 = deploy("dev", {"consulServers": 3})
    agents = {r.name: r for r in dev3.of_type("docker:index/container:Container") if r.name.startswith("consul-")}
    assert not any(urn.startswith("urn:") and "Container::consul-" in urn for urn in agents["consul-consul-1-agent"].dependencies)
    assert agents["consul-consul-1-agent"].urn in agents["consul-consul-2-agent"].dependencies
    assert agents["consul-consul-2-agent"].urn in agents["consul-consul-3-agent"].dependencies
    for node in ("consul-1", "consul-2", "consul-3"):
        agent = container(dev3, f"consul-{node}-agent")
        assert agent["wait"] is True and agent["healthcheck"]["tests"] == ["CMD-SHELL", SERVING_CHECK]


def test_three_consul_servers_expect_three_and_retry_join_the_others() -> None:
    dev3 = deploy("dev", {"consulServers": 3})
    nodes = ["consul-1", "consul-2", "consul-3"]
    for node in nodes:
        command = container(dev3, f"consul-{node}-agent")["command"]
        assert "-bootstrap-expect=3" in command
        joins = sorted(flag.split("=", 1)[1] for flag in command if flag.startswith("-retry-join="))
        assert joins == sorted(set(nodes) - {node})
    # One engine has one port 8500: only the first server publishes.
    assert container(dev3, "consul-consul-2-agent").get("ports") is None
    ready = dev3.one(COMMAND, "consul-ready")
    assert ready.inputs["environment"]["CONSUL_EXPECTED_SERVERS"] == "3"
    assert dev3.outputs["consulNodes"] == nodes


def test_workers_register_with_consul_only_after_it_is_ready(dev: Deployment) -> None:
    ready = dev.one(COMMAND, "consul-ready")
    for worker in ("app-server1", "app-server2"):
        registration = dev.one(CONTAINER, worker)
        assert ready.urn in registration.dependencies
        # Stopped, not killed, on delete: the worker deregisters itself on SIGTERM.
        assert registration.inputs["destroyGraceSeconds"] == 15
        worker_env = env(dev, worker)
        assert worker_env["CONSUL_HTTP_ADDR"] == "http://consul-1:8500"
        assert worker_env["SERVICE_ID"] == worker.removeprefix("app-")
        assert worker_env["CONSUL_KV_PREFIX"] == "distributed_app/dev/"
    agent = dev.one(CONTAINER, "consul-consul-1-agent")
    assert agent.urn in ready.dependencies


def test_the_client_asks_consul_over_http_and_dns(dev: Deployment) -> None:
    client_env = env(dev, "client-container")
    assert client_env["CONSUL_HTTP_ADDR"] == "http://consul-1:8500"
    assert client_env["CONSUL_DNS_SERVER"] == "consul-1"
    assert client_env["CONSUL_DNS_PORT"] == "53"
    assert container(dev, "client-container")["dns"] == ["172.29.0.254"]


def test_long_running_containers_use_consul_dns(dev: Deployment) -> None:
    for name in ("compose-web", "compose-redis", "app-server1", "app-server2", "client-container"):
        assert container(dev, name)["dns"] == ["172.29.0.254"], name
    assert "-recursor=127.0.0.11" in container(dev, "consul-consul-1-agent")["command"]


def test_containers_join_their_network_after_it_exists(dev: Deployment) -> None:
    network = dev.one("docker:index/network:Network", "local-network")
    assert network.inputs["ipamConfigs"] == [{"subnet": "172.29.0.0/24", "gateway": "172.29.0.1"}]
    for name in ("consul-consul-1-agent", "app-server1", "client-container", "compose-web"):
        assert network.urn in dev.one(CONTAINER, name).dependencies, name


def test_fixed_names_are_deleted_before_they_are_replaced(dev: Deployment) -> None:
    for registration in dev.of_type(CONTAINER):
        assert registration.delete_before_replace, registration.urn


def test_swarm_services_come_after_swarm_init(dev: Deployment) -> None:
    init = dev.one(COMMAND, "swarm-init")
    assert init.inputs["environment"] == {
        "DOCKER_HOST": "unix:///var/run/docker.sock", "SWARM_ADVERTISE_ADDR": "127.0.0.1", "SWARM_OWNER": "orchestration/dev"
    }
    replicated = dev.one("docker:index/service:Service", "heyworld-service")
    global_ = dev.one("docker:index/service:Service", "heyworld-global-service")
    for service in (replicated, global_):
        assert init.urn in service.dependencies
        assert service.inputs["updateConfig"]["order"] == "start-first"
    assert replicated.inputs["name"] == "dev-heyworld"
    assert replicated.inputs["mode"] == {"replicated": {"replicas": 2}}
    assert global_.inputs["name"] == "dev-heyworld_global"
    assert global_.inputs["mode"] == {"global": True}


def test_services_run_their_image_pinned_as_swarm_stores_it(dev: Deployment) -> None:
    """What pulumi-docker reads back: the image by its registry digest, and the restart window "0s"."""
    for name in ("heyworld", "heyworld-global"):
        service = dev.one("docker:index/service:Service", f"{name}-service")
        pulled = dev.one(REMOTE_IMAGE, f"{name}-image")
        assert pulled.provider == service.provider and pulled.inputs["name"] == "alpine:3.20"
        assert service.inputs["taskSpec"]["containerSpec"]["image"] == f"alpine:3.20@sha256:{name}-image"
        assert service.inputs["taskSpec"]["restartPolicy"] == {"condition": "any", "delay": "5s", "window": "0s"}
        # The platforms the provider's create takes from the registry, which no update sends again.
        assert service.ignore_changes == ("taskSpec.placement.platforms",), service.urn
    # `up` waits for the replicas; pulumi-docker cannot wait for a global service's tasks.
    assert dev.one("docker:index/service:Service", "heyworld-service").inputs["convergeConfig"] == {"delay": "1s", "timeout": "3m"}
    assert "convergeConfig" not in dev.one("docker:index/service:Service", "heyworld-global-service").inputs


def test_heyworld_replicas_follow_config() -> None:
    three = deploy("dev", {"heyworldReplicas": 3})
    service = three.one("docker:index/service:Service", "heyworld-service")
    assert service.inputs["mode"] == {"replicated": {"replicas": 3}}


def test_the_join_token_is_secret(dev: Deployment) -> None:
    token = dev.one(COMMAND, "swarm-worker-token")
    assert token.additional_secret_outputs == ("stdout",)
    assert token.inputs["logging"] == "stderr"


def test_catalog_and_kv_go_through_a_provider_that_waits_for_consul(dev: Deployment) -> None:
    provider = dev.one("pulumi:providers:consul", "consul-api")
    ready = dev.one(COMMAND, "consul-ready")
    assert provider.inputs["address"] == "127.0.0.1:8500"
    assert ready.urn in provider.dependencies
    consul_resources = [r for r in dev.registrations if r.type.startswith("consul:")]
    assert len(consul_resources) == 4
    for registration in consul_resources:
        assert registration.provider_urn == provider.urn, registration.urn
    keys = dev.one("consul:index/keys:Keys", "catalog-kv").inputs["keys"]
    assert keys == [
        {"path": "distributed_app/dev/greeting", "value": "Hello from Consul KV"},
        {"path": "distributed_app/dev/workers", "value": "2"},
    ]
    redis = dev.one("consul:index/service:Service", "catalog-redis").inputs
    assert (redis["name"], redis["port"], redis["node"]) == ("redis", 6379, "dev-compose")


def test_what_the_catalog_registers_keeps_its_address_across_a_reboot(dev: Deployment) -> None:
    """A restarted engine deals dynamic addresses out again in start order: Redis and web, which the
    catalog registers by address, sit at fixed ones below the first Consul server's."""
    for service, address in (("redis", "172.29.0.253"), ("web", "172.29.0.252")):
        shared = dev.one(CONTAINER, f"compose-{service}").inputs["networksAdvanced"][1]
        assert shared == {"name": "dev-net", "ipv4Address": address}, service
        assert dev.one("consul:index/service:Service", f"catalog-{service}").inputs["address"] == address


def test_web_can_find_redis_through_consul() -> None:
    through_consul = deploy("dev", {"redisThroughConsul": True})
    assert env(through_consul, "compose-web")["REDIS_HOST"] == "redis.service.consul"


def test_image_names_come_from_config() -> None:
    local = deploy("dev", {"redisImage": "local/redis:test", "consulImage": "local/consul:test", "appBaseImage": "local/debian:bookworm"})
    assert local.one(REMOTE_IMAGE, "compose-redis-image").inputs["name"] == "local/redis:test"
    assert local.one(REMOTE_IMAGE, "consul-consul-1-image").inputs["name"] == "local/consul:test"
    build = local.one("docker:index/image:Image", "composeapp-image-build")
    assert build.inputs["build"]["args"] == {"BASE_IMAGE": "local/debian:bookworm"}


def test_stack_outputs(dev: Deployment) -> None:
    outputs = dict(dev.outputs)
    # test_deploy_config checks the inventory.
    assert set(outputs.pop("inventory")) == {"hosts", "services"}
    assert outputs == {
        "webUrl": "http://localhost:5000",
        "consulUiUrl": "http://127.0.0.1:8500/ui",
        "consulHttpAddress": "127.0.0.1:8500",
        "consulDnsAddress": "127.0.0.1:8600",
        "consulNodes": ["consul-1"],
        "catalogServices": ["redis", "web"],
        "kvPrefix": "distributed_app/dev/",
        "clientContainer": "dev-client",
        "swarmServices": ["dev-heyworld", "dev-heyworld_global"],
    }


def test_builds_can_trust_a_proxys_certificates() -> None:
    behind_proxy = deploy("dev", {"buildCaCertificates": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"})
    for app in ("composeapp", "distributed_app", "distributed_client"):
        args = behind_proxy.one("docker:index/image:Image", f"{app}-image-build").inputs["build"]["args"]
        assert args["EXTRA_CA_CERTS"].startswith("-----BEGIN CERTIFICATE-----"), app


def test_up_returns_once_what_a_user_checks_next_answers(dev: Deployment) -> None:
    """Workers are created once passing in Consul, web and Redis once healthy; the client after the workers."""
    workers = [dev.one(CONTAINER, f"app-{worker}") for worker in ("server1", "server2")]
    for worker in workers:
        assert worker.inputs["wait"] is True
        # Passing in the catalog, as a lookup reads it, not only in the agent's own view.
        assert "/v1/health/service/" in worker.inputs["healthcheck"]["tests"][-1]
        assert "CHECK_INTERVAL=1s" in worker.inputs["envs"]
    for name in ("compose-web", "compose-redis"):
        assert dev.one(CONTAINER, name).inputs["wait"] is True
    client = dev.one(CONTAINER, "client-container")
    assert {worker.urn for worker in workers} <= client.dependencies


def test_destroy_removes_the_images_it_built_after_everything_that_runs_them(dev: Deployment) -> None:
    for app in ("composeapp", "distributed_app", "distributed_client"):
        removal = dev.one(COMMAND, f"{app}-image-removal")
        assert "create" not in removal.inputs and 'docker image rm "$IMAGE"' in removal.inputs["delete"]
        assert removal.inputs["environment"] == {"DOCKER_HOST": "unix:///var/run/docker.sock", "IMAGE": f"orchestration/{app}:dev"}
        assert dev.one(DOCKER_IMAGE, f"{app}-image-build").urn in removal.dependencies
    # Whatever runs an image depends on its removal, so destroy deletes it first.
    for pulled, app in (("app-image", "distributed_app"), ("client-image", "distributed_client"), ("compose-web-image", "composeapp")):
        assert dev.one(COMMAND, f"{app}-image-removal").urn in dev.one(REMOTE_IMAGE, pulled).dependencies
