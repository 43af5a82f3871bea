"""Discovery latency on the real engine: `python -m benchmarks.discovery [--trials N | --smallest] [--baseline REV] [--out FILE]`.

A Consul agent and, per trial, one distributed_app worker (this project's image) on a network of
their own. For each trial, from the moment `docker start` returns: when the worker's own /health
first answers, when Consul lists it passing, when Consul DNS answers with its address; then from
SIGTERM: when DNS no longer does (polled while the worker stops) and when the container has exited.
Side by side in the same run, the worker's registered check every 5 s (the app's default) and every
1 s (what the stacks deploy). `--baseline REV`: the worker as it was at git revision REV too, trials
alternating with this one's. p50 and p95 over the trials.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import dns.resolver
import docker
import requests

from tests.harness.local_images import _build, build_consul_image, build_worker_image

DEFAULT_OUT = Path(__file__).parent / "results" / "discovery.json"
SUBNET = "10.213.77.0/24"
PREFIX = "bench-discovery"
POLL_SECONDS = 0.02
CHECK_INTERVALS = ("5s", "1s")
PROJECT_DIR = Path(__file__).resolve().parents[1]
BASELINE_IMAGE = "orchestration-e2e/distributed_app:baseline"


def until(probe: Callable[[], bool], timeout: float = 30) -> float:
    """Polls `probe` until true; returns the monotonic time it first was."""
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark probe timed out")
        time.sleep(POLL_SECONDS)
    return time.monotonic()


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=0.5).ok
    except requests.RequestException:
        return False


def in_dns(resolver: dns.resolver.Resolver, address: str) -> bool:
    try:
        return address in {record.address for record in resolver.resolve("distributed_app.service.consul", "A")}
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer, dns.exception.Timeout, dns.resolver.NoNameservers):
        return False


def trial(engine: docker.DockerClient, network: str, consul: str, resolver: dns.resolver.Resolver, image: str, index: int, interval: str) -> dict[str, float]:
    worker = engine.containers.create(
        image,
        name=f"{PREFIX}-worker{index}",
        environment={"CONSUL_HTTP_ADDR": f"http://{PREFIX}-consul:8500", "SERVICE_ID": f"w{index}", "CHECK_INTERVAL": interval},
        network=network,
        ports={"8080/tcp": ("127.0.0.1", None)},
    )
    try:
        worker.start()
        started = time.monotonic()
        worker.reload()
        port = worker.attrs["NetworkSettings"]["Ports"]["8080/tcp"][0]["HostPort"]
        address = worker.attrs["NetworkSettings"]["Networks"][network]["IPAddress"]
        healthy = until(lambda: answers(f"http://127.0.0.1:{port}/health"))
        passing = until(lambda: any(
            entry["Service"]["ID"] == f"w{index}"
            for entry in requests.get(f"{consul}/v1/health/service/distributed_app", params={"passing": "true"}, timeout=2).json()
        ))
        in_answer = until(lambda: in_dns(resolver, address))
        stopping = time.monotonic()
        worker.kill(signal="SIGTERM")  # what `docker stop` sends first; it then waits for the exit
        gone = until(lambda: not in_dns(resolver, address))
        worker.wait(timeout=30)
        exited = time.monotonic()
        return {
            "start_to_health": healthy - started,
            "health_to_passing": passing - healthy,
            "health_to_dns": in_answer - healthy,
            "sigterm_to_gone_from_dns": gone - stopping,
            "sigterm_to_exit": exited - stopping,
        }
    except TimeoutError as error:
        raise TimeoutError(f"{error} ({image}, check every {interval}); the worker's log:\n{worker.logs().decode(errors='replace')[-2000:]}") from None
    finally:
        worker.remove(force=True, v=True)


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50": round(statistics.median(ordered), 3), "p95": round(p95, 3)}


def build_baseline_image(revision: str) -> str:
    """The worker's image as apps/ was at `revision` (built the way apps/build.sh builds it)."""
    with tempfile.TemporaryDirectory() as folder:
        archive = subprocess.run(["git", "archive", revision, "apps"], cwd=PROJECT_DIR, check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
        _build(["bash", f"{folder}/apps/build.sh", "distributed_app", BASELINE_IMAGE], {})
    return BASELINE_IMAGE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--smallest", action="store_true", help="one trial a check interval")
    parser.add_argument("--baseline", metavar="REV", help="also the worker as it was at this git revision, alternating")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    arguments = parser.parse_args(argv)
    if arguments.smallest:
        arguments.trials = 1
    engine = docker.from_env(timeout=300)
    consul_image, worker_image = build_consul_image(engine), build_worker_image(engine)
    images = {"this": worker_image}
    if arguments.baseline:
        images["baseline"] = build_baseline_image(arguments.baseline)
    network = engine.networks.create(f"{PREFIX}-net", ipam=docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=SUBNET)]))
    agent = engine.containers.run(
        consul_image,
        ["consul", "agent", "-dev", "-client", "0.0.0.0", "-dns-port", "8600"],
        name=f"{PREFIX}-consul",
        network=network.name,
        ports={"8500/tcp": ("127.0.0.1", None), "8600/udp": ("127.0.0.1", None)},
        detach=True,
    )
    try:
        agent.reload()
        ports = agent.attrs["NetworkSettings"]["Ports"]
        consul = f"http://127.0.0.1:{ports['8500/tcp'][0]['HostPort']}"
        until(lambda: answers(f"{consul}/v1/status/leader") and bool(requests.get(f"{consul}/v1/status/leader", timeout=1).json()))
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers, resolver.port, resolver.lifetime = ["127.0.0.1"], int(ports["8600/udp"][0]["HostPort"]), 1
        results: dict[str, dict] = {name: {} for name in images}
        for interval in CHECK_INTERVALS:
            trials: dict[str, list[dict[str, float]]] = {name: [] for name in images}
            for index in range(arguments.trials):
                for name, image in images.items():
                    trials[name].append(trial(engine, network.name, consul, resolver, image, index, interval))
            for name, done in trials.items():
                results[name][interval] = {measure: percentiles([t[measure] for t in done]) for measure in done[0]}
    finally:
        agent.remove(force=True, v=True)
        network.remove()
    load = os.getloadavg()
    print(f"discovery latency, {arguments.trials} trials; machine: {os.cpu_count()} cores, load {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    print(f"{'worker':9} {'check every':12} {'measure':26} {'p50 s':>7} {'p95 s':>7}")
    for name, by_interval in results.items():
        for interval, measures in by_interval.items():
            for measure, figures in measures.items():
                print(f"{name:9} {interval:12} {measure:26} {figures['p50']:>7} {figures['p95']:>7}")
    arguments.out.parent.mkdir(parents=True, exist_ok=True)
    document = {"trials": arguments.trials, "cores": os.cpu_count(), "load_average": load, "results": results.pop("this")}
    if arguments.baseline:
        document["baseline"] = {"revision": arguments.baseline, "results": results["baseline"]}
    arguments.out.write_text(json.dumps(document, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
