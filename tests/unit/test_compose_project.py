"""ComposeProject under mocks: what each compose file declares, named as Compose names it, in Compose's order."""
from __future__ import annotations

import gc
import re
import logging
from pathlib import Path
from typing import Any, Optional

import pulumi
import pytest

from components.compose_project import ComposeProject, ComposeProjectArgs, load_project
from components.compose_project.project import config_hash
from tests.harness.inline import run_inline
from tests.support.recording import ComputedOutputs, RecordingMonitor, Registration
from tests.unit.conftest import Deployment, deploy, deploy_rejected

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "compose"
CHAPTER = ROOT / "apps" / "composeapp" / "compose.yaml"
CONTAINER = "docker:index/container:Container"
NETWORK = "docker:index/network:Network"
VOLUME = "docker:index/volume:Volume"
SERVICE = "docker:index/service:Service"


def declare(file: Path, mocks: Optional[ComputedOutputs] = None, **args: Any) -> Deployment:
    mocks = mocks or ComputedOutputs()
    monitor = RecordingMonitor(mocks)
    warnings: list[str] = []

    def program() -> None:
        project = ComposeProject("app", ComposeProjectArgs(file=str(file), **args))
        pulumi.export("containers", project.container_names)
        pulumi.export("networks", project.network_names)
        pulumi.export("volumes", project.volume_names)
        pulumi.export("swarmServices", project.swarm_service_names)

    original = pulumi.log.warn
    pulumi.log.warn = lambda message, *rest, **kwargs: warnings.append(message)  # type: ignore[assignment]
    try:
        outputs = run_inline(mocks, program, monitor=monitor)
    finally:
        pulumi.log.warn = original  # type: ignore[assignment]
    outputs["warnings"] = warnings
    return Deployment(outputs, list(monitor.registrations))


def labels(registration: Registration) -> dict[str, str]:
    return {item["label"]: item["value"] for item in registration.inputs.get("labels") or []}


def depends_on(deployment: Deployment, registration: Registration) -> set[str]:
    """Names of the project's containers this one is declared after."""
    return {deployment.by_urn(urn).name for urn in registration.dependencies if deployment.by_urn(urn).type == CONTAINER}


def test_the_chapters_file_builds_web_and_runs_it_after_redis() -> None:
    deployment = declare(CHAPTER)
    assert deployment.outputs["containers"] == {"redis": "composeapp-redis-1", "web": "composeapp-web-1"}
    assert deployment.outputs["networks"] == {"default": "composeapp_default"}
    build = deployment.one("docker:index/image:Image", "app-web-build")
    assert build.inputs["imageName"] == "composeapp-web"  # Compose's name for an image it builds
    assert build.inputs["build"]["context"] == "apps/composeapp" and build.inputs["skipPush"] is True
    web = deployment.one(CONTAINER, "app-web")
    assert depends_on(deployment, web) == {"app-redis"}
    assert web.inputs["ports"] == [{"internal": 5000, "external": 5000, "protocol": "tcp"}]
    assert web.inputs["networksAdvanced"] == [{"name": "composeapp_default", "aliases": ["web"]}]
    assert labels(web).pop("com.docker.compose.config-hash") == config_hash(load_project(str(CHAPTER), {}).service("web"))
    assert {key: value for key, value in labels(web).items() if key != "com.docker.compose.config-hash"} == {
        "com.docker.compose.project": "composeapp",
        "com.docker.compose.service": "web",
        "com.docker.compose.container-number": "1",
        "com.docker.compose.oneoff": "False",
        "com.docker.compose.depends_on": "redis:service_started:false",
    }
    redis = deployment.one(CONTAINER, "app-redis")
    assert deployment.by_urn(next(iter(d for d in redis.dependencies if "RemoteImage" in d))).inputs["name"] == "redis:alpine"
    assert "wait" not in redis.inputs  # service_started: created is enough
    network = deployment.one(NETWORK, "app-network-default")
    assert labels(network) == {"com.docker.compose.project": "composeapp", "com.docker.compose.network": "default"}
    for registration in deployment.registrations[1:]:
        assert registration.parent == deployment.registrations[0].urn, registration.urn
    assert all(r.delete_before_replace for r in deployment.of_type(CONTAINER))


def test_a_database_on_a_named_volume_is_waited_for_healthy_and_migrated_first() -> None:
    deployment = declare(DATA / "db-volume" / "compose.yaml", variables={"WEB_PORT": "18000"})
    assert deployment.outputs["volumes"] == {"db-data": "shop_db-data"}
    volume = deployment.one(VOLUME, "app-volume-db-data")
    assert volume.inputs["name"] == "shop_db-data"
    assert labels(volume) == {"com.docker.compose.project": "shop", "com.docker.compose.volume": "db-data"}
    db, migrate, web = (deployment.one(CONTAINER, f"app-{name}") for name in ("db", "migrate", "web"))
    assert db.inputs["name"] == "shop-db-1"
    assert db.inputs["wait"] is True  # others depend on it being healthy
    assert db.inputs["healthcheck"] == {"tests": ["CMD", "redis-cli", "ping"], "interval": "1s", "timeout": "3s", "retries": 30}
    assert db.inputs["volumes"] == [{"volumeName": "shop_db-data", "containerPath": "/data"}]
    assert (db.inputs["memory"], db.inputs["memorySwap"], db.inputs["cpus"], db.inputs["restart"]) == (256, 512, "0.5", "always")
    # The one-shot migration runs to its end before web; the provider then leaves it stopped.
    assert (migrate.inputs["attach"], migrate.inputs["mustRun"]) == (True, False)
    assert depends_on(deployment, migrate) == {"app-db"}
    assert depends_on(deployment, web) == {"app-db", "app-migrate"}
    # Compose sorts the environment; the provider holds it as a set.
    assert sorted(web.inputs["envs"]) == sorted(["SHOP_NAME=Corner shop", "CURRENCY=EUR", "DB_HOST=db", "DB_PORT=6379", "LOG_LEVEL=info"])
    assert web.inputs["ports"] == [{"internal": 8000, "external": 18000, "protocol": "tcp"}]
    assert (web.inputs["workingDir"], web.inputs["stopTimeout"], web.inputs["restart"]) == ("/srv", 5, "unless-stopped")
    assert labels(web)["shop.role"] == "frontend"
    assert labels(web)["com.docker.compose.depends_on"] == "db:service_healthy:false,migrate:service_completed_successfully:false"


class _MigrationFails(ComputedOutputs):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[Optional[str], dict]:
        resource_id, outputs = super().new_resource(args)
        if args.name == "app-migrate":
            outputs["exitCode"] = 3
        return resource_id, outputs


def test_a_failed_one_shot_dependency_stops_its_dependents() -> None:
    asyncio_log = logging.getLogger("asyncio")
    asyncio_log.disabled = True  # the failed run leaves futures holding the same error; they are not news
    try:
        with pytest.raises(Exception, match="'web' depends on 'migrate' completing successfully, but it exited with code 3"):
            declare(DATA / "db-volume" / "compose.yaml", mocks=_MigrationFails())
        gc.collect()
    finally:
        asyncio_log.disabled = False


def test_several_networks_with_aliases_an_internal_one_and_binds() -> None:
    deployment = declare(DATA / "networks" / "compose.yaml")
    assert deployment.outputs["networks"] == {"frontend": "tiers_frontend", "backend": "tiers_backend"}
    assert sorted(r.inputs["name"] for r in deployment.of_type(NETWORK)) == ["tiers_backend", "tiers_frontend"]
    backend = deployment.one(NETWORK, "app-network-backend")
    assert backend.inputs["internal"] is True and labels(backend)["tier"] == "data"
    assert backend.inputs["ipamConfigs"] == [{"subnet": "192.168.41.0/24", "gateway": "192.168.41.1"}]
    api = deployment.one(CONTAINER, "app-api")
    assert api.inputs["networksAdvanced"] == [
        {"name": "tiers_frontend", "aliases": ["api", "backend-api"]},
        {"name": "tiers_backend", "aliases": ["api"]},
    ]
    assert (api.inputs["hostname"], api.inputs["user"]) == ("api-host", "65534")
    proxy = deployment.one(CONTAINER, "app-proxy")
    assert (proxy.inputs["entrypoints"], proxy.inputs["command"]) == (["python3", "-m", "http.server"], ["8080"])
    assert proxy.inputs["ports"] == [{"internal": 8080, "external": 8080, "ip": "127.0.0.1", "protocol": "tcp"}]
    assert depends_on(deployment, proxy) == {"app-api"} and depends_on(deployment, api) == {"app-cache"}
    cache = deployment.one(CONTAINER, "app-cache")
    assert cache.inputs["volumes"] == [
        {"volumeName": "tiers_cache-data", "containerPath": "/data"},
        {"hostPath": str(DATA / "networks" / "cache.conf"), "containerPath": "/etc/cache.conf", "readOnly": True},
    ]
    assert not deployment.one(NETWORK, "app-network-frontend").inputs.get("internal")
    assert any("`services.api.expose`" in warning for warning in deployment.outputs["warnings"])


class _ExistingNetworks(ComputedOutputs):
    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, Optional[list]]:
        assert args.token == "docker:index/getNetwork:getNetwork", args.token
        return {"id": f"id-of-{args.args['name']}", "name": args.args["name"]}, []


def test_deploy_makes_swarm_services_on_a_swarm() -> None:
    deployment = declare(DATA / "deploy" / "compose.yaml", mocks=_ExistingNetworks(), swarm=True)
    assert deployment.outputs["containers"] == {}
    assert deployment.outputs["swarmServices"] == {"api": "fleet_api", "worker": "fleet_worker"}
    api = deployment.one(SERVICE, "app-api-service")
    assert api.inputs["mode"] == {"replicated": {"replicas": 3}}
    assert api.inputs["updateConfig"] == {"parallelism": 1, "delay": "10s", "failureAction": "rollback", "order": "start-first"}
    assert api.inputs["rollbackConfig"] == {"parallelism": 2, "maxFailureRatio": "0.5"}
    assert api.inputs["taskSpec"]["resources"] == {
        "limits": {"nanoCpus": 500_000_000, "memoryBytes": 128 * 1024**2},
        "reservation": {"memoryBytes": 64 * 1024**2},
    }
    # Declared with its prefs, empty: pulumi-docker keeps a placement block the config leaves out.
    assert api.inputs["taskSpec"]["placement"] == {"constraints": ["node.role == manager"], "prefs": []}
    assert api.inputs["endpointSpec"] == {"ports": [{"targetPort": 8000, "publishedPort": 8088, "protocol": "tcp"}]}
    assert api.inputs["taskSpec"]["networksAdvanceds"] == [{"id": "app-network-default-id"}]  # by id, as the provider asks
    # A swarm service's network is an overlay, attachable so the project's containers can join it too.
    network = deployment.one(NETWORK, "app-network-default")
    assert (network.inputs["driver"], network.inputs["attachable"]) == ("overlay", True)
    worker = deployment.one(SERVICE, "app-worker-service")
    assert worker.inputs["mode"] == {"global": True}
    assert worker.inputs["taskSpec"]["networksAdvanceds"] == [{"id": "id-of-shared-jobs"}]  # external: looked up, not created
    assert [r.inputs["name"] for r in deployment.of_type(NETWORK)] == ["fleet_default"]


def test_off_a_swarm_deploy_is_what_docker_compose_up_makes_of_it() -> None:
    file = DATA / "deploy" / "compose.yaml"
    # Three replicas cannot share host port 8088, as they do behind a swarm's routing mesh.
    with pytest.raises(Exception, match=r"compose.yaml:8: `services.api.ports\[0\]`: host port 8088 for 3 containers: Docker gives it to one only"):
        declare(file)
    deployment = declare(file, variables={"API_REPLICAS": "1"})
    assert not deployment.of_type(SERVICE)
    assert deployment.outputs["containers"] == {"api": "fleet-api-1", "worker": "fleet-worker-1"}
    api = deployment.one(CONTAINER, "app-api")
    assert (api.inputs["memory"], api.inputs["memorySwap"], api.inputs["cpus"], api.inputs["memoryReservation"]) == (128, 256, "0.5", 64)
    # What only a swarm reads is named, not dropped silently.
    warned = [w for w in deployment.outputs["warnings"] if "only a swarm reads" in w]
    assert len(warned) == 2 and "'api'" in warned[0] and "`deploy.update_config`, `deploy.rollback_config`, `deploy.placement`" in warned[0]
    assert "`deploy.mode`" in warned[1]
    assert "driver" not in deployment.one(NETWORK, "app-network-default").inputs


KEYS = DATA / "keys" / "compose.yaml"
KEYS_VARIABLES = {"API_TOKEN": "token-from-the-shell", "MOTD": "welcome"}


def test_each_key_is_declared_as_docker_compose_up_runs_it() -> None:
    deployment = declare(KEYS, variables=KEYS_VARIABLES)
    assert deployment.outputs["containers"] == {
        "db": "keys-database", "web": "keys-web-1", "worker": "keys-worker-1", "probe": "keys-probe-1", "sniffer": "keys-sniffer-1",
    }
    db = deployment.one(CONTAINER, "app-db")
    assert db.inputs["name"] == "keys-database"  # container_name
    assert sorted(db.inputs["envs"]) == ["LOG_MODE=verbose", "POSTGRES_PASSWORD_FILE=/run/secrets/db_password"]  # the later entry wins
    assert (db.inputs["stopSignal"], db.inputs["stopTimeout"], db.inputs["destroyGraceSeconds"]) == ("SIGINT", 90, 90)
    assert db.inputs["platform"] == "linux/amd64"
    assert deployment.one("docker:index/remoteImage:RemoteImage", "app-db-image").inputs["platform"] == "linux/amd64"
    # As the engine stores them, so a refresh proposes no replacement; a repeat dropped, as Compose drops it.
    assert db.inputs["capabilities"] == {"adds": ["CAP_SYS_NICE", "CAP_NET_ADMIN"], "drops": ["ALL"]}
    assert db.inputs["sysctls"] == {"net.core.somaxconn": "1024"}
    assert sorted(db.inputs["ulimits"], key=lambda limit: limit["name"]) == [
        {"name": "nofile", "soft": 20000, "hard": 40000}, {"name": "nproc", "soft": 65535, "hard": 65535},
    ]
    assert db.inputs["securityOpts"] == ["no-new-privileges:true"]
    assert (db.inputs["runtime"], db.inputs["init"], db.inputs["user"], db.inputs["workingDir"]) == ("runc", True, "999:999", "/var/lib/postgresql")
    assert (db.inputs["shmSize"], db.inputs["tmpfs"]) == (256, {"/run/postgresql": "", "/tmp": "size=64m,mode=1777"})
    assert (db.inputs["logDriver"], db.inputs["logOpts"]) == ("json-file", {"max-size": "10m", "max-file": "3"})
    # A file secret is bind-mounted read-only where Compose mounts it; a variable's is copied in with its mode,
    # and, since it gives `uid`, owned by the service's user, to whom the engine chowns the copy then.
    assert db.inputs["volumes"] == [{"hostPath": str(KEYS.parent / "db_password.txt"), "containerPath": "/run/secrets/db_password", "readOnly": True}]
    assert db.inputs["uploads"] == [
        {"file": "/run/secrets/token", "content": "token-from-the-shell", "permissions": "0440", "owner": "999", "group": "999"}
    ]
    assert "uploads" in db.secret_inputs  # a secret's text is encrypted in the state

    web = deployment.one(CONTAINER, "app-web")
    assert (web.inputs["stdinOpen"], web.inputs["tty"]) == (True, True)
    assert sorted(web.inputs["hosts"], key=lambda entry: entry["host"]) == [
        {"host": "db.local", "ip": "10.0.0.5"}, {"host": "host.docker.internal", "ip": "host-gateway"},
    ]
    assert web.inputs["dns"] == ["1.1.1.1", "9.9.9.9"]
    assert (web.inputs["dnsSearches"], web.inputs["dnsOpts"], web.inputs["domainname"]) == (["example.internal"], ["ndots:2"], "example.internal")
    assert web.inputs["groupAdds"] == ["www-data", "44"]
    assert labels(web)["app.tier"] == "front"
    assert web.inputs["volumes"] == [
        {"volumeName": "keys_cache", "containerPath": "/var/cache/nginx"},
        {"hostPath": str(KEYS.parent / "proxy.conf"), "containerPath": "/etc/nginx/conf.d/proxy.conf", "readOnly": True},
    ]
    # Configs go to /<name> (a relative target under /), 0444 unless `mode` says, owned by root: without
    # `uid` or `gid` Compose copies them as root's, whatever the service's user.
    assert web.inputs["uploads"] == [
        {"file": "/site_name", "content": "keys demo\n", "permissions": "0444"},
        {"file": "/motd.txt", "content": "welcome", "permissions": "0400"},
    ]
    assert "uploads" not in web.secret_inputs  # a config is no secret

    # `scale: 2` is two containers, each limited as `deploy.resources` says.
    workers = [deployment.one(CONTAINER, name) for name in ("app-worker", "app-worker-2")]
    assert [worker.inputs["name"] for worker in workers] == ["keys-worker-1", "keys-worker-2"]
    for worker in workers:
        assert (worker.inputs["memory"], worker.inputs["memorySwap"], worker.inputs["memoryReservation"], worker.inputs["cpus"]) == (
            128, 256, 64, "0.5"
        )
        assert (worker.inputs["readOnly"], worker.inputs["cpuShares"], worker.inputs["cpuSet"]) == (True, 512, "0-1")
    assert any("`deploy.resources.reservations.cpus` only a swarm reads" in w for w in deployment.outputs["warnings"])

    # network_mode: another service's container by id (declared after it), or the host's stack; no project network.
    probe, sniffer = deployment.one(CONTAINER, "app-probe"), deployment.one(CONTAINER, "app-sniffer")
    assert probe.inputs["networkMode"] == "container:app-web-id" and depends_on(deployment, probe) == {"app-web"}
    assert probe.inputs["pidMode"] == "container:app-web-id"
    assert sniffer.inputs["networkMode"] == "host"
    assert (sniffer.inputs["privileged"], sniffer.inputs["pidMode"], sniffer.inputs["ipcMode"], sniffer.inputs["usernsMode"]) == (
        True, "host", "private", "host"
    )
    # A device's permissions as Docker reports them back (rwm unless given).
    assert sniffer.inputs["devices"] == [
        {"hostPath": "/dev/net/tun", "containerPath": "/dev/net/tun", "permissions": "rwm"},
        {"hostPath": "/dev/snd", "containerPath": "/dev/snd0", "permissions": "r"},
    ]
    assert "networksAdvanced" not in probe.inputs and "networksAdvanced" not in sniffer.inputs


def test_a_secrets_text_stays_out_of_the_config_hash() -> None:
    first, second = (load_project(str(KEYS), {**KEYS_VARIABLES, "API_TOKEN": token}).service("db") for token in ("one", "two"))
    assert first != second and config_hash(first) == config_hash(second)


def test_a_file_that_uses_no_new_key_keeps_the_config_hash_it_had() -> None:
    # The hash is a label, which replaces the container when it changes: declaring more keys must not
    # replace the containers of a file that uses none of them (digests from before they were declared).
    project = load_project(str(DATA / "db-volume" / "compose.yaml"), {})
    assert config_hash(project.service("web")) == "12399b50b6dcdbde860a09caf0d52435793ff1a12ffca459d73db39a4a76a3aa"
    assert config_hash(project.service("migrate")) == "54efc8eeecaa9aed7201be0729a4aa451ee994182e0d86f4acbeca87fe492a01"


def test_keys_a_swarm_service_cannot_take_are_refused_on_a_swarm(tmp_path: Path) -> None:
    file = tmp_path / "compose.yaml"
    file.write_text(
        "name: fleet\nservices:\n  api:\n    image: nginx\n    deploy: {replicas: 2}\n    cap_add: [NET_ADMIN]\n    restart: always\n"
    )
    with pytest.raises(Exception) as refused:
        declare(file, swarm=True)
    # One line each, as every refusal of the file: what was dropped silently before is named.
    assert str(refused.value).splitlines() == [
        f"{file}:6: `services.api.cap_add`: not declared on a swarm service (ComposeProject gives SwarmService image, command, "
        "environment, networks, ports and `deploy` only); run the service as containers (leave out `deploy`, or `swarm` off) "
        "or leave the key out",
        f"{file}:7: `services.api.restart`: not declared on a swarm service (ComposeProject gives SwarmService image, command, "
        "environment, networks, ports and `deploy` only); run the service as containers (leave out `deploy`, or `swarm` off) "
        "or leave the key out",
    ]
    # Off a swarm, the same file is two containers.
    containers = declare(file).of_type(CONTAINER)
    assert sorted(container.inputs["name"] for container in containers) == ["fleet-api-1", "fleet-api-2"]


def test_a_swarm_service_cannot_lend_its_network_to_a_container(tmp_path: Path) -> None:
    file = tmp_path / "compose.yaml"
    file.write_text(
        "services:\n  api:\n    image: nginx\n    deploy: {replicas: 1}\n  probe:\n    image: alpine\n    network_mode: service:api\n"
        "    pid: service:api\n    ipc: service:api\n"
    )
    with pytest.raises(Exception, match=r"compose.yaml:4: `services.api.deploy`: service 'probe' joins this service's container"):
        declare(file, swarm=True)
    # Off a swarm, each namespace is the other container's, by id, as Compose joins it.
    probe = declare(file).one(CONTAINER, "app-probe")
    assert (probe.inputs["networkMode"], probe.inputs["pidMode"], probe.inputs["ipcMode"]) == ("container:app-api-id",) * 3


def test_a_deploy_amount_a_container_cannot_take_is_refused_only_off_a_swarm(tmp_path: Path) -> None:
    file = tmp_path / "compose.yaml"
    file.write_text("services:\n  api:\n    image: nginx\n    deploy: {resources: {reservations: {memory: 4M}}}\n")
    with pytest.raises(Exception, match=r"compose.yaml:4: `services.api.deploy.resources.reservations.memory`: 4 MiB is below Docker's"):
        declare(file)
    assert declare(file, mocks=_ExistingNetworks(), swarm=True).of_type(SERVICE)


def test_the_project_name_can_be_given_as_with_docker_compose_p() -> None:
    deployment = declare(CHAPTER, project_name="Chapter_Two")
    assert deployment.outputs["containers"] == {"redis": "chapter_two-redis-1", "web": "chapter_two-web-1"}


# --------------------------------------------------------------------------- in the stacks


def test_the_dev_stack_deploys_the_chapters_file_through_config() -> None:
    plain = deploy("dev")
    deployment = deploy("dev", {"composeFile": "apps/composeapp/compose.yaml", "webPort": 5001})
    project = deployment.one("orchestration:compose:ComposeProject", "compose-file")
    engine = deployment.one("pulumi:providers:docker", "local-engine")
    swarm_init = deployment.one("command:local:Command", "swarm-init")
    # Its containers and services wait for the swarm; the component itself does not, or it would hold
    # back the deletion of its networks and volumes (components.options.component_options).
    running = [child for child in deployment.children(project) if child.type in ("docker:index/container:Container", "docker:index/service:Service")]
    assert running and all(swarm_init.urn in child.dependencies for child in running)
    assert swarm_init.urn not in project.dependencies
    for child in deployment.children(project):
        if child.custom:
            assert child.provider_urn == engine.urn, child.urn
    assert deployment.outputs["composeContainers"] == {"redis": "composeapp-redis-1", "web": "composeapp-web-1"}
    # Everything else is as without it: the existing ComposeApp still runs.
    others = {r.urn for r in deployment.registrations} - {r.urn for r in deployment.registrations if "ComposeProject" in r.urn}
    assert others == {r.urn for r in plain.registrations}


def test_compose_variables_interpolate_the_file() -> None:
    deployment = deploy(
        "dev", {"composeFile": "tests/data/compose/db-volume/compose.yaml", "composeVariables": {"WEB_PORT": "18001", "DB_IMAGE": "my/redis"}}
    )
    web = deployment.one(CONTAINER, "compose-file-web")
    assert web.inputs["ports"][0]["external"] == 18001
    assert deployment.one("docker:index/remoteImage:RemoteImage", "compose-file-db-image").inputs["name"] == "my/redis"


def test_a_bad_compose_file_stops_the_stack_before_anything_is_declared(tmp_path: Path) -> None:
    broken = tmp_path / "compose.yaml"
    broken.write_text("services:\n  web:\n    image: nginx\n    pids_limit: 100\n")
    message, registered = deploy_rejected("dev", {"composeFile": str(broken)})
    assert message.startswith("config `orchestration:composeFile`: keys valid in Compose that this program does not declare")
    assert f"{broken}:4: `services.web.pids_limit`" in message
    assert registered == []


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"composeFile": "no/such/compose.yaml"}, "config `orchestration:composeFile`: 'no/such/compose.yaml' is not a file"),
        ({"composeVariables": {"A": "1"}}, "config `orchestration:composeVariables`: is only read with `orchestration:composeFile`"),
        ({"composeFile": "apps/composeapp/compose.yaml", "composeVariables": ["A"]}, "expected a map of variable names to strings"),
    ],
)
def test_compose_config_errors_name_the_key(overrides: dict[str, Any], expected: str) -> None:
    message, _ = deploy_rejected("dev", overrides)
    assert expected in message


def test_the_cluster_stack_deploys_the_file_on_the_swarm_manager(tmp_path: Path) -> None:
    file = tmp_path / "compose.yaml"
    file.write_text("name: fleet\nservices:\n  api:\n    image: nginx\n    deploy: {replicas: 3}\n  cache:\n    image: redis\n")
    deployment = deploy("cluster", {"composeFile": str(file)})
    project = deployment.one("orchestration:compose:ComposeProject", "compose-file")
    manager = deployment.one("pulumi:providers:docker", "larry-engine")
    ours = [r for r in deployment.registrations if r.custom and project.urn in [a.urn for a in deployment.ancestors(r)]]
    assert {r.type for r in ours} >= {SERVICE, CONTAINER, NETWORK}
    assert all(r.provider_urn == manager.urn for r in ours)
    assert deployment.outputs["composeSwarmServices"] == {"api": "fleet_api"}
    assert deployment.outputs["composeContainers"] == {"cache": "fleet-cache-1"}


def test_on_dev_a_service_with_deploy_resources_is_one_limited_container_unless_swarm_is_asked_for(tmp_path: Path) -> None:
    file = tmp_path / "compose.yaml"
    file.write_text("name: fleet\nservices:\n  api:\n    image: nginx\n    deploy: {resources: {limits: {memory: 64M}}}\n")
    deployment = deploy("dev", {"composeFile": str(file)})
    assert (deployment.outputs["composeContainers"], deployment.outputs["composeSwarmServices"]) == ({"api": "fleet-api-1"}, {})
    assert deployment.one(CONTAINER, "compose-file-api").inputs["memory"] == 64
    assert deploy("dev", {"composeFile": str(file), "composeSwarm": True}).outputs["composeSwarmServices"] == {"api": "fleet_api"}


def test_a_compose_port_the_stack_publishes_too_is_refused() -> None:
    message, registered = deploy_rejected("dev", {"composeFile": "apps/composeapp/compose.yaml"})
    assert message == (
        "config `orchestration:composeFile`: service 'web': port 5000 is also published by `orchestration:webPort` on the same engine"
    )
    assert registered == []


class _LocalImages(ComputedOutputs):
    """The engine holds the images a `pull_policy: never` service takes as they are."""

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, Optional[list]]:
        assert args.token == "docker:index/getRemoteImage:getRemoteImage", args.token
        return {"name": args.args["name"], "id": f"sha256:local-{args.args['name']}", "repoDigest": ""}, []


def test_what_a_file_reuses_and_the_later_keys_are_declared_as_docker_compose_up_makes_them() -> None:
    deployment = declare(DATA / "reuse" / "compose.yaml", mocks=_LocalImages(), variables={"LOG_LEVEL": "debug"})
    # `include` brings cache; `debug` is in no active profile.
    assert deployment.outputs["containers"] == {"cache": "reuse-cache-1", "api": "reuse-api-1", "sidecar": "reuse-sidecar-1"}
    api, cache, sidecar = (deployment.one(CONTAINER, f"app-{name}") for name in ("api", "cache", "sidecar"))
    # `extends` gives the health check and the environment, `.env` the image, the anchor the logging.
    assert sorted(api.inputs["envs"]) == ["LOG_LEVEL=debug", "ROLE=api"]
    assert api.inputs["healthcheck"]["tests"] == ["CMD-SHELL", "test -d /scratch"]
    assert api.inputs["healthcheck"]["interval"] == "1m30s"
    assert (api.inputs["logDriver"], api.inputs["logOpts"]) == ("json-file", {"max-size": "5m"})
    assert deployment.one("docker:index/remoteImage:RemoteImage", "app-api-image").inputs["name"] == "shop/api:2.1"
    # deploy.restart_policy wins over the extended `restart`, as `docker compose up` gives it to the container.
    assert (api.inputs["restart"], api.inputs["maxRetryCount"]) == ("on-failure", 4)
    # Stopped before removal as Compose stops it: 10 s when the file gives no stop_grace_period.
    assert api.inputs["destroyGraceSeconds"] == 10
    assert api.inputs["networksAdvanced"] == [{"name": "reuse_back", "aliases": ["api", "backend"], "ipv4Address": "10.213.61.10"}]
    assert api.inputs["mounts"] == [
        {"type": "bind", "source": str(DATA / "reuse" / "include"), "target": "/host-include", "readOnly": True,
         "bindOptions": {"propagation": "rprivate"}},
        {"type": "tmpfs", "target": "/scratch", "tmpfsOptions": {"sizeBytes": 64 * 1024**2, "mode": 1777}},
    ]
    assert "volumes" not in api.inputs
    # restart: true is Compose's label; a dependency not required on a service left out is dropped.
    assert labels(api)["com.docker.compose.depends_on"] == "cache:service_healthy:true"
    assert depends_on(deployment, api) == {"app-cache"}
    # volumes_from the services' first containers; links as the start order; `pull_policy: never` looks the image up.
    assert sidecar.inputs["volumes"] == [{"fromContainer": "reuse-api-1:ro"}]
    assert depends_on(deployment, sidecar) == {"app-api", "app-cache"}
    assert sidecar.inputs["image"] == "sha256:local-alpine:3.20"
    assert not [r for r in deployment.of_type("docker:index/remoteImage:RemoteImage") if r.name == "app-sidecar-image"]
    warnings = "\n".join(deployment.outputs["warnings"])
    assert "`services.sidecar.develop`: left aside" in warnings and "`services.sidecar.links`: declared as the start order" in warnings
    assert cache.inputs["command"] == ["redis-server", "--save", ""]


class _Registry(ComputedOutputs):
    """The registry's digest of each tag, as getRegistryImage answers."""

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, Optional[list]]:
        assert args.token == "docker:index/getRegistryImage:getRegistryImage", args.token
        return {"name": args.args["name"], "sha256Digest": f"sha256:registry-{args.args['name']}", "id": args.args["name"]}, []


def test_pull_policy_always_asks_the_registry_at_every_run_and_pulls_again_when_the_tag_moved() -> None:
    deployment = declare(DATA / "pulls" / "compose.yaml", mocks=_Registry())
    edge, app = (deployment.one("docker:index/remoteImage:RemoteImage", f"app-{name}-image") for name in ("edge", "app"))
    # The digest the registry gives triggers a pull when it changes; the containers take the pulled image's id.
    assert (edge.inputs["name"], edge.inputs["pullTriggers"]) == ("traefik:v3.1", ["sha256:registry-traefik:v3.1"])
    assert deployment.one(CONTAINER, "app-edge").inputs["image"] == "sha256:app-edge-image"
    # The default (`missing`) pulls once, so nothing is asked of the registry for it.
    assert "pullTriggers" not in app.inputs and edge.inputs["keepLocally"] is True


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("    pids_limit: 64\n", "`services.web.pids_limit`: pulumi-docker's Container has no input for it (the engine's PidsLimit)"),
        ("    oom_score_adj: 500\n", "`services.web.oom_score_adj`: pulumi-docker's Container has no input for it"),
        ("    oom_kill_disable: true\n", "`services.web.oom_kill_disable`: pulumi-docker's Container has no input for it"),
        ("    links: ['db:database']\n  db:\n    image: redis\n", "`services.web.links[0]`: a link under another name ('database' for 'db')"),
        ("    pull_policy: daily\n", "`services.web.pull_policy`: 'daily': pulling by a clock needs the time of the last pull"),
        ("    build: {context: ., pull: true}\n", "`services.web.build.pull`: pulumi-docker's Image build has no pull option"),
    ],
)
def test_what_pulumi_docker_cannot_declare_is_refused_with_the_reason_and_a_way_around(tmp_path: Path, extra: str, expected: str) -> None:
    file = tmp_path / "compose.yaml"
    file.write_text("services:\n  web:\n    image: nginx\n" + extra)
    with pytest.raises(Exception, match=re.escape(expected)):
        declare(file)


def test_a_swarm_service_is_not_given_restart_policy_or_labels_so_they_are_refused_there() -> None:
    file = DATA / "reuse" / "compose.yaml"
    with pytest.raises(Exception, match=r"`services.api.deploy.restart_policy`: not declared on a swarm service"):
        declare(file, mocks=_LocalImages(), swarm=True)


def test_a_volume_s_folder_or_one_left_uncopied_is_mounted_in_the_engine_s_mounts_form(tmp_path: Path) -> None:
    file = tmp_path / "compose.yaml"
    file.write_text(
        "services:\n  web:\n    image: nginx\n    volumes:\n      - {type: volume, source: site, target: /srv, volume: {subpath: public}}\n"
        "      - {type: volume, source: spool, target: /spool, volume: {nocopy: true}}\nvolumes:\n  site: {}\n  spool: {}\n"
    )
    web = declare(file).one(CONTAINER, "app-web")
    assert web.inputs["mounts"] == [
        {"type": "volume", "source": f"{tmp_path.name}_site", "target": "/srv", "volumeOptions": {"subpath": "public"}},
        {"type": "volume", "source": f"{tmp_path.name}_spool", "target": "/spool", "volumeOptions": {"noCopy": True}},
    ]
    assert "volumes" not in web.inputs
