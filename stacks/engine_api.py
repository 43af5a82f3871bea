"""The Docker Engine API over a local socket, with the standard library: what a plan reads from a local
engine, without starting the docker CLI (seven runs one after the other, each a process and its own
connection) or importing the Docker SDK."""
from __future__ import annotations

import http.client
import json
import socket
from typing import Any
from urllib.parse import quote

UNIX_SCHEME = "unix://"


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self._path)


class EngineApi:
    """GETs on one kept-alive connection to the engine at a `unix://` URL; OSError or ValueError when it fails."""

    def __init__(self, docker_url: str, timeout: float) -> None:
        if not docker_url.startswith(UNIX_SCHEME):
            raise ValueError(f"not a local socket: {docker_url}")
        self._connection = _UnixConnection(docker_url[len(UNIX_SCHEME):], timeout)

    def get(self, path: str) -> Any:
        self._connection.request("GET", path)
        response = self._connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise ValueError(f"GET {path}: HTTP {response.status} {body[:200]!r}")
        return json.loads(body)

    def inspect(self, kind: str, object_id: str) -> Any:
        return self.get(f"/{kind}/{quote(object_id, safe='')}/json")

    def close(self) -> None:
        self._connection.close()
