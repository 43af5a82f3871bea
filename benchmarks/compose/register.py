"""The dev stack's Consul writes, for the compose side of benchmarks.converge (run by its one-shot services).

`kv`: once Consul has a leader and its servers (components/consul_readiness.py, what the stack's
`consul-ready` runs), the app's settings, as the stack's `catalog-kv` writes them. `catalog`: Redis and
web as external services of one catalog node, at their addresses on the shared network, as the
stack's `catalog-node`, `catalog-redis` and `catalog-web` register them. Standard library only.
"""
from __future__ import annotations

import json
import os
import socket
import sys
import urllib.request

sys.path.insert(0, "/opt/bench")
from consul_readiness import wait_until_ready  # noqa: E402 (mounted beside this file)

CONSUL = os.environ["CONSUL_HTTP_ADDR"]


def put(path: str, body: bytes) -> None:
    request = urllib.request.Request(f"{CONSUL}{path}", data=body, method="PUT")
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


def settings() -> None:
    wait_until_ready(CONSUL, int(os.environ["CONSUL_EXPECTED_SERVERS"]), timeout=180)
    prefix = os.environ["KV_PREFIX"]
    for key, value in (("greeting", os.environ["GREETING"]), ("workers", os.environ["WORKERS"])):
        put(f"/v1/kv/{prefix}{key}", value.encode())


def catalog() -> None:
    node, address = os.environ["CATALOG_NODE"], os.environ["CATALOG_NODE_ADDRESS"]
    for service, port in (("redis", 6379), ("web", 5000)):
        registration = {
            "Node": node,
            "Address": address,
            "Service": {"ID": service, "Service": service, "Address": socket.gethostbyname(service), "Port": port},
        }
        put("/v1/catalog/register", json.dumps(registration).encode())


if __name__ == "__main__":
    {"kv": settings, "catalog": catalog}[sys.argv[1]]()
