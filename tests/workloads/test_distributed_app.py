"""distributed_app workers against a real Consul agent: registration, health check, DNS, KV, shutdown."""
import signal
import time

import pytest
import requests

from .support import free_port, wait_until

SERVICE = "distributed_app"
DNS_NAME = f"{SERVICE}.service.consul"


def dns_view(consul) -> tuple:
    """(A addresses, SRV ports) of the service in Consul's DNS."""
    return (sorted(record.address for record in consul.dns(DNS_NAME, "A")),
            sorted(record.port for record in consul.dns(DNS_NAME, "SRV")))


def test_worker_registers_and_turns_passing(consul, start_worker):
    # Default check interval (5s), as deployed.
    worker = start_worker(consul, "server1", "127.0.0.2", CHECK_INTERVAL="5s", SERVICE_TAGS="web,v1")

    wait_until(lambda: consul.catalog_ids(SERVICE) == ["server1"], 15, "server1 in the catalog")
    # The worker saw its check's URL answer before registering: passing from the start, not after the
    # check's first run at a random point in its 5 s.
    assert [check["Status"] for check in consul.get("/v1/agent/checks").json().values()] == ["passing"]
    service = consul.get("/v1/agent/service/server1").json()
    assert (service["Service"], service["Address"], service["Port"], service["Tags"]) == (
        SERVICE, "127.0.0.2", worker.port, ["web", "v1"])
    checks = consul.get("/v1/agent/checks").json().values()
    assert [(c["ServiceID"], c["Type"], c["Interval"], c["Timeout"]) for c in checks] == [
        ("server1", "http", "5s", "2s")]

    wait_until(lambda: consul.passing_ids(SERVICE) == ["server1"], 15, "server1's check to pass")
    assert dns_view(consul) == (["127.0.0.2"], [worker.port])
    assert requests.get(f"http://127.0.0.2:{worker.port}/health", timeout=5).text == "ok"


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_second_worker_joins_and_stopped_worker_deregisters(consul, start_worker, stop_signal):
    first = start_worker(consul, "server1", "127.0.0.2")
    second = start_worker(consul, "server2", "127.0.0.3")
    wait_until(lambda: consul.passing_ids(SERVICE) == ["server1", "server2"], 15, "both workers passing")
    wait_until(lambda: dns_view(consul) == (["127.0.0.2", "127.0.0.3"], sorted([first.port, second.port])),
               10, "both workers in DNS")

    assert first.stop(stop_signal) == 0, first.output()
    assert "deregistered server1" in first.output()
    assert "server1" not in consul.get("/v1/agent/services").json()
    # The agent passes its change on to the catalog (which DNS answers from) right after, not at once.
    wait_until(lambda: consul.catalog_ids(SERVICE) == ["server2"], 5, "server1 gone from the catalog")
    assert dns_view(consul) == (["127.0.0.3"], [second.port])


def test_worker_whose_advertised_address_does_not_answer_is_never_said_passing(consul, start_worker):
    # SERVICE_PORT names a port nothing listens on: the check's URL, which the worker tries itself first.
    worker = start_worker(consul, "server1", "127.0.0.2", SERVICE_PORT=str(free_port()))
    wait_until(lambda: "did not answer the worker itself" in worker.output(), 15, "the worker's own try")
    wait_until(lambda: consul.catalog_ids(SERVICE) == ["server1"], 5, "server1 registered")
    seen = set()
    deadline = time.monotonic() + 3  # three runs of its 1 s check
    while time.monotonic() < deadline:
        seen.update(check["Status"] for check in consul.get("/v1/agent/checks").json().values())
        time.sleep(0.05)
    assert seen == {"critical"}
    assert consul.passing_ids(SERVICE) == []


def test_worker_serves_its_kv_configuration(consul, start_worker):
    consul.put("/v1/kv/distributed_app/dev/greeting", data="Hola")
    consul.put("/v1/kv/distributed_app/dev/db/host", data="db.internal")
    consul.put("/v1/kv/distributed_app/other", data="not under the prefix")
    worker = start_worker(consul, "server1", "127.0.0.2", CONSUL_KV_PREFIX="distributed_app/dev/")

    page = wait_until(lambda: requests.get(f"http://127.0.0.2:{worker.port}/", timeout=2).json(), 15,
                      "the worker's page")
    assert page["service_id"] == "server1"
    assert page["greeting"] == "Hola"
    assert page["message"].startswith("Hola from server1 on ")
    assert page["config"] == {"greeting": "Hola", "db/host": "db.internal"}
    assert page["hostname"]


def test_worker_accepts_consul_address_without_scheme_and_defaults(consul, start_app):
    # No SERVICE_ADDRESS, SERVICE_PORT or SERVICE_NAME: advertises the address that routes to Consul.
    port = free_port()
    start_app("distributed_app", CONSUL_HTTP_ADDR=f"127.0.0.1:{consul.http_port}", SERVICE_ID="server7",
              PORT=port, CHECK_INTERVAL="1s")
    wait_until(lambda: consul.passing_ids(SERVICE) == ["server7"], 15, "server7 passing")
    service = consul.get("/v1/agent/service/server7").json()
    assert (service["Address"], service["Port"]) == ("127.0.0.1", port)


def assert_one_line_failure(process, expected: str, timeout: float):
    process.popen.wait(timeout)
    output = process.output()
    errors = [line for line in output.splitlines() if " ERROR " in line]
    assert process.popen.returncode == 1, output
    assert len(errors) == 1 and expected in errors[0], output
    assert "Traceback" not in output


def test_worker_without_required_env_fails_clearly(start_app):
    worker = start_app("distributed_app", PORT=free_port())
    assert_one_line_failure(
        worker, "missing required environment variable(s): CONSUL_HTTP_ADDR, SERVICE_ID", 10)


def test_worker_gives_up_on_unreachable_consul(start_app):
    worker = start_app("distributed_app", CONSUL_HTTP_ADDR=f"127.0.0.1:{free_port()}", SERVICE_ID="server1",
                       PORT=free_port(), CONSUL_WAIT_SECONDS="2")
    assert_one_line_failure(worker, "not ready after 2s: Connection refused", 15)


def test_worker_with_a_ca_file_that_is_not_there_fails_clearly(start_app):
    worker = start_app("distributed_app", CONSUL_HTTP_ADDR="https://127.0.0.1:8501", SERVICE_ID="server1",
                       PORT=free_port(), CONSUL_CACERT="/nonexistent/ca.pem")
    assert_one_line_failure(worker, "CONSUL_CACERT names no file: /nonexistent/ca.pem", 10)


def test_worker_registered_on_one_server_is_seen_across_the_cluster(consul_cluster, start_worker):
    first, second, third = consul_cluster
    start_worker(first, "server1", "127.0.0.2")
    wait_until(lambda: third.passing_ids(SERVICE) == ["server1"], 20, "server1 passing, seen from consul3")
    assert second.catalog_ids(SERVICE) == ["server1"]
    # A follower answers DNS from its own replica of the catalog (stale reads), a moment behind the leader.
    wait_until(lambda: [record.address for record in third.dns(DNS_NAME, "A")] == ["127.0.0.2"], 5,
               "server1 in consul3's DNS")


def test_worker_with_a_greeting_that_is_not_text_fails_clearly(consul, start_worker):
    consul.put("/v1/kv/distributed_app/dev/greeting", data=b"\xff\xfe\x00binary")
    consul.put("/v1/kv/distributed_app/dev/blob", data=b"\xff")  # not read as text: no reason to refuse it
    worker = start_worker(consul, "server1", "127.0.0.2", CONSUL_KV_PREFIX="distributed_app/dev/")
    assert_one_line_failure(worker, "KV distributed_app/dev/greeting holds 9 bytes that are not UTF-8 text", 15)
    assert consul.catalog_ids(SERVICE) == []


def test_worker_serves_kv_values_that_are_not_text_as_best_it_can(consul, start_worker):
    consul.put("/v1/kv/distributed_app/dev/blob", data=b"ok\xff")
    worker = start_worker(consul, "server1", "127.0.0.2", CONSUL_KV_PREFIX="distributed_app/dev/")
    page = wait_until(lambda: requests.get(f"http://127.0.0.2:{worker.port}/", timeout=2).json(), 15, "the worker's page")
    assert (page["greeting"], page["config"]) == ("Hello", {"blob": "ok\ufffd"})
