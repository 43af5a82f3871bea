"""A cluster whose engines can't be reached fails its preview at once, naming each host, before anything is declared."""
from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

import pytest

from stacks.reachability import unreachable_reason
from tests.unit.conftest import deploy, deploy_rejected

# TEST-NET-1 (RFC 5737): never routed, so a connection there gets no answer or no route.
UNROUTED = "192.0.2.1"


class _DockerPing(BaseHTTPRequestHandler):
    """Answers `GET /_ping` as dockerd does."""

    protocol_version = "HTTP/1.0"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Api-Version", "1.41")
        self.end_headers()
        self.wfile.write(b"OK")

    def log_message(self, *args: object) -> None:
        pass


class _UpgradeRequired(_DockerPing):
    """What the egress proxy of this workplace answers on any address."""

    def do_GET(self) -> None:
        self.send_response(426)
        self.end_headers()


@pytest.fixture
def listening_ports() -> Iterator[list[int]]:
    """Three engines' worth of ports answering Docker's ping."""
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), _DockerPing) for _ in range(3)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield [server.server_address[1] for server in servers]
    for server in servers:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def hosts(larry: str, curly: str, moe: str) -> dict[str, object]:
    roles = {"larry": ["consul-server", "app"], "curly": ["consul-server", "app"], "moe": ["consul-server", "client"]}
    urls = {"larry": larry, "curly": curly, "moe": moe}
    return {
        "hosts": [
            {"name": name, "docker": urls[name], "address": f"10.0.0.{11 + index}", "roles": roles[name]}
            for index, name in enumerate(urls)
        ],
        "buildDockerHost": larry,
    }


def test_preview_names_every_unreachable_engine_and_declares_nothing(listening_ports: list[int]) -> None:
    refused, unrouted = f"tcp://127.0.0.1:{closed_port()}", f"ssh://deploy@{UNROUTED}"
    started = time.monotonic()
    message, registered = deploy_rejected(
        "cluster", hosts(f"tcp://127.0.0.1:{listening_ports[0]}", refused, unrouted), preview=True
    )
    elapsed = time.monotonic() - started
    lines = message.splitlines()
    assert lines[0] == "cannot reach these Docker engines, so nothing can be planned on them:"
    assert f"  curly ({refused}): Connection refused" in lines
    moe = next(line for line in lines if line.startswith("  moe "))
    assert moe.startswith(f"  moe ({unrouted}): ")
    assert [line.split(" (")[0].strip() for line in lines if line.startswith("  ")] == ["curly", "moe"]
    assert "known_hosts" in message
    # Probed side by side: the unanswered one costs one timeout, not one per host.
    assert elapsed < 5.0 + 4.0
    assert [r.type for r in registered if r.type != "pulumi:pulumi:Stack"] == []


def test_preview_goes_on_when_every_engine_answers(listening_ports: list[int]) -> None:
    larry, curly, moe = (f"tcp://127.0.0.1:{port}" for port in listening_ports)
    deployment = deploy("cluster", hosts(larry, curly, moe), preview=True)
    # Three agents, four workers and the client; in the mesh (the default) four pods and five sidecars.
    assert len(deployment.of_type("docker:index/container:Container")) == 8 + 4 + 5


def test_an_apply_leaves_the_engines_to_the_providers() -> None:
    """`pulumi up` has previewed just before; its apply run does not probe again."""
    unreachable = [f"tcp://127.0.0.1:{closed_port()}" for _ in range(3)]
    deployment = deploy("cluster", hosts(*unreachable))
    assert deployment.of_type("docker:index/container:Container")


def test_something_listening_is_not_enough() -> None:
    """A proxy may accept any connection (one does on the machine CI runs on): only the engine's answer counts."""
    with socket.create_server(("127.0.0.1", 0)) as silent:
        assert unreachable_reason(f"ssh://deploy@127.0.0.1:{silent.getsockname()[1]}", 0.3) == "no answer within 0.3 s"
    proxy = ThreadingHTTPServer(("127.0.0.1", 0), _UpgradeRequired)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        reason = unreachable_reason(f"tcp://127.0.0.1:{proxy.server_address[1]}", 1.0)
    finally:
        proxy.shutdown()
        proxy.server_close()
    assert reason == "answered, but not as a Docker engine (HTTP/1.0 426 Upgrade Required)"


def test_a_missing_socket_and_an_unknown_name_say_so() -> None:
    assert unreachable_reason("unix:///nonexistent/docker.sock", 1.0) == "No such file or directory"
    assert unreachable_reason("tcp://no-such-host.invalid:2376", 1.0) is not None


def test_an_unanswered_engine_costs_one_timeout() -> None:
    started = time.monotonic()
    reason = unreachable_reason(f"tcp://{UNROUTED}:2376", 0.5)
    assert reason is not None
    assert time.monotonic() - started < 1.5
