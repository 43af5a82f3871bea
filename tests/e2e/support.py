"""Deploys the real dev stack on the local engine through the apply harness, and probes it.

`DevStack` builds the images nothing can pull here (Redis and Consul, from
apps/ on the local base image), points the stack's image config keys at them,
applies the program with run_program under ApplyHarness, and destroys it at the
end. Phase durations are collected in PHASES and printed by the e2e conftest.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

import dns.resolver
import docker
import requests

from tests.harness import ApplyHarness
from tests.harness.consul_resources import pem_file
from tests.harness.local_images import (
    BASE_IMAGE,
    CONSUL_IMAGE,
    REDIS_IMAGE,
    build_consul_image,
    build_redis_image,
    extra_ca_certificates,
)
from tests.support.program import PROJECT_DIR, run_program

T = TypeVar("T")

STATE_DIR = Path(tempfile.gettempdir()) / "orchestration-e2e"

PHASES: list[tuple[str, float]] = []
SLOWEST_SHOWN = 4  # per apply, the operations that took longest (>= 1 s) are listed under it


@contextlib.contextmanager
def phase(name: str) -> Iterator[None]:
    started = time.monotonic()
    try:
        yield
    finally:
        PHASES.append((name, time.monotonic() - started))


def wait_for(what: str, probe: Callable[[], T], timeout: float = 90, interval: float = 1.0) -> T:
    """Polls until `probe` returns something truthy without raising; fails with the last answer."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = probe()
            if last:
                return last
        except Exception as error:  # noqa: BLE001 - remembered and reported on timeout
            last = error
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not true after {timeout}s; last: {last!r}")
        time.sleep(interval)


def build_stand_in_images(engine: docker.DockerClient) -> None:
    """Redis and Consul images from apps/ on the local base image, with the repository's build script."""
    with phase("build redis image (apps/build.sh redis)"):
        build_redis_image(engine)
    with phase("build consul image (apps/build.sh consul)"):
        build_consul_image(engine)


def rolled(image: str, tag: str) -> None:
    """The same image under another id, so everything running it must be rolled or replaced."""
    subprocess.run(["docker", "build", "-q", "-t", tag, "-"], input=f"FROM {image}\nLABEL rolled=yes\n", text=True, check=True, capture_output=True)


def machine_config() -> dict[str, Any]:
    """The dev stack's config on this machine: the stand-in images, and a destroy that leaves nothing."""
    return {
        "redisImage": REDIS_IMAGE,
        "consulImage": CONSUL_IMAGE,
        "heyworldImage": BASE_IMAGE,
        "appBaseImage": BASE_IMAGE,
        # pip in our builds must trust this machine's TLS-re-signing proxy.
        "buildCaCertificates": extra_ca_certificates(),
        # Unless a test is about the data that outlives it.
        "retainData": False,
    }


def project_copy(destination: Path) -> Path:
    """The project copied to `destination` (without its virtualenv, .git and caches), for commands run as
    a user runs them there (`make up`), its `venv` the virtualenv this test runs in."""
    shutil.copytree(PROJECT_DIR, destination, ignore=shutil.ignore_patterns("venv", ".git", "__pycache__", ".pytest_cache"))
    (destination / "venv").symlink_to(Path(sys.prefix))
    # So `make` in the copy finds that virtualenv up to date, however recent the checkout's files are.
    installed = Path(sys.prefix) / ".installed"
    if installed.exists():
        made = installed.stat().st_mtime_ns
        for name in ("requirements.txt", "requirements-test.txt", "policy/requirements.txt"):
            os.utime(destination / name, ns=(made, made))
    return destination


class DevStack:
    """The dev stack applied through the harness; `apply` and `destroy` are `pulumi up` / `pulumi destroy`."""

    stack = "dev"

    def __init__(self, engine: docker.DockerClient, overrides: dict[str, Any] | None = None) -> None:
        self.engine = engine
        self.overrides = {**machine_config(), **(overrides or {})}
        STATE_DIR.mkdir(parents=True, exist_ok=True)
        self.state_file = STATE_DIR / f"{self.stack}-state.json"
        self.swarm_was_active = engine.info()["Swarm"]["LocalNodeState"] == "active"
        self.harness = self._new_harness()
        if len(self.harness.state):  # a previous run died before its destroy
            with phase("destroy leftovers of an earlier run"):
                self.harness.destroy()
        self.outputs: dict[str, Any] = {}

    def _new_harness(self) -> ApplyHarness:
        return ApplyHarness(
            project_dir=PROJECT_DIR,
            state_file=self.state_file,
            keep_images=(BASE_IMAGE, REDIS_IMAGE, CONSUL_IMAGE),
        )

    def apply(self, label: str, refresh: bool = False, **overrides: Any) -> dict[str, Any]:
        """`pulumi up` with `overrides` laid over the config; `refresh`: `pulumi up --refresh`."""
        self.overrides.update(overrides)
        with phase(label):
            self.outputs = self.harness.apply(
                lambda: run_program(self.harness, self.stack, self.overrides), label=label, refresh=refresh
            )
        slowest = sorted(self.harness.last_run.operations, key=lambda operation: -operation.seconds)[:SLOWEST_SHOWN]
        PHASES.extend((f"  {o.op} {o.type} {o.name}", o.seconds) for o in slowest if o.seconds >= 1)
        return self.outputs

    def adopt(self, outputs: dict[str, Any]) -> None:
        """Goes on with the stack another process applied to this one's state file (a doc's `pulumi up`
        through tests/harness/cli.py), whose outputs are `outputs`."""
        self.harness.close()
        self.harness = self._new_harness()
        self.outputs = outputs

    def destroy(self) -> None:
        if len(self.harness.state):
            with phase(f"destroy ({self.stack})"):
                self.harness.destroy()

    def close(self) -> None:
        self.harness.close()

    # ------------------------------------------------------------------ probes

    @property
    def consul_http(self) -> str:
        scheme = "https" if "consulCaCert" in self.outputs else "http"
        return f"{scheme}://{self.outputs['consulHttpAddress']}"

    @property
    def verify(self) -> str | bool:
        """requests' `verify` for the Consul API: the stack's CA where TLS is on."""
        return consul_ca_file(self.outputs)

    def consul(self, path: str, **params: Any) -> Any:
        return self._consul_get(path, params).json()

    def consul_text(self, path: str, **params: Any) -> str:
        return self._consul_get(path, params).text

    @property
    def management(self) -> dict[str, str]:
        """The header that lets a probe past ACLs, where they are on."""
        token = self.outputs.get("consulManagementToken")
        return {"X-Consul-Token": token} if token else {}

    def _consul_get(self, path: str, params: dict[str, Any]) -> requests.Response:
        response = requests.get(self.consul_http + path, params=params, headers=self.management, timeout=10, verify=self.verify)
        response.raise_for_status()
        return response

    def resolver(self) -> dns.resolver.Resolver:
        host, port = self.outputs["consulDnsAddress"].rsplit(":", 1)
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [host]
        resolver.port = int(port)
        resolver.lifetime = 5
        return resolver

    def resolve(self, name: str, record: str = "A") -> list[Any]:
        return list(self.resolver().resolve(name, record))

    def container_ip(self, container: str, network: str | None = None) -> str:
        networks = self.engine.api.inspect_container(container)["NetworkSettings"]["Networks"]
        return networks[network or f"{self.stack}-net"]["IPAddress"]

    def running_tasks(self, service: str) -> int:
        tasks = self.engine.api.tasks(filters={"service": service, "desired-state": "running"})
        return sum(task["Status"]["State"] == "running" for task in tasks)


def web_count(url: str) -> int:
    """The compose web app's count, which each request to `url` moves on by one."""
    body = urllib.request.urlopen(url, timeout=5).read().decode()
    return int(re.search(r"seen (\d+) times", body).group(1))


def consul_ca_file(outputs: dict[str, Any]) -> str | bool:
    """The `consulCaCert` output in a file, for requests' `verify`; True (the system's trust) without one."""
    return pem_file(outputs.get("consulCaCert")) or True


def client_report(engine: docker.DockerClient, container: str) -> dict[str, Any]:
    """The client's one-shot JSON report, run inside its container (the human report goes to stderr)."""
    result = engine.containers.get(container).exec_run(["python", "app.py", "--json"], environment={"INTERVAL": "0"}, demux=True)
    stdout, stderr = (part.decode() if part else "" for part in result.output)
    assert result.exit_code == 0, stderr
    return json.loads(stdout.strip().splitlines()[-1])
