"""What the service mesh costs a call: `python -m benchmarks.mesh [--requests N] [--seconds S] [--out FILE]`.

On the real engine, a Consul server of this project's image with its CA on (the flags the stacks give
theirs with `consulMesh`), one `distributed_app` worker of our image registered with a sidecar, and
Consul's built-in proxy as the worker's sidecar (in its network namespace) and as the client's
(`-service distributed_client -upstream distributed_app:9191`). A load container in the client's
network namespace calls the worker's page both ways, side by side in one run, rounds alternating:
direct (`http://<worker>:8080/`, what the stacks do without the mesh) and through the mesh
(`http://127.0.0.1:9191/`: client proxy, mutual TLS, worker proxy, worker). Each call opens a new
connection, as the client does. Per path: latency p50/p95 of `--requests` calls one after the other,
and calls per second with CONCURRENCY threads for `--seconds`; then mesh/direct ratios.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import docker
import requests

from benchmarks.engine_measures import machine, percentile, until
from components.consul_server import HTTP_PORT, ConsulServerArgs, agent_command
from components.mesh_sidecar import SIDECAR_PORT, UPSTREAM_PORT
from tests.harness.local_images import build_consul_image, build_worker_image

DEFAULT_OUT = Path(__file__).parent / "results" / "mesh.json"
SUBNET = "10.213.81.0/24"
PREFIX = "bench-mesh"
WORKER_PORT = 8080
CONCURRENCY = 8
ROUNDS = 3
# Runs in the load container (our worker image has Python): latencies of sequential calls, then
# calls per second from threads, each call a new connection.
LOAD = """
import json, sys, threading, time, urllib.request
url, count, seconds, threads = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
def call():
    with urllib.request.urlopen(url, timeout=5) as response:
        response.read()
for _ in range(20):
    call()
latencies = []
for _ in range(count):
    started = time.perf_counter(); call(); latencies.append(time.perf_counter() - started)
done, errors, stop = [0] * threads, [0] * threads, time.monotonic() + seconds
def work(index):
    while time.monotonic() < stop:
        try:
            call(); done[index] += 1
        except OSError:
            errors[index] += 1
started = time.monotonic()
workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
[w.start() for w in workers]; [w.join() for w in workers]
print(json.dumps({"latencies": latencies, "calls": sum(done), "errors": sum(errors), "seconds": time.monotonic() - started}))
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000, help="sequential calls a path and round, for latency")
    parser.add_argument("--seconds", type=float, default=10, help="seconds a path and round of concurrent calls, for throughput")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--smallest", action="store_true", help="one round of 50 calls and 1 s")
    arguments = parser.parse_args(argv)
    rounds = 1 if arguments.smallest else ROUNDS
    if arguments.smallest:
        arguments.requests, arguments.seconds = 50, 1
    engine = docker.from_env(timeout=300)
    consul_image, worker_image = build_consul_image(engine), build_worker_image(engine)
    network = engine.networks.create(f"{PREFIX}-net", ipam=docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=SUBNET)]))
    containers: list = []

    def run(image: str, command: list[str], name: str, **options) -> docker.models.containers.Container:
        container = engine.containers.run(image, command, name=f"{PREFIX}-{name}", detach=True, **options)
        containers.append(container)
        return container

    try:
        server = ConsulServerArgs(
            node_name="consul-1", container_name=f"{PREFIX}-consul", datacenter="dc1", bootstrap_expect=1,
            retry_join=[], image=consul_image, network_name=network.name, connect=True,
        )
        run(consul_image, agent_command(server), "consul", hostname="consul-1", network=network.name,
            environment={"CONSUL_ALLOW_PRIVILEGED_PORTS": "yes"})
        consul_ip = address_of(engine, f"{PREFIX}-consul", network.name)
        api = f"http://{consul_ip}:{HTTP_PORT}"
        until(lambda: has_leader(api), 60, "a Consul leader")
        agent = {"CONSUL_HTTP_ADDR": api}
        worker = run(worker_image, ["python", "app.py"], "worker", hostname="server1", network=network.name,
                     environment={**agent, "SERVICE_ID": "server1", "SIDECAR_PORT": str(SIDECAR_PORT), "CHECK_INTERVAL": "1s"})
        until(lambda: requests.get(f"{api}/v1/agent/service/server1-sidecar-proxy", timeout=2).ok, 60, "the worker registered with its sidecar")
        run(consul_image, ["consul", "connect", "proxy", "-sidecar-for", "server1"], "worker-sidecar",
            network_mode=f"container:{worker.id}", environment=agent)
        client = run(consul_image, ["consul", "connect", "proxy", "-service", "distributed_client", "-upstream", f"distributed_app:{UPSTREAM_PORT}"],
                     "client-sidecar", network=network.name, environment=agent)
        worker_ip = address_of(engine, f"{PREFIX}-worker", network.name)
        paths = {"direct": f"http://{worker_ip}:{WORKER_PORT}/", "mesh": f"http://127.0.0.1:{UPSTREAM_PORT}/"}
        load = ["python", "-c", LOAD]
        until(lambda: load_exits_zero(engine, worker_image, client, paths["mesh"]), 60, "a call through the mesh")
        measured: dict[str, list[dict]] = {path: [] for path in paths}
        for _ in range(rounds):
            for path, url in paths.items():
                output = engine.containers.run(
                    worker_image, [*load, url, str(arguments.requests), str(arguments.seconds), str(CONCURRENCY)],
                    network_mode=f"container:{client.id}", remove=True,
                )
                measured[path].append(json.loads(output.decode().strip().splitlines()[-1]))
    finally:
        for container in reversed(containers):
            container.remove(force=True)
        network.remove()
    rows = {path: summary(runs) for path, runs in measured.items()}
    results = {
        "machine": machine(),
        "measured_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "rounds": rounds, "requests": arguments.requests, "seconds": arguments.seconds, "concurrency": CONCURRENCY,
        "proxy": "builtin",
        "rows": rows,
        "mesh_over_direct": {
            "latency_p50": round(rows["mesh"]["latency_ms"]["p50"] / rows["direct"]["latency_ms"]["p50"], 2),
            "latency_p95": round(rows["mesh"]["latency_ms"]["p95"] / rows["direct"]["latency_ms"]["p95"], 2),
            "calls_per_second": round(rows["mesh"]["calls_per_second"] / rows["direct"]["calls_per_second"], 2),
        },
    }
    arguments.out.parent.mkdir(parents=True, exist_ok=True)
    arguments.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results["rows"], indent=2), json.dumps(results["mesh_over_direct"]))


def summary(runs: list[dict]) -> dict:
    latencies = [latency for run in runs for latency in run["latencies"]]
    calls, seconds = sum(run["calls"] for run in runs), sum(run["seconds"] for run in runs)
    return {
        "latency_ms": {"p50": round(1000 * percentile(latencies, 0.5), 3), "p95": round(1000 * percentile(latencies, 0.95), 3)},
        "calls_per_second": round(calls / seconds, 1),
        "calls": calls,
        "errors": sum(run["errors"] for run in runs),
    }


def address_of(engine: docker.DockerClient, container: str, network: str) -> str:
    return engine.api.inspect_container(container)["NetworkSettings"]["Networks"][network]["IPAddress"]


def has_leader(api: str) -> bool:
    try:
        return bool(requests.get(f"{api}/v1/status/leader", timeout=2).json())
    except requests.RequestException:
        return False


def load_exits_zero(engine: docker.DockerClient, image: str, client, url: str) -> bool:
    try:
        engine.containers.run(image, ["python", "-c", f"import urllib.request; urllib.request.urlopen({url!r}, timeout=3)"],
                              network_mode=f"container:{client.id}", remove=True)
        return True
    except docker.errors.ContainerError:
        return False


if __name__ == "__main__":
    main()
