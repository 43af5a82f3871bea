"""Helpers that run real servers and the apps as subprocesses, on free local ports."""
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import dns.exception
import dns.resolver
import pytest
import redis
import requests

REPO = Path(__file__).resolve().parents[2]
APPS = REPO / "apps"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition, timeout: float, what: str):
    """Polls condition() until it returns something truthy, which it returns; connection errors count as
    not yet. Fails the test naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            result = condition()
            if result:
                return result
        except (requests.RequestException, redis.RedisError, dns.exception.DNSException, OSError) as error:
            last_error = error
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what} (last error: {last_error})")
        time.sleep(0.1)


class Process:
    """A server or app run as a subprocess; its output goes to a file, for assertions and failure reports."""

    def __init__(self, args, log_path: Path, env=None):
        self.log_path = log_path
        with open(log_path, "wb") as log:
            self.popen = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def running(self) -> bool:
        return self.popen.poll() is None

    def stop(self, signal_number=signal.SIGTERM, timeout: float = 15) -> int:
        """Sends the signal and waits for the exit; kills after `timeout`. Returns the exit code."""
        if self.running():
            self.popen.send_signal(signal_number)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        return self.popen.returncode


def app_env(**variables) -> dict:
    """A minimal environment, so that variables of the developer's shell can't change what a test sees."""
    return {"PATH": os.environ["PATH"], "PYTHONUNBUFFERED": "1", **{k: str(v) for k, v in variables.items()}}


class RedisServer:
    def __init__(self, directory: Path):
        self.directory = directory
        self.port = free_port()
        self.process = None

    def start(self) -> None:
        self.process = Process(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--dir",
             str(self.directory)],
            self.directory / "redis.log",
        )
        client = redis.Redis(port=self.port)
        wait_until(client.ping, 10, f"redis-server on port {self.port}")

    def stop(self) -> None:
        self.process.stop()


class ConsulAgent:
    """A real Consul agent on free loopback ports: -dev by default, or a server of a cluster."""

    def __init__(self, binary: str, directory: Path, node: str):
        self.binary = binary
        self.directory = directory
        self.node = node
        self.http_port, self.dns_port, self.serf_lan_port, self.serf_wan_port, self.server_port = (
            free_port() for _ in range(5)
        )
        self.url = f"http://127.0.0.1:{self.http_port}"
        self.process = None

    def start(self, *mode_args: str) -> None:
        """mode_args: ("-dev",) or server flags such as ("-server", "-bootstrap-expect=3", ...)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = Process(
            [self.binary, "agent", *mode_args, f"-node={self.node}", "-bind=127.0.0.1", "-client=127.0.0.1",
             f"-http-port={self.http_port}", f"-dns-port={self.dns_port}",
             f"-serf-lan-port={self.serf_lan_port}", f"-serf-wan-port={self.serf_wan_port}",
             f"-server-port={self.server_port}", "-grpc-port=-1", "-grpc-tls-port=-1"],
            self.directory / "consul.log",
        )

    def wait_for_leader(self, timeout: float = 30) -> None:
        wait_until(lambda: self.running_or_fail() and self.get("/v1/status/leader").json(), timeout,
                   f"a leader seen by Consul agent {self.node}")

    def running_or_fail(self) -> bool:
        if not self.process.running():
            pytest.fail(f"Consul agent {self.node} exited:\n{self.process.output()[-2000:]}")
        return True

    def get(self, path: str, **params) -> requests.Response:
        response = requests.get(self.url + path, params=params, timeout=5)
        response.raise_for_status()
        return response

    def put(self, path: str, data=None, json=None) -> requests.Response:
        response = requests.put(self.url + path, data=data, json=json, timeout=5)
        response.raise_for_status()
        return response

    def passing_ids(self, service: str) -> list:
        entries = self.get(f"/v1/health/service/{service}", passing="true").json()
        return sorted(entry["Service"]["ID"] for entry in entries)

    def catalog_ids(self, service: str) -> list:
        return sorted(entry["ServiceID"] for entry in self.get(f"/v1/catalog/service/{service}").json())

    def dns(self, name: str, record_type: str) -> list:
        """Records from this agent's DNS interface; empty for NXDOMAIN, Consul's answer for "none healthy"."""
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = ["127.0.0.1"]
        resolver.port = self.dns_port
        resolver.lifetime = 5
        try:
            return list(resolver.resolve(name, record_type, raise_on_no_answer=False))
        except dns.resolver.NXDOMAIN:
            return []

    def stop(self) -> None:
        self.process.stop()
