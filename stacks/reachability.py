"""Refuses to plan a stack whose Docker engines can't be reached, in seconds and with one line per host.

Left to the providers, an unreachable `ssh://` engine holds a preview for as long as ssh keeps
trying to connect, and a `tcp://` one fails only after pulumi-docker's 30 s dial timeout with a
message naming neither the host nor what the runner lacks.
"""
from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor
from typing import Mapping, Optional
from urllib.parse import urlsplit

from stacks.config_values import ConfigError

CONNECT_TIMEOUT_SECONDS = 5.0
# What `docker -H` assumes when the URL names no port.
DEFAULT_PORTS = {"tcp": 2375, "ssh": 22}


class EnginesUnreachable(ConfigError):
    """Not a config typo, but reported the same way: one message, no traceback."""


def check_engines_reachable(engines: Mapping[str, str], timeout: float = CONNECT_TIMEOUT_SECONDS) -> None:
    """Probes every engine (`{what: docker URL}`) at once; raises with every unreachable one."""
    with ThreadPoolExecutor(max_workers=max(1, len(engines))) as pool:
        problems = dict(zip(engines, pool.map(lambda url: unreachable_reason(url, timeout), engines.values())))
    failures = [f"  {what} ({engines[what]}): {reason}" for what, reason in problems.items() if reason]
    if failures:
        raise EnginesUnreachable(
            "cannot reach these Docker engines, so nothing can be planned on them:\n"
            + "\n".join(failures)
            + "\nThe machine running pulumi needs network reach to each of them (and, for ssh://, a key the"
            " host accepts and its host key in known_hosts): see docs/previews.md."
        )


def unreachable_reason(url: str, timeout: float) -> Optional[str]:
    """Why the engine does not answer as one, or None when it does.

    An open port is not enough: a proxy between the runner and the host may accept any
    connection, so each endpoint must speak its protocol first.
    """
    parts = urlsplit(url)
    try:
        if parts.scheme == "unix":
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
                connection.settimeout(timeout)
                connection.connect(parts.path)
            return None
        with socket.create_connection((parts.hostname, parts.port or DEFAULT_PORTS[parts.scheme]), timeout) as connection:
            connection.settimeout(timeout)
            if parts.scheme == "ssh":
                greeting = connection.recv(64)
                return None if greeting.startswith(b"SSH-") else f"answered, but not as an SSH server ({_first_line(greeting)})"
            connection.sendall(b"GET /_ping HTTP/1.0\r\n\r\n")
            return _docker_ping_problem(_read_all(connection))
    except socket.timeout:
        return f"no answer within {timeout:g} s"
    except OSError as error:
        return error.strerror or str(error)


def _docker_ping_problem(response: bytes) -> Optional[str]:
    head = response.split(b"\r\n\r\n", 1)[0].lower()
    if head.startswith(b"http/1.") and b" 200 " in head.split(b"\r\n", 1)[0] and b"\r\napi-version:" in head:
        return None
    if b"client sent an http request to an https server" in response.lower():
        return None  # a TLS engine: it answers, and the provider brings the client certificate
    return f"answered, but not as a Docker engine ({_first_line(response)})"


def _read_all(connection: socket.socket) -> bytes:
    chunks = []
    while chunk := connection.recv(4096):
        chunks.append(chunk)
    return b"".join(chunks)


def _first_line(data: bytes) -> str:
    return data.split(b"\r\n", 1)[0].decode(errors="replace").strip() or "nothing"
