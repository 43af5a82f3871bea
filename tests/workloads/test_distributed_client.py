"""distributed_client's report against a real Consul agent with real workers."""
import json
import socket
import subprocess
import sys
import threading

import dns.message
import pytest

from .support import APPS, app_env, free_port, wait_until

CLIENT = str(APPS / "distributed_client" / "app.py")


def run_client(consul, *args, **variables) -> subprocess.CompletedProcess:
    consul_variables = {"CONSUL_HTTP_ADDR": consul.url, "CONSUL_DNS_PORT": consul.dns_port} if consul else {}
    env = app_env(**consul_variables, **variables)
    return subprocess.run([sys.executable, CLIENT, *args], env=env, capture_output=True, text=True,
                          timeout=30)


def json_report(consul, **variables) -> dict:
    result = run_client(consul, "--json", **variables)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_report_lists_exactly_the_healthy_workers(consul, start_worker):
    workers = [start_worker(consul, "server1", "127.0.0.2"), start_worker(consul, "server2", "127.0.0.3")]
    # Registered, but its check can never pass: must be left out of both views.
    consul.put("/v1/agent/service/register", json={
        "ID": "broken", "Name": "distributed_app", "Address": "127.0.0.4", "Port": free_port(),
        "Check": {"HTTP": f"http://127.0.0.4:{free_port()}/health", "Interval": "1s"}})
    wait_until(lambda: consul.passing_ids("distributed_app") == ["server1", "server2"], 15,
               "both workers passing")

    report = json_report(consul)

    assert report["registered"] == 3
    assert report["http"] == [
        {"id": worker.service_id, "node": "dev-node", "address": worker.address, "port": worker.port}
        for worker in workers
    ]
    assert report["dns_a"] == ["127.0.0.2", "127.0.0.3"]
    assert [(r["address"], r["port"]) for r in report["dns_srv"]] == [(w.address, w.port) for w in workers]
    assert all(r["target"].endswith(".consul.") for r in report["dns_srv"])
    assert report["kv"] == {}


def test_report_says_plainly_when_nothing_is_registered(consul):
    report = json_report(consul)
    assert (report["registered"], report["http"], report["dns_a"], report["dns_srv"]) == (0, [], [], [])

    human = run_client(consul)
    assert human.returncode == 0, human.stderr
    assert "no instance of 'distributed_app' is registered" in human.stdout
    assert "no records" in human.stdout


def test_report_includes_the_kv_configuration(consul):
    consul.put("/v1/kv/distributed_app/dev/greeting", data="Hola")
    consul.put("/v1/kv/distributed_app/dev/replicas", data="3")
    consul.put("/v1/kv/distributed_app/prod/greeting", data="not this one")

    report = json_report(consul, CONSUL_KV_PREFIX="distributed_app/dev/", REPORT_FORMAT="json")
    assert report["kv"] == {"greeting": "Hola", "replicas": "3"}

    human = run_client(consul, CONSUL_KV_PREFIX="distributed_app/dev/")
    assert "greeting = Hola" in human.stdout


def test_client_repeats_every_interval_until_sigterm(consul, start_app):
    client = start_app("distributed_client", CONSUL_HTTP_ADDR=consul.url, CONSUL_DNS_PORT=consul.dns_port,
                       INTERVAL="0.2", REPORT_FORMAT="json")
    wait_until(lambda: client.output().count('"http": []') >= 3, 15, "three reports")
    assert client.stop() == 0, client.output()


def assert_one_line_failure(result: subprocess.CompletedProcess, expected: str):
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and expected in result.stderr, result.stderr


def test_client_without_consul_address_fails_clearly():
    assert_one_line_failure(run_client(None), "missing required environment variable CONSUL_HTTP_ADDR")


def test_client_with_unreachable_consul_fails_clearly():
    result = run_client(None, CONSUL_HTTP_ADDR=f"127.0.0.1:{free_port()}")
    assert_one_line_failure(result, "is unreachable: Connection refused")


def test_client_with_a_ca_file_that_is_not_there_fails_clearly():
    result = run_client(None, CONSUL_HTTP_ADDR="https://127.0.0.1:8501", CONSUL_CACERT="/nonexistent/ca.pem")
    assert_one_line_failure(result, "CONSUL_CACERT names no file: /nonexistent/ca.pem")


def test_report_counts_the_workers_the_stack_expects(consul):
    consul.put("/v1/kv/distributed_app/dev/workers", data="2")
    report = json_report(consul, CONSUL_KV_PREFIX="distributed_app/dev/")
    assert (report["expected"], report["kv"]) == (2, {"workers": "2"})
    assert json_report(consul)["expected"] is None


@pytest.mark.parametrize("workers", ["two", "-1", "1.5"])
def test_a_worker_count_that_is_not_a_whole_number_fails_clearly(consul, workers):
    consul.put("/v1/kv/distributed_app/dev/workers", data=workers)
    result = run_client(consul, CONSUL_KV_PREFIX="distributed_app/dev/")
    assert_one_line_failure(result, f"KV distributed_app/dev/workers holds {workers!r}, not a whole number of workers")


@pytest.fixture
def empty_dns():
    """A DNS server on a free port that answers every question with no records (NOERROR, empty)."""
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def answer():
        while not stop.is_set():
            try:
                wire, peer = server.recvfrom(4096)
            except socket.timeout:
                continue
            server.sendto(dns.message.make_response(dns.message.from_wire(wire)).to_wire(), peer)

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    server.close()


def test_a_dns_answer_with_no_records_for_healthy_workers_fails_clearly(consul, start_worker, empty_dns):
    start_worker(consul, "server1", "127.0.0.2")
    wait_until(lambda: consul.passing_ids("distributed_app") == ["server1"], 15, "server1 passing")
    result = run_client(None, CONSUL_HTTP_ADDR=consul.url, CONSUL_DNS_SERVER="127.0.0.1", CONSUL_DNS_PORT=empty_dns)
    assert_one_line_failure(
        result,
        f"DNS at 127.0.0.1:{empty_dns} answered distributed_app.service.consul with no records while Consul's HTTP API "
        "lists 1 healthy instance(s): are CONSUL_DNS_SERVER and CONSUL_DNS_PORT Consul's DNS interface?",
    )
