"""A local engine's holdings are read through its API on the socket, as `docker inspect` shapes them,
without starting the docker CLI: a plan pays no process (stacks/engine_api.py)."""
from __future__ import annotations

import json
import socketserver
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from stacks import engine_holdings
from tests.unit.test_engine_holdings import DEV_RUNNING


class FakeEngine(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def serve(path: Path, manager: bool) -> FakeEngine:
    containers, networks, services = DEV_RUNNING
    documents = {
        "/containers/json": [{"Id": f"id{index}"} for index, _ in enumerate(containers)],
        **{f"/containers/id{index}/json": found for index, found in enumerate(containers)},
        "/networks": networks,
        "/info": {"Swarm": {"ControlAvailable": manager}},
        "/services": services,
    }

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            found = documents.get(self.path)
            body = json.dumps(found if found is not None else {"message": "not found"}).encode()
            self.send_response(200 if found is not None else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def address_string(self) -> str:
            return "engine"

        def log_message(self, *_: object) -> None:
            pass

    engine = FakeEngine(str(path), Handler)
    threading.Thread(target=engine.serve_forever, daemon=True).start()
    return engine


@pytest.mark.parametrize("manager", [True, False], ids=["swarm manager", "no swarm"])
def test_a_local_engine_is_read_through_its_socket_without_a_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, manager: bool) -> None:
    engine = serve(tmp_path / "docker.sock", manager)
    read: list[tuple] = []
    monkeypatch.setattr(engine_holdings.subprocess, "run", lambda *a, **k: pytest.fail(f"a process at plan time: {a}"))
    monkeypatch.setattr(engine_holdings, "holdings_of", lambda cfg, *found: read.append(found) or "holdings")
    try:
        assert engine_holdings.read_holdings(None, f"unix://{tmp_path / 'docker.sock'}") == "holdings"
    finally:
        engine.shutdown()
    containers, networks, services = DEV_RUNNING
    assert read == [(containers, networks, services if manager else [])]


def test_an_engine_that_does_not_answer_is_none(tmp_path: Path) -> None:
    assert engine_holdings.read_holdings(None, f"unix://{tmp_path / 'nothing.sock'}") is None
