"""The readiness gate against a stand-in status API whose answers change over time."""
from __future__ import annotations

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

import pytest

from components.consul_cluster import READINESS_SCRIPT
from components.consul_readiness import wait_until_ready


class StatusApi:
    """Answers /v1/status/leader and /v1/status/peers from a list of states, one per poll."""

    def __init__(self, states: list[tuple[str, list[str]]]) -> None:
        self.states = states
        self.polls = 0
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                leader, peers = api.states[min(api.polls, len(api.states) - 1)]
                body = leader if self.path == "/v1/status/leader" else peers
                if self.path == "/v1/status/peers":
                    api.polls += 1
                self.send_response(200)
                self.end_headers()
                self.wfile.write(json.dumps(body).encode())

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def status_api() -> Iterator[type[StatusApi]]:
    started: list[StatusApi] = []

    def start(states):
        api = StatusApi(states)
        started.append(api)
        return api

    yield start  # type: ignore[misc]
    for api in started:
        api.server.shutdown()


PEERS = ["10.0.0.11:8300", "10.0.0.12:8300", "10.0.0.13:8300"]


def test_waits_for_a_leader_and_every_server(status_api) -> None:
    api = status_api([("", []), ("10.0.0.11:8300", PEERS[:2]), ("10.0.0.11:8300", PEERS)])
    assert wait_until_ready(api.address, 3, timeout=10, interval=0.01) == "10.0.0.11:8300"
    assert api.polls == 3


def test_times_out_with_the_last_state_it_saw(status_api) -> None:
    api = status_api([("10.0.0.11:8300", PEERS[:2])])
    with pytest.raises(TimeoutError, match=r"not ready after 0s: leader 10.0.0.11:8300, 2 of 3 servers"):
        wait_until_ready(api.address, 3, timeout=0.05, interval=0.01)


def test_an_unreachable_cluster_times_out_saying_so() -> None:
    with pytest.raises(TimeoutError, match="unreachable"):
        wait_until_ready("127.0.0.1:9", 1, timeout=0.05, interval=0.01)


def test_the_command_runs_the_script_from_stdin(status_api) -> None:
    api = status_api([("10.0.0.11:8300", PEERS)])
    env = {"CONSUL_HTTP_ADDR": api.address, "CONSUL_EXPECTED_SERVERS": "3", "CONSUL_READY_TIMEOUT": "5"}
    done = subprocess.run([sys.executable, "-"], input=READINESS_SCRIPT, env=env, capture_output=True, text=True)
    assert (done.returncode, done.stdout.strip()) == (0, "leader 10.0.0.11:8300, 3 servers")
    env["CONSUL_EXPECTED_SERVERS"] = "5"
    env["CONSUL_READY_TIMEOUT"] = "0"
    failed = subprocess.run([sys.executable, "-"], input=READINESS_SCRIPT, env=env, capture_output=True, text=True)
    assert failed.returncode == 1
    assert "3 of 5 servers" in failed.stderr
