"""The workers and the client in Consul's service mesh, as processes beside a real Consul agent and Consul's
built-in proxy: a worker listens on loopback and reports to a TTL check, Consul registers its sidecar, the
client registers with an upstream, and its report comes through the two proxies while an intention allows it."""
import socket

import pytest

from .support import Process, free_port, wait_until

SERVICE = "distributed_app"


@pytest.fixture
def start_proxy(consul_bin, tmp_path):
    started = []

    def start(consul, *arguments: str) -> Process:
        process = Process([consul_bin, "connect", "proxy", "-http-addr", consul.url, *arguments], tmp_path / f"proxy-{len(started)}.log")
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


def refused(address: str, port: int) -> bool:
    try:
        socket.create_connection((address, port), timeout=2).close()
        return False
    except OSError:
        return True


def test_a_worker_in_the_mesh_listens_on_loopback_checks_itself_and_gets_a_sidecar(consul, start_worker) -> None:
    sidecar_port = free_port()
    worker = start_worker(consul, "server1", "127.0.0.2", LISTEN_ADDRESS="127.0.0.1", SIDECAR_PORT=sidecar_port)
    wait_until(lambda: consul.passing_ids(SERVICE) == ["server1"], 15, "server1 passing its TTL check")
    [check] = [c for c in consul.get("/v1/agent/checks").json().values() if c["ServiceID"] == "server1"]
    assert (check["CheckID"], check["Type"]) == ("service:server1", "ttl")
    sidecar = consul.get("/v1/agent/service/server1-sidecar-proxy").json()
    assert (sidecar["Kind"], sidecar["Address"], sidecar["Port"]) == ("connect-proxy", "127.0.0.2", sidecar_port)
    assert (sidecar["Proxy"]["LocalServiceAddress"], sidecar["Proxy"]["LocalServicePort"]) == ("127.0.0.1", worker.port)
    assert refused("127.0.0.2", worker.port)  # only loopback's 127.0.0.1, where its sidecar reaches it


def test_the_clients_report_comes_through_the_proxies_while_an_intention_allows_it(consul, start_worker, start_app, start_proxy) -> None:
    worker_sidecar, upstream = free_port(), free_port()
    start_worker(consul, "server1", "127.0.0.2", LISTEN_ADDRESS="127.0.0.1", SIDECAR_PORT=worker_sidecar)
    wait_until(lambda: consul.passing_ids(SERVICE) == ["server1"], 15, "server1 passing")
    start_proxy(consul, "-sidecar-for", "server1")
    consul.put("/v1/config", json={"Kind": "service-intentions", "Name": "*", "Sources": [{"Name": "*", "Action": "deny"}]})
    consul.put("/v1/config", json={"Kind": "service-intentions", "Name": SERVICE, "Sources": [{"Name": "distributed_client", "Action": "allow"}]})
    client = start_app(
        "distributed_client", CONSUL_HTTP_ADDR=consul.url, CONSUL_DNS_PORT=consul.dns_port, INTERVAL="1",
        SERVICE_ID="client1", SIDECAR_PORT=free_port(), UPSTREAM=f"{SERVICE}:{upstream}", APP_URL=f"http://127.0.0.1:{upstream}/",
    )
    registration = wait_until(lambda: consul.get("/v1/agent/service/client1-sidecar-proxy").json(), 15, "the client's sidecar registered")
    assert [(u["DestinationName"], u["LocalBindPort"]) for u in registration["Proxy"]["Upstreams"]] == [(SERVICE, upstream)]
    start_proxy(consul, "-sidecar-for", "client1")
    wait_until(lambda: "App at" in client.output() and "from server1" in client.output().split("App at")[-1], 20, "the app's answer in a report")
    # Its first report waited for the sidecar it registered, started after it, to open the upstream.
    first_call = client.output().split("App at", 1)[1].splitlines()[0]
    assert "failed:" not in first_call, client.output()

    consul.put("/v1/config", json={"Kind": "service-intentions", "Name": SERVICE, "Sources": [{"Name": "distributed_client", "Action": "deny"}]})
    wait_until(lambda: "failed:" in client.output().split("App at")[-1], 10, "the denied call reported as failed")


def test_a_worker_reached_at_its_nodes_address_gets_a_sidecar_listening_on_every_address(consul, start_worker, start_proxy) -> None:
    """The cluster's case: the host publishes the sidecar's port on the node's address, so the worker registers
    no address of its own; the built-in proxy binds the sidecar's registered address, so it listens on every
    address of its namespace (where the host's published port reaches it), and its check is at the node's."""
    sidecar_port = free_port()
    start_worker(consul, "server1", "", LISTEN_ADDRESS="127.0.0.1", SIDECAR_PORT=sidecar_port, NODE_ADDRESS="127.0.0.1")
    wait_until(lambda: consul.passing_ids(SERVICE) == ["server1"], 15, "server1 passing its TTL check")
    sidecar = consul.get("/v1/agent/service/server1-sidecar-proxy").json()
    assert (sidecar["Address"], sidecar["Port"]) == ("", sidecar_port)
    start_proxy(consul, "-sidecar-for", "server1")
    # Passing once the proxy listens: the check dials the node's address, 127.0.0.1, at the sidecar's port.
    [entry] = wait_until(lambda: consul.get(f"/v1/health/connect/{SERVICE}", passing="true").json(), 20, "the sidecar passing")
    assert (entry["Service"]["Address"], entry["Node"]["Address"]) == ("", "127.0.0.1")
    assert not refused("127.0.0.3", sidecar_port)  # any address: 0.0.0.0, not one the registration names
