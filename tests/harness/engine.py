"""Connections to Docker engines, and the one check that decides whether Docker tests run.

A `pulumi:providers:docker` resource names an engine (unix socket, tcp with or
without TLS material, or ssh). The harness opens one docker-py client per
distinct provider configuration and reuses it from every worker thread:
docker-py clients are backed by a pooled requests session, which is safe to
share.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any, Mapping

import docker
from docker.tls import TLSConfig

LOCAL_SOCKET = "unix:///var/run/docker.sock"
# Builds and swarm convergence can take minutes; the default 60 s read timeout is too short.
API_TIMEOUT_SECONDS = 900


def default_docker_host(configured: str | None = None) -> str:
    """What the default docker provider talks to: `docker:host` config, else DOCKER_HOST, else the socket."""
    return configured or os.environ.get("DOCKER_HOST") or LOCAL_SOCKET


class EnginePool:
    """One docker-py client per provider configuration, shared across threads."""

    def __init__(self) -> None:
        self._clients: dict[str, docker.DockerClient] = {}
        self._lock = threading.Lock()
        self._tls_dirs: list[tempfile.TemporaryDirectory[str]] = []

    def client(self, config: Mapping[str, Any]) -> docker.DockerClient:
        key = hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()
        with self._lock:
            if key not in self._clients:
                self._clients[key] = self._connect(config)
            return self._clients[key]

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()
            for directory in self._tls_dirs:
                directory.cleanup()
            self._tls_dirs.clear()

    def _connect(self, config: Mapping[str, Any]) -> docker.DockerClient:
        host = default_docker_host(config.get("host"))
        tls = self._tls(config, host)
        return docker.DockerClient(
            base_url=host,
            tls=tls,
            timeout=API_TIMEOUT_SECONDS,
            use_ssh_client=host.startswith("ssh://"),
            max_pool_size=32,
        )

    def _tls(self, config: Mapping[str, Any], host: str) -> TLSConfig | bool:
        """PEM material is given inline to the provider; docker-py wants files."""
        material = {key: config.get(key) for key in ("caMaterial", "certMaterial", "keyMaterial")}
        cert_path = config.get("certPath")
        if not any(material.values()) and not cert_path:
            return False
        if cert_path:
            files = {name: str(Path(cert_path) / name) for name in ("ca.pem", "cert.pem", "key.pem")}
        else:
            directory = tempfile.TemporaryDirectory(prefix="harness-tls-")
            self._tls_dirs.append(directory)
            files = {}
            for name, key in (("ca.pem", "caMaterial"), ("cert.pem", "certMaterial"), ("key.pem", "keyMaterial")):
                if material[key]:
                    files[name] = str(Path(directory.name) / name)
                    Path(files[name]).write_text(material[key])
        client_cert = (files["cert.pem"], files["key.pem"]) if "cert.pem" in files and "key.pem" in files else None
        return TLSConfig(client_cert=client_cert, ca_cert=files.get("ca.pem"), verify=files.get("ca.pem") or False)


def objects_named_with(engine: docker.DockerClient, prefix: str) -> dict[str, list[str]]:
    """Services, containers, networks and volumes whose name starts with `prefix`.

    List calls only: other suites share the engine and remove their own objects
    concurrently, so inspecting objects one by one (as docker-py's high-level
    `.list()` does) can fail with 404 for objects that are not ours.
    """
    services = engine.api.services() if engine.info()["Swarm"]["ControlAvailable"] else []
    found = {
        "services": [service["Spec"]["Name"] for service in services],
        "containers": [c["Names"][0].lstrip("/") for c in engine.api.containers(all=True) if c.get("Names")],
        "networks": [network["Name"] for network in engine.api.networks()],
        "volumes": [volume["Name"] for volume in engine.api.volumes().get("Volumes") or []],
    }
    return {kind: sorted(name for name in names if name.startswith(prefix)) for kind, names in found.items()}


def sweep(engine: docker.DockerClient, prefix: str) -> None:
    """Removes whatever still carries `prefix`, services first: the last resort after a failed destroy."""
    removers = {
        "services": engine.api.remove_service,
        "containers": lambda name: engine.api.remove_container(name, force=True, v=True),
        "networks": engine.api.remove_network,
        "volumes": lambda name: engine.api.remove_volume(name, force=True),
    }
    for kind, remove in removers.items():
        for name in objects_named_with(engine, prefix)[kind]:
            with contextlib.suppress(docker.errors.NotFound):
                remove(name)


@functools.lru_cache(maxsize=1)
def docker_unavailable_reason() -> str | None:
    """None when a Docker engine answers; otherwise why not (shown as the skip reason)."""
    host = default_docker_host()
    try:
        client = docker.DockerClient(base_url=host, timeout=10)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as error:  # noqa: BLE001 - any failure means "no engine", reported verbatim
        return f"no Docker engine reachable at {host}: {type(error).__name__}: {error}"
    return None


def skip_without_docker() -> None:
    """The single place Docker-dependent tests decide to skip; always with the reason.

    With ORCH_REQUIRE_ENGINE=1 (as .ci/run sets) a missing engine fails the test instead.
    """
    # Imported here so the harness itself does not depend on pytest.
    from tests.support.prerequisites import skip_or_fail

    reason = docker_unavailable_reason()
    if reason:
        skip_or_fail(reason)
