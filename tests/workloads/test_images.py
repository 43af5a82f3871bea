"""The images, built on the real Docker engine from local/debian:bookworm: a container of each starts
and answers its health check, wired together as the infrastructure wires them."""
import json
import os
import shutil
import subprocess
import uuid

import pytest
import requests

from tests.support.prerequisites import skip_or_fail

from .support import APPS, wait_until

pytestmark = pytest.mark.docker

BASE_IMAGE = "local/debian:bookworm"
IMAGE_PREFIX = "workloads-test/"  # kept after the run: the next build reuses their layers


def docker(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
    result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check and result.returncode:
        pytest.fail(f"docker {' '.join(args)} failed: {result.stderr.strip()[-2000:]}")
    return result


@pytest.fixture(scope="session")
def docker_engine():
    if not shutil.which("docker") or subprocess.run(["docker", "info"], capture_output=True).returncode:
        skip_or_fail("no Docker engine answers `docker info` (.ci/engine.sh starts one)")
    if subprocess.run(["docker", "image", "inspect", BASE_IMAGE], capture_output=True).returncode:
        skip_or_fail(f"base image {BASE_IMAGE} is missing (.ci/engine.sh builds it)")


@pytest.fixture(scope="session")
def image(docker_engine):
    """image("composeapp") builds apps/composeapp with apps/build.sh, once a session; returns its tag."""
    built = {}

    def build(app: str, **variables) -> str:
        if app not in built:
            tag = IMAGE_PREFIX + app
            result = subprocess.run(
                [str(APPS / "build.sh"), app, tag], capture_output=True, text=True, timeout=900,
                env={**os.environ, "BASE_IMAGE": BASE_IMAGE, "DOCKER_BUILDKIT": "0", **variables},
            )
            assert result.returncode == 0, \
                f"building {app} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            built[app] = tag
        return built[app]

    return build


class Sandbox:
    """A user network of its own, and the containers on it; all are removed afterwards.

    Containers find each other through /etc/hosts entries (--add-host) as well as their network alias,
    and the tests reach them at their IP on the network rather than through published ports: other
    work on a shared engine may run `docker swarm leave`, which on Docker 20.10 wipes the embedded
    DNS records of running containers on bridge networks (moby/moby#45144); tests here saw aliases
    answer NXDOMAIN for over a minute.
    """

    def __init__(self):
        self.network = f"workloads-test-{uuid.uuid4().hex[:8]}"
        self.ips = {}  # name -> IP of each detached container
        docker("network", "create", self.network)

    def container(self, name: str) -> str:
        return f"{self.network}-{name}"

    def run(self, name: str, image: str, *command: str, env=None, detach=True):
        """Starts a container known as `name` on the network; a non-detached run returns its result."""
        self.ips.setdefault(name, "")  # remembered for removal even if `docker run` fails
        args = ["run", "--name", self.container(name), "--network", self.network, "--network-alias", name]
        args += [f"--add-host={other}:{ip}" for other, ip in self.ips.items() if ip]
        args += [f"-e{key}={value}" for key, value in (env or {}).items()]
        if not detach:
            return docker(*args, image, *command, check=False, timeout=60)
        docker(*args, "-d", image, *command)
        template = f'{{{{(index .NetworkSettings.Networks "{self.network}").IPAddress}}}}'
        self.ips[name] = docker("inspect", "-f", template, self.container(name)).stdout.strip()
        return self.ips[name]

    def stop(self, name: str) -> int:
        """`docker stop` (SIGTERM, then SIGKILL after 10s); returns the container's exit code."""
        docker("stop", self.container(name), timeout=30)
        return int(docker("inspect", "-f", "{{.State.ExitCode}}", self.container(name)).stdout)

    def logs(self, name: str) -> str:
        result = docker("logs", self.container(name), check=False)
        return result.stdout + result.stderr

    def print_state(self):
        """Shown by pytest for a failed test only, like all output captured during it."""
        for name in self.ips:
            state = docker("inspect", "-f", "{{.State.Status}} exit {{.State.ExitCode}}",
                           self.container(name), check=False)
            print(f"--- {name}: {state.stdout.strip() or state.stderr.strip()}\n{self.logs(name)}")

    def remove(self):
        if self.ips:  # -v: their anonymous volumes too
            docker("rm", "-f", "-v", *map(self.container, self.ips), check=False)
        docker("network", "rm", self.network, check=False)


@pytest.fixture
def sandbox(docker_engine):
    sandbox = Sandbox()
    yield sandbox
    sandbox.print_state()
    sandbox.remove()


@pytest.mark.parametrize("redis_command", [(), ("redis-server", "--appendonly", "yes")],
                         ids=["redis-image-command", "official-redis-command"])
def test_composeapp_image_counts_in_redis_image(image, sandbox, redis_command):
    sandbox.run("redis", image("redis"), *redis_command)
    url = f"http://{sandbox.run('web', image('composeapp'))}:5000"  # REDIS_HOST defaults to "redis"

    wait_until(lambda: requests.get(f"{url}/health", timeout=2).text == "ok", 60, "composeapp's /health")
    assert "seen 1 times" in requests.get(url, timeout=5).text
    assert "seen 2 times" in requests.get(url, timeout=5).text
    assert sandbox.stop("web") == 0, sandbox.logs("web")


def test_worker_and_client_images_with_consul_image(image, sandbox, consul_bin):
    consul_ip = sandbox.run(
        "consul", image("consul", CONSUL_BIN=consul_bin),
        "consul", "agent", "-server", "-bootstrap-expect=1", "-node=consul1", "-data-dir=/consul/data",
        "-config-dir=/consul/config", "-client=0.0.0.0")
    api = f"http://{consul_ip}:8500"
    wait_until(lambda: requests.get(f"{api}/v1/status/leader", timeout=2).json(), 60, "a Consul leader")
    requests.put(f"{api}/v1/kv/distributed_app/dev/greeting", data="Hola", timeout=5).raise_for_status()

    worker_ip = sandbox.run("server1", image("distributed_app"), env={
        "CONSUL_HTTP_ADDR": "consul:8500", "SERVICE_ID": "server1",
        "CONSUL_KV_PREFIX": "distributed_app/dev/"})

    def passing_ids():
        entries = requests.get(f"{api}/v1/health/service/distributed_app?passing", timeout=5).json()
        return [entry["Service"]["ID"] for entry in entries]

    wait_until(lambda: passing_ids() == ["server1"], 60, "server1's check to pass in the Consul container")
    page = requests.get(f"http://{worker_ip}:8080/", timeout=5).json()
    assert (page["service_id"], page["address"], page["greeting"]) == ("server1", worker_ip, "Hola")

    client = sandbox.run("client", image("distributed_client"), detach=False, env={
        "CONSUL_HTTP_ADDR": "http://consul:8500", "CONSUL_KV_PREFIX": "distributed_app/dev/",
        "REPORT_FORMAT": "json"})
    assert client.returncode == 0, client.stderr
    report = json.loads(client.stdout)
    assert report["http"] == [{"id": "server1", "node": "consul1", "address": worker_ip, "port": 8080}]
    assert report["dns_a"] == [worker_ip]
    assert [(record["address"], record["port"]) for record in report["dns_srv"]] == [(worker_ip, 8080)]
    assert report["kv"] == {"greeting": "Hola"}

    assert sandbox.stop("server1") == 0, sandbox.logs("server1")
    assert requests.get(f"{api}/v1/agent/services", timeout=5).json() == {}


@pytest.mark.parametrize("app", ["composeapp", "distributed_app", "distributed_client"])
def test_our_images_run_as_a_user_without_privileges(image, app):
    tag = image(app)
    assert docker("image", "inspect", tag, "--format", "{{.Config.User}}").stdout.strip() == "app"
    uid = docker("run", "--rm", "--entrypoint", "id", tag, "-u").stdout.strip()
    assert uid != "0"
