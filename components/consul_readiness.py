"""Waits until a Consul cluster has a leader and the expected number of servers.

The ConsulCluster's readiness command feeds this file to `python3 -`, with
CONSUL_HTTP_ADDR, CONSUL_EXPECTED_SERVERS and CONSUL_READY_TIMEOUT set, and with TLS
CONSUL_CACERT_PEM, the CA that signed the servers' certificates. Standard library
only: it runs wherever `pulumi up` runs.
"""
from __future__ import annotations

import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.request


def cluster_state(http_address: str, context: ssl.SSLContext | None = None) -> tuple[str, list[str]]:
    """The leader's address ('' if none) and the raft peers, from the status API."""
    base = http_address if "://" in http_address else f"http://{http_address}"
    with urllib.request.urlopen(f"{base}/v1/status/leader", timeout=5, context=context) as response:
        leader = json.load(response)
    with urllib.request.urlopen(f"{base}/v1/status/peers", timeout=5, context=context) as response:
        peers = json.load(response)
    return leader, peers


def wait_until_ready(
    http_address: str, expected_servers: int, timeout: float, interval: float = 0.5, ca_pem: str | None = None
) -> str:
    """Returns the leader once there are `expected_servers` peers; raises TimeoutError with the last state."""
    deadline = time.monotonic() + timeout
    last_state = "no answer yet"
    context = ssl.create_default_context(cadata=ca_pem) if ca_pem else None
    while True:
        try:
            leader, peers = cluster_state(http_address, context)
            if leader and len(peers) >= expected_servers:
                return leader
            last_state = f"leader {leader or 'none'}, {len(peers)} of {expected_servers} servers"
        except (OSError, urllib.error.URLError, ValueError) as error:
            last_state = f"unreachable ({error})"
        if time.monotonic() >= deadline:
            raise TimeoutError(f"Consul at {http_address} not ready after {timeout:.0f}s: {last_state}")
        time.sleep(interval)


def main() -> int:
    http_address = os.environ["CONSUL_HTTP_ADDR"]
    expected = int(os.environ["CONSUL_EXPECTED_SERVERS"])
    timeout = float(os.environ.get("CONSUL_READY_TIMEOUT", "180"))
    try:
        leader = wait_until_ready(http_address, expected, timeout, ca_pem=os.environ.get("CONSUL_CACERT_PEM"))
    except TimeoutError as error:
        print(error, file=sys.stderr)
        return 1
    print(f"leader {leader}, {expected} servers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
