"""A host reboot, as far as Docker sees one: the local engine stopped with SIGTERM and started again.

Every container comes back by its restart policy, the swarm by its raft log; `restart_local_engine`
returns the moment the engine answers again, which is when a user's checks start to count.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any, Callable, Mapping

import dns.resolver
import docker
import pytest
import requests

from tests.support.program import PROJECT_DIR

from .support import PHASES, client_report, wait_for, web_count

PID_FILE = Path("/var/run/docker.pid")
STOP_TIMEOUT_SECONDS = 60


def restart_local_engine(engine: docker.DockerClient) -> float:
    """Restarts the engine behind `engine`; returns the seconds it took until it answered again."""
    if not engine.api.base_url.startswith("http+docker://localhost") or not PID_FILE.exists():
        pytest.skip("engine restart: only a local dockerd with a pid file can be restarted by the suite")
    started = time.monotonic()
    if _managed_by_systemd():
        subprocess.run(["systemctl", "restart", "docker"], check=True)
    else:
        _stop(int(PID_FILE.read_text()))
        # What CI runs to start it: the same flags, log and wait for `docker info`.
        subprocess.run(["bash", str(PROJECT_DIR / ".ci" / "engine.sh")], check=True, stdout=subprocess.DEVNULL)
    while True:
        try:
            engine.ping()
            return time.monotonic() - started
        except Exception:  # noqa: BLE001 - the socket answers once dockerd is up
            if time.monotonic() - started > STOP_TIMEOUT_SECONDS * 2:
                raise
            time.sleep(0.2)


def time_recovery(checks: Mapping[str, Callable[[], Any]], since: float, timeout: float = 180) -> None:
    """Waits for each check in turn, as a user retrying it would, and notes in PHASES how long after
    `since` (the engines answering again) it first passed."""
    for check, probe in checks.items():
        wait_for(f"after the restart: {check}", probe, timeout=timeout, interval=0.2)
        PHASES.append((f"  {check}, after the restart", time.monotonic() - since))


def dev_checks(outputs: Mapping[str, Any], engine: docker.DockerClient) -> dict[str, Callable[[], Any]]:
    """The chapter's checks on the default dev stack, from its outputs alone (the harness's or the CLI's):
    each a probe that is truthy once it passes. The web counter must count on from where it is now."""
    consul = f"http://{outputs['consulHttpAddress']}"
    host, port = outputs["consulDnsAddress"].rsplit(":", 1)
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers, resolver.port, resolver.lifetime = [host], int(port), 2
    web = outputs["webUrl"] + "/"
    seen_before = web_count(web)
    replicated = outputs["swarmServices"][0]

    def running(service: str) -> int:
        tasks = engine.api.tasks(filters={"service": service, "desired-state": "running"})
        return sum(task["Status"]["State"] == "running" for task in tasks)

    return {
        "Consul has a leader": lambda: requests.get(f"{consul}/v1/status/leader", timeout=2).json(),
        "the web counter counts on from where it was": lambda: web_count(web) > seen_before,
        "both workers in Consul DNS": lambda: len(resolver.resolve("distributed_app.service.consul", "SRV")) == 2,
        "heyworld runs its replicas": lambda: running(replicated) == 2,
        "the client reports both workers": lambda: sorted(e["id"] for e in client_report(engine, outputs["clientContainer"])["http"])
        == ["server1", "server2"],
    }


def _managed_by_systemd() -> bool:
    if not shutil.which("systemctl"):
        return False
    return subprocess.run(["systemctl", "is-active", "--quiet", "docker"], check=False).returncode == 0


def _stop(pid: int) -> None:
    """SIGTERM, as a host shutdown sends it: dockerd stops its containers, then exits."""
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    while _running(pid):
        if time.monotonic() > deadline:
            raise AssertionError(f"dockerd (pid {pid}) still running {STOP_TIMEOUT_SECONDS}s after SIGTERM")
        time.sleep(0.2)


def _running(pid: int) -> bool:
    """Alive and not a zombie: where nothing reaps the detached dockerd, its exit leaves one behind."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"
