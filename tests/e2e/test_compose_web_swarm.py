"""The compose web app as a replicated swarm service (ComposeApp with `web_swarm`), applied for real through
the harness: a new image behind the same tag rolls task by task without a failed request, and the visit
counter in Redis keeps counting across the rollout.

Zero downtime needs a node free to start a new task on while the old ones answer. This machine's kernel
has no IPVS, so the routing mesh publishes nothing here (`docker service create --publish` succeeds and the
port refuses connections; dockerd logs "Could not get ipvs family information from the kernel"); host-mode
ports stand in for it, and a host-mode port is one task per node. So the swarm is three Docker-in-Docker
nodes of its own (as the sandbox makes them, on a subnet of their own), web runs two tasks on them, and
the requests go as a load balancer in front of the nodes would send them (`Traffic`).
"""
from __future__ import annotations

import io
import re
import time
from typing import Iterator

import docker
import pulumi
import pulumi_docker as pulumi_docker
import pytest
import requests

from components.compose_app import ComposeApp, ComposeAppArgs, ComposeWebSwarm
from components.docker_in_docker_host import DockerInDockerHost, DockerInDockerHostArgs, engine_url
from components.swarm_cluster import SwarmCluster, SwarmClusterArgs, SwarmNode
from components.swarm_policy import Rollout
from tests.harness import ApplyHarness
from tests.harness.engine import objects_named_with
from tests.harness.inline import run_inline
from tests.harness.local_images import (
    BASE_IMAGE,
    DIND_HOST_IMAGE,
    REDIS_IMAGE,
    build_composeapp_image,
    build_dind_host_image,
    build_redis_image,
)
from tests.support.program import PROJECT_DIR

from .cluster_support import Traffic
from .support import PHASES, STATE_DIR, phase, wait_for

pytestmark = pytest.mark.docker

PREFIX = "wsw"
# Apart from the dev stack's 172.29.0.0/24 and the sandbox's 10.77.0.0/24 (the cluster e2e's too).
SUBNET = "10.78.51.0/24"
NODES = {"node1": "10.78.51.11", "node2": "10.78.51.12", "node3": "10.78.51.13"}
MANAGER = "node1"
WEB_PORT = 18791
SERVICE_NAME = f"{PREFIX}-web"
WEB_V1 = "orchestration-e2e/composeapp:v1"
WEB_V2 = "orchestration-e2e/composeapp:v2"
# What the service runs: one tag, moved from v1 to v2 on every node, as a local rebuild moves it.
WEB_TAG = "orchestration-e2e/composeapp:rolling"
SERVICE = "docker:index/service:Service"


def hosts_program() -> None:
    network = pulumi_docker.Network(
        "hosts-network", name=f"{PREFIX}-hosts", driver="bridge", ipam_configs=[pulumi_docker.NetworkIpamConfigArgs(subnet=SUBNET)]
    )
    for name, address in NODES.items():
        DockerInDockerHost(
            name,
            DockerInDockerHostArgs(
                host_name=name, container_name=f"{PREFIX}-{name}", image=DIND_HOST_IMAGE, network_name=network.name, address=address,
                # Capabilities instead of --privileged, which this machine refuses.
                privileged=False,
            ),
        )


def app_program(image_id: str) -> None:
    """The swarm over the three nodes, and the compose app on it, web rolled onto `image_id`'s build."""
    urls = {name: engine_url(address) for name, address in NODES.items()}
    swarm = SwarmCluster(
        "swarm",
        SwarmClusterArgs(
            manager=SwarmNode(MANAGER, urls[MANAGER]),
            advertise_address=NODES[MANAGER],
            workers=[SwarmNode(name, url) for name, url in urls.items() if name != MANAGER],
        ),
    )
    manager = pulumi_docker.Provider("manager", host=urls[MANAGER])
    ComposeApp(
        "compose",
        ComposeAppArgs(
            name_prefix=PREFIX,
            web_image=WEB_TAG,
            web_image_triggers=[image_id],
            redis_image=REDIS_IMAGE,
            published_port=WEB_PORT,
            web_swarm=ComposeWebSwarm(
                replicas=2,
                publish_mode="host",
                rollout=Rollout(delay="2s", monitor="3s"),
                converge_timeout="2m",
                manager_docker_url=urls[MANAGER],
            ),
        ),
        opts=pulumi.ResourceOptions(providers={"docker": manager}, depends_on=list(swarm.ready)),
    )


def node_engine(name: str) -> docker.DockerClient:
    return docker.DockerClient(base_url=engine_url(NODES[name]), timeout=300)


def build_web_images(engine: docker.DockerClient) -> tuple[str, str]:
    """composeapp from apps/ on the base image (v1), and v1 with one more layer (v2): two image ids."""
    with phase("build composeapp image (apps/build.sh composeapp)"):
        build_composeapp_image(engine, WEB_V1)
    engine.images.build(fileobj=io.BytesIO(f"FROM {WEB_V1}\nLABEL release=2\n".encode()), tag=WEB_V2, rm=True)
    return engine.images.get(WEB_V1).id, engine.images.get(WEB_V2).id


def load(engine: docker.DockerClient, image: str, node: str, tag: str) -> None:
    """`docker save | docker -H <node> load`, tagged `tag` there: no registry needed."""
    client = node_engine(node)
    try:
        for _ in client.api.load_image(engine.api.get_image(image)):
            pass
        repository, _, version = tag.rpartition(":")
        client.api.tag(image, repository, version)
    finally:
        client.close()


def seen(address: str) -> int:
    body = requests.get(f"http://{address}:{WEB_PORT}/", timeout=3).text
    return int(re.search(r"seen (\d+) times", body).group(1))


def seen_somewhere() -> int:
    """A visit through whichever node answers first."""
    for address in NODES.values():
        try:
            return seen(address)
        except requests.RequestException:
            continue
    raise AssertionError("no node answers on the web port")


def running_tasks(manager: docker.DockerClient) -> list[dict]:
    tasks = manager.api.tasks(filters={"service": SERVICE_NAME, "desired-state": "running"})
    return [task for task in tasks if task["Status"]["State"] == "running"]


def task_image_ids(manager: docker.DockerClient) -> dict[str, str]:
    """hostname -> the image id the running task's container there was created from."""
    hostnames = {node["ID"]: node["Description"]["Hostname"] for node in manager.api.nodes()}
    found = {}
    for task in running_tasks(manager):
        host = hostnames[task["NodeID"]]
        client = node_engine(host)
        try:
            found[host] = client.api.inspect_container(task["Status"]["ContainerStatus"]["ContainerID"])["Image"]
        finally:
            client.close()
    return found


@pytest.fixture(scope="module")
def images(engine: docker.DockerClient) -> tuple[str, str]:
    with phase("build dind-host and redis images"):
        build_dind_host_image(engine)
        build_redis_image(engine)
    return build_web_images(engine)


@pytest.fixture(scope="module")
def nodes(engine: docker.DockerClient, images: tuple[str, str]) -> Iterator[tuple[ApplyHarness, ApplyHarness]]:
    """Three nested engines with Redis on the manager and web's v1 behind the tag on every node."""
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    app = ApplyHarness(project_dir=PROJECT_DIR, state_file=STATE_DIR / "compose-web-swarm-app-state.json")
    hosts = ApplyHarness(
        project_dir=PROJECT_DIR, state_file=STATE_DIR / "compose-web-swarm-hosts-state.json", keep_images=(DIND_HOST_IMAGE, BASE_IMAGE)
    )
    try:
        for harness in (app, hosts):  # a run killed before its destroy; the app's engines may be gone
            if len(harness.state):
                try:
                    harness.destroy()
                except Exception:  # noqa: BLE001 - its engines went with the hosts
                    for record in list(harness.state):
                        harness.state.remove(record.urn)
        with phase("compose web swarm: three nested engines"):
            hosts.apply(lambda: run_inline(hosts, hosts_program))
        with phase("compose web swarm: load redis and web v1 into the nodes"):
            load(engine, REDIS_IMAGE, MANAGER, REDIS_IMAGE)
            for node in NODES:
                load(engine, WEB_V1, node, WEB_TAG)
        yield app, hosts
    finally:
        try:
            if len(app.state):
                with phase("compose web swarm: destroy the app and the swarm"):
                    app.destroy()
        finally:
            app.close()
            try:
                if len(hosts.state):
                    with phase("compose web swarm: destroy the nodes"):
                        hosts.destroy()
            finally:
                hosts.close()


def test_a_new_image_rolls_task_by_task_without_a_failed_request_and_the_count_goes_on(
    nodes: tuple[ApplyHarness, ApplyHarness], images: tuple[str, str], engine: docker.DockerClient
) -> None:
    v1, v2 = images
    app, _ = nodes
    with phase("compose web swarm: apply (swarm, redis, web v1)"):
        app.apply(lambda: run_inline(app, lambda: app_program(v1)))
    manager = node_engine(MANAGER)
    try:
        spec = manager.api.inspect_service(SERVICE_NAME)["Spec"]
        assert spec["EndpointSpec"]["Ports"] == [{"Protocol": "tcp", "TargetPort": 5000, "PublishedPort": WEB_PORT, "PublishMode": "host"}]
        assert (spec["UpdateConfig"]["Order"], spec["UpdateConfig"]["Parallelism"]) == ("start-first", 1)
        # `up` returned once both tasks ran healthy, on two nodes, from v1.
        assert sorted(set(task_image_ids(manager).values())) == [v1] and len(running_tasks(manager)) == 2
        # Web's tasks reach Redis, a container on the manager, by its alias on the overlay network.
        first = seen_somewhere()
        assert seen_somewhere() == first + 1

        for node in NODES:
            load(engine, WEB_V2, node, WEB_TAG)
        before = {task["ID"] for task in running_tasks(manager)}
        with Traffic(list(NODES.values()), WEB_PORT) as traffic:
            wait_for("web answers", lambda: traffic.requests > 5 and traffic.answered_by, timeout=30)
            with phase("compose web swarm: apply (the tag's new image rolls)"):
                app.apply(lambda: run_inline(app, lambda: app_program(v2)))
            time.sleep(2)
        answered = sum(traffic.answered_by.values())
        PHASES.append((f"  compose web rollout: {traffic.requests} requests, {traffic.failed} failed", 0.0))
        assert ("update", SERVICE, "compose-web-service") in app.last_run.changes(), app.last_run.changes()
        assert traffic.failed == 0 and traffic.requests > 20, (traffic.failed, traffic.requests, traffic.answered_by)

        after = running_tasks(manager)
        assert len(after) == 2 and not {task["ID"] for task in after} & before
        assert sorted(set(task_image_ids(manager).values())) == [v2]
        # One at a time: the new tasks started apart.
        started = sorted(task["Status"]["Timestamp"] for task in after)
        assert started[0] != started[1]
        # Every answered request counted once more, in the same Redis: nothing was lost or reset.
        last = seen_somewhere()
        assert last >= first + 2 + answered, (first, answered, last)
    finally:
        manager.close()


def test_destroy_leaves_nothing_behind(nodes: tuple[ApplyHarness, ApplyHarness], engine: docker.DockerClient) -> None:
    app, hosts = nodes
    app.destroy()
    hosts.destroy()
    assert len(app.state) == len(hosts.state) == 0
    assert objects_named_with(engine, f"{PREFIX}-") == {"services": [], "containers": [], "networks": [], "volumes": []}
