"""The same compose file brought up twice on the real engine, in one run: by ComposeProject through the
apply harness and by Docker Compose v2 itself (built by .ci/compose.sh), under two project names and
host ports. Both must give the same services answering on the same container ports, the same networks
and volumes by Compose's naming, the same aliases resolving, and one-shot services exited 0.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import docker
import pytest

from components.compose_project import ComposeProject, ComposeProjectArgs
from tests.harness import ApplyHarness
from tests.harness.docker_common import retry_while
from tests.harness.engine import objects_named_with
from tests.harness.inline import run_inline
from tests.harness.local_images import BASE_IMAGE, PROJECT_DIR, REDIS_IMAGE, build_redis_image, ci_built_binary, require_base_image

from .support import phase, wait_for

pytestmark = pytest.mark.docker

DATA = PROJECT_DIR / "tests" / "data" / "compose"
PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"

# Per file: variables for each run (host ports and subnets apart from each other and from the dev
# stack's 5000/8500/8600 and 172.29.0.0/24), the published service to call, and aliases to resolve.
SHAPES: dict[str, dict[str, Any]] = {
    "db-volume": {
        "variables": lambda run: {
            "WEB_IMAGE": BASE_IMAGE, "DB_IMAGE": REDIS_IMAGE,
            "WEB_PORT": str(18761 + run), "SHOP_SUBNET": f"10.213.{11 + run}.0/24",
        },
        "published": {"web": 8000},
        "resolves": {"web": ["db"]},
    },
    "networks": {
        "variables": lambda run: {
            "WEB_IMAGE": BASE_IMAGE, "CACHE_IMAGE": REDIS_IMAGE, "PROXY_PORT": str(18771 + run),
            "FRONTEND_SUBNET": f"10.213.{21 + run}.0/24", "BACKEND_SUBNET": f"10.213.{31 + run}.0/24",
        },
        "published": {"proxy": 8080},
        "resolves": {"proxy": ["api", "backend-api"], "api": ["cache", "redis"]},
    },
}


def compose_binary() -> str:
    """$COMPOSE_BIN, else what .ci/compose.sh prints (it builds Compose when not cached)."""
    return ci_built_binary("COMPOSE_BIN", "compose.sh", "no Docker Compose binary")


@pytest.fixture(scope="module")
def images(engine: docker.DockerClient) -> None:
    require_base_image(engine)
    with phase("build redis image (apps/build.sh redis)"):
        build_redis_image(engine)


@pytest.fixture
def prefix(engine: docker.DockerClient) -> Iterator[str]:
    value = f"cx{secrets.token_hex(3)}"
    yield value
    leftovers = objects_named_with(engine, value)
    for name in leftovers["services"]:
        unless_gone(engine.api.remove_service, name)
    for name in leftovers["containers"]:
        unless_gone(engine.api.remove_container, name, force=True, v=True)
    for name in leftovers["networks"]:
        unless_gone(retry_while, "active endpoints", engine.api.remove_network, name)
    for name in leftovers["volumes"]:
        unless_gone(engine.api.remove_volume, name, force=True)


def unless_gone(call, *args: Any, **kwargs: Any) -> None:
    """A swarm removes overlay networks and task containers asynchronously: one listed may be gone already
    (a 404, or a 500 saying "not found" for a network the swarm has just dropped)."""
    try:
        call(*args, **kwargs)
    except docker.errors.APIError as error:
        if error.status_code != 404 and "not found" not in str(error):
            raise


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_the_harness_and_docker_compose_bring_up_the_same_project(
    shape: str, engine: docker.DockerClient, images: None, prefix: str, tmp_path: Path
) -> None:
    spec = SHAPES[shape]
    file = str(DATA / shape / "compose.yaml")
    binary = compose_binary()
    ours, theirs = f"{prefix}-pulumi", f"{prefix}-compose"
    ours_variables, theirs_variables = spec["variables"](0), spec["variables"](1)
    harness = ApplyHarness(project_dir=PROJECT_DIR, state_file=tmp_path / "state.json", keep_images=(BASE_IMAGE, REDIS_IMAGE))
    compose = [binary, "-f", file, "-p", theirs]
    compose_env = {**os.environ, **theirs_variables}
    try:
        with phase(f"compose {shape}: up through the harness"):
            harness.apply(
                lambda: run_inline(
                    harness, lambda: ComposeProject("compose", ComposeProjectArgs(file=file, variables=ours_variables, project_name=ours))
                )
            )
        with phase(f"compose {shape}: docker compose up --wait"):
            up = subprocess.run([*compose, "up", "-d", "--wait"], env=compose_env, capture_output=True, text=True, timeout=300)
        assert up.returncode == 0, up.stderr[-3000:]

        mine, reference = observe(engine, ours), observe(engine, theirs)
        assert differences(mine, reference) == []
        assert mine["services"], "nothing came up"

        for service, port in spec["published"].items():
            for project, variables in ((ours, ours_variables), (theirs, theirs_variables)):
                host_port = published_port(engine, project, service, port)
                assert wait_for(f"{project} {service} answers on {host_port}", lambda: http_status(host_port) == 200, timeout=30)
        for service, names in spec["resolves"].items():
            for project in (ours, theirs):
                for name in names:
                    assert resolves(engine, project, service, name), f"{project}: {name} does not resolve from {service}"

        # `docker compose` finds what the harness made as a project of its own, by Compose's labels.
        listed = subprocess.run([binary, "-p", ours, "ps", "-a", "--format", "json"], capture_output=True, text=True, timeout=60)
        assert listed.returncode == 0, listed.stderr
        rows = [json.loads(line) for line in listed.stdout.splitlines() if line.strip()]
        assert sorted(row["Service"] for row in rows) == sorted(mine["services"])
    finally:
        harness.destroy()
        harness.close()
        subprocess.run([*compose, "down", "-v"], env=compose_env, capture_output=True, text=True, timeout=300)


@pytest.fixture
def swarm(engine: docker.DockerClient) -> Iterator[None]:
    """A one-node swarm on the engine; left again afterwards only if this fixture made it."""
    state = engine.info()["Swarm"]["LocalNodeState"]
    if state != "active":
        subprocess.run(["docker", "swarm", "init", "--advertise-addr", "127.0.0.1"], check=True, capture_output=True)
    yield
    if state != "active":
        subprocess.run(["docker", "swarm", "leave", "--force"], check=True, capture_output=True)


def test_deploy_on_a_swarm_runs_as_swarm_services(engine: docker.DockerClient, swarm: None, prefix: str, tmp_path: Path) -> None:
    """The `deploy` file on the engine's swarm through the harness: what `docker stack deploy` would make
    of it (which refuses the file's top-level `name`, so it cannot bring up the same file)."""
    require_base_image(engine)
    project = f"{prefix}-pulumi"
    jobs = engine.networks.create(
        f"{prefix}-jobs", driver="overlay", attachable=True, ipam=docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet="10.213.51.0/24")])
    )
    variables = {"API_IMAGE": BASE_IMAGE, "WORKER_IMAGE": BASE_IMAGE, "API_PORT": "18781", "API_REPLICAS": "2", "JOBS_NETWORK": jobs.name}
    harness = ApplyHarness(project_dir=PROJECT_DIR, state_file=tmp_path / "state.json", keep_images=(BASE_IMAGE,))
    file = str(DATA / "deploy" / "compose.yaml")
    try:
        with phase("compose deploy: swarm services through the harness"):
            harness.apply(
                lambda: run_inline(
                    harness,
                    lambda: ComposeProject("compose", ComposeProjectArgs(file=file, variables=variables, project_name=project, swarm=True)),
                )
            )
        api = engine.api.inspect_service(f"{project}_api")["Spec"]
        task = api["TaskTemplate"]
        assert api["Mode"] == {"Replicated": {"Replicas": 2}}
        assert task["Placement"]["Constraints"] == ["node.role == manager"]
        assert task["Resources"]["Limits"] == {"NanoCPUs": 500_000_000, "MemoryBytes": 128 * 1024**2}
        assert task["Resources"]["Reservations"] == {"MemoryBytes": 64 * 1024**2}
        assert (api["UpdateConfig"]["Parallelism"], api["UpdateConfig"]["Order"], api["UpdateConfig"]["FailureAction"]) == (1, "start-first", "rollback")
        assert (api["RollbackConfig"]["Parallelism"], api["RollbackConfig"]["MaxFailureRatio"]) == (2, 0.5)
        default = engine.api.inspect_network(f"{project}_default")
        assert (default["Driver"], default["Attachable"]) == ("overlay", True)
        assert [network["Target"] for network in task["Networks"]] == [default["Id"]]
        worker = engine.api.inspect_service(f"{project}_worker")["Spec"]
        assert "Global" in worker["Mode"]
        assert [network["Target"] for network in worker["TaskTemplate"]["Networks"]] == [jobs.id]
        running = [t for t in engine.api.tasks(filters={"service": f"{project}_api", "desired-state": "running"}) if t["Status"]["State"] == "running"]
        assert len(running) == 2
        # Published on the ingress network. (Its routing mesh does not answer on this workplace's engine,
        # not even for `docker service create --publish`, so the port is checked as the swarm records it.)
        ports = engine.api.inspect_service(f"{project}_api")["Endpoint"]["Ports"]
        assert [(p["TargetPort"], p["PublishedPort"], p["PublishMode"]) for p in ports] == [(8000, 18781, "ingress")]
    finally:
        harness.destroy()
        harness.close()
        # As the provider, the harness does not wait for a deleted service's tasks to leave the network.
        retry_while("active endpoints", jobs.remove)


def observe(engine: docker.DockerClient, project: str) -> dict[str, Any]:
    """What a Compose user sees of a project, with the project's name taken out so two compare."""
    containers = engine.api.containers(all=True, filters={"label": f"{PROJECT_LABEL}={project}"})
    services: dict[str, Any] = {}
    for summary in containers:
        found = engine.api.inspect_container(summary["Id"])
        service = found["Config"]["Labels"][SERVICE_LABEL]
        assert found["Name"] == f"/{project}-{service}-1"
        state = found["State"]
        services[service] = {
            "running": state["Running"],
            "exit_code": None if state["Running"] else state["ExitCode"],
            "published": sorted(port for port, bindings in (found["HostConfig"]["PortBindings"] or {}).items() if bindings),
            "networks": sorted(name.removeprefix(f"{project}_") for name in found["NetworkSettings"]["Networks"]),
            "mounts": sorted((mount["Type"], _source(mount, project), mount["Destination"], mount["RW"]) for mount in found["Mounts"]),
            "health": (state.get("Health") or {}).get("Status"),
            "restart": found["HostConfig"]["RestartPolicy"]["Name"] or "no",
        }
    named = objects_named_with(engine, f"{project}_")
    return {
        "services": services,
        "networks": sorted(name.removeprefix(f"{project}_") for name in named["networks"]),
        "volumes": sorted(name.removeprefix(f"{project}_") for name in named["volumes"]),
    }


def _source(mount: dict[str, Any], project: str) -> str:
    if mount["Type"] != "volume":
        return mount["Source"]
    name = mount.get("Name", "")
    # An image's VOLUME gets a random name in either run.
    return "(anonymous)" if re.fullmatch(r"[0-9a-f]{64}", name) else name.removeprefix(f"{project}_")


def differences(mine: dict[str, Any], reference: dict[str, Any]) -> list[str]:
    found = [f"{key}: harness {mine[key]}, compose {reference[key]}" for key in ("networks", "volumes") if mine[key] != reference[key]]
    for service in sorted(set(mine["services"]) | set(reference["services"])):
        ours, theirs = mine["services"].get(service, {}), reference["services"].get(service, {})
        found += [f"{service}.{key}: harness {ours.get(key)!r}, compose {theirs.get(key)!r}" for key in sorted(set(ours) | set(theirs)) if ours.get(key) != theirs.get(key)]
    return found


def published_port(engine: docker.DockerClient, project: str, service: str, port: int) -> int:
    found = engine.api.inspect_container(f"{project}-{service}-1")
    return int(found["NetworkSettings"]["Ports"][f"{port}/tcp"][0]["HostPort"])


def http_status(port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=3) as response:
        return response.status


def resolves(engine: docker.DockerClient, project: str, service: str, name: str) -> bool:
    """`name` resolves from inside the service's container: a service name or an alias on a shared network."""
    exec_id = engine.api.exec_create(f"{project}-{service}-1", ["getent", "hosts", name])
    engine.api.exec_start(exec_id)
    return engine.api.exec_inspect(exec_id)["ExitCode"] == 0
