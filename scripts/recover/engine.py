"""The Docker engine a pending create was made on, asked about objects by name.

A resource's engine is its docker provider's `host` (inline TLS material or `certPath` beside it);
with none, the provider's own default: DOCKER_HOST, else the local socket.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional, Protocol

from .errors import RecoveryError

if TYPE_CHECKING:
    from docker.tls import TLSConfig

LOCAL_SOCKET = "unix:///var/run/docker.sock"


class Engine(Protocol):
    """What recovery asks an engine; each lookup returns the Engine API's inspect document, or None."""

    host: str

    def container(self, name: str) -> Optional[Mapping[str, Any]]: ...
    def network(self, name: str) -> Optional[Mapping[str, Any]]: ...
    def volume(self, name: str) -> Optional[Mapping[str, Any]]: ...
    def service(self, name: str) -> Optional[Mapping[str, Any]]: ...
    def remove_container(self, container_id: str) -> None: ...


def engine_host(provider_inputs: Mapping[str, Any]) -> str:
    return provider_inputs.get("host") or os.environ.get("DOCKER_HOST") or LOCAL_SOCKET


class DockerEngine:
    """An Engine through docker-py (imported only when a pending create needs an engine)."""

    def __init__(self, provider_inputs: Mapping[str, Any]) -> None:
        import docker

        self.host = engine_host(provider_inputs)
        self._tls_dir: Optional[tempfile.TemporaryDirectory[str]] = None
        try:
            self._client = docker.APIClient(
                base_url=self.host, tls=self._tls(provider_inputs), use_ssh_client=self.host.startswith("ssh://"), timeout=60
            )
        except docker.errors.DockerException as error:
            raise RecoveryError(f"the Docker engine at {self.host} does not answer, so what is on it can't be checked: {error}") from error
        self._not_found = docker.errors.NotFound

    def container(self, name: str) -> Optional[Mapping[str, Any]]:
        found = self._inspect(self._client.inspect_container, name)
        # The API also resolves id prefixes: only an object of exactly this name counts.
        return found if found and found.get("Name", "").lstrip("/") == name else None

    def network(self, name: str) -> Optional[Mapping[str, Any]]:
        found = self._inspect(self._client.inspect_network, name)
        return found if found and found.get("Name") == name else None

    def volume(self, name: str) -> Optional[Mapping[str, Any]]:
        return self._inspect(self._client.inspect_volume, name)

    def service(self, name: str) -> Optional[Mapping[str, Any]]:
        if self._client.info()["Swarm"]["LocalNodeState"] != "active":
            return None
        found = self._inspect(self._client.inspect_service, name)
        return found if found and found["Spec"].get("Name") == name else None

    def remove_container(self, container_id: str) -> None:
        self._client.remove_container(container_id)  # v=False: its volumes stay

    def close(self) -> None:
        self._client.close()
        if self._tls_dir:
            self._tls_dir.cleanup()

    def _inspect(self, inspect: Callable[[str], Mapping[str, Any]], name: str) -> Optional[Mapping[str, Any]]:
        try:
            return inspect(name)
        except self._not_found:
            return None

    def _tls(self, inputs: Mapping[str, Any]) -> "TLSConfig | bool":
        """The provider takes PEM text inline (caMaterial, certMaterial, keyMaterial) or a folder; docker-py wants files."""
        from docker.tls import TLSConfig

        folder = inputs.get("certPath")
        material = {"ca.pem": inputs.get("caMaterial"), "cert.pem": inputs.get("certMaterial"), "key.pem": inputs.get("keyMaterial")}
        if not folder and not any(material.values()):
            return False
        if not folder:
            self._tls_dir = tempfile.TemporaryDirectory(prefix="recover-tls-")
            folder = self._tls_dir.name
            for file_name, pem in material.items():
                if pem:
                    (Path(folder) / file_name).write_text(pem)
        files = {name: str(Path(folder) / name) for name in material if (Path(folder) / name).is_file()}
        client_cert = (files["cert.pem"], files["key.pem"]) if "cert.pem" in files and "key.pem" in files else None
        return TLSConfig(client_cert=client_cert, ca_cert=files.get("ca.pem"), verify=files.get("ca.pem") or False)
