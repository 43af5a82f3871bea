"""Fixtures that run the workloads against real servers: redis-server, Consul agents and the apps
themselves as subprocesses, all on free local ports and all stopped afterwards."""
import os
import shutil
import signal
import subprocess
import sys

import pytest

from tests.support.prerequisites import skip_or_fail

from .support import APPS, REPO, ConsulAgent, Process, RedisServer, app_env, free_port


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "docker: builds the images and runs containers on the Docker engine (slow)")


@pytest.fixture
def start_app(tmp_path):
    """start_app("composeapp", PORT=...) runs apps/<name>/app.py with exactly that environment."""
    started = []

    def start(name: str, **variables) -> Process:
        log_path = tmp_path / f"{name}-{len(started)}.log"
        process = Process([sys.executable, str(APPS / name / "app.py")], log_path, app_env(**variables))
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop(signal.SIGKILL)


@pytest.fixture
def redis_server(tmp_path):
    if not shutil.which("redis-server"):
        skip_or_fail("redis-server is not installed (Debian package redis-server)")
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def consul_bin() -> str:
    """The Consul binary: $CONSUL_BIN, else the path .ci/consul.sh prints; skips the test without one."""
    path = os.environ.get("CONSUL_BIN", "")
    problem = "CONSUL_BIN is not set"
    script = REPO / ".ci" / "consul.sh"
    if not path and script.exists():
        result = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=1800)
        printed = result.stdout.strip().splitlines() if result.returncode == 0 else []
        path = printed[-1] if printed else ""
        problem = f".ci/consul.sh exited {result.returncode}: {result.stderr.strip()[-300:]}"
    elif not path:
        problem += " and .ci/consul.sh does not exist"
    if not path or not os.access(path, os.X_OK):
        skip_or_fail(f"no Consul binary ({problem}; path {path!r})")
    return path


@pytest.fixture
def consul(consul_bin, tmp_path):
    """A single Consul agent in -dev mode (server and client in one, in memory)."""
    agent = ConsulAgent(consul_bin, tmp_path / "consul", "dev-node")
    agent.start("-dev")
    agent.wait_for_leader()
    yield agent
    agent.stop()


@pytest.fixture
def consul_cluster(consul_bin, tmp_path):
    """Three Consul servers that elect a leader among themselves, like the project's cluster."""
    agents = [ConsulAgent(consul_bin, tmp_path / f"consul{n}", f"consul{n}") for n in (1, 2, 3)]
    join_address = f"-retry-join=127.0.0.1:{agents[0].serf_lan_port}"
    for agent in agents:
        agent.start("-server", "-bootstrap-expect=3", f"-data-dir={agent.directory}", join_address,
                    "-retry-interval=1s")
    for agent in agents:
        agent.wait_for_leader(60)
    yield agents
    for agent in agents:
        agent.stop()


@pytest.fixture
def start_worker(start_app):
    """start_worker(consul, "server1", "127.0.0.2") runs a distributed_app worker on a free port that
    advertises that address (every 127.x.y.z reaches it), so each worker has its own A record. Checks
    run every second unless told otherwise, to keep tests quick."""

    def start(consul: ConsulAgent, service_id: str, address: str, **variables) -> Process:
        port = free_port()
        worker = start_app(
            "distributed_app",
            **{"CONSUL_HTTP_ADDR": consul.url, "SERVICE_ID": service_id, "PORT": port,
               "SERVICE_ADDRESS": address, "CHECK_INTERVAL": "1s", **variables},
        )
        worker.service_id, worker.address, worker.port = service_id, address, port
        return worker

    return start
