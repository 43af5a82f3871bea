"""Consul DNS throughput on the real engine: `python -m benchmarks.dns_throughput [--seconds N] [--out FILE] [--plot PNG]`.

A Consul server of this project's image, with the flags the stacks give theirs (DNS on 53 inside,
published on the host's loopback as the dev stack publishes it), and `distributed_app` registered
with two instances. dnsperf (Debian's package; this module installs nothing) sends as many queries
as it can keep outstanding (its default: 100) for `--seconds` each, one scenario after the other:
`distributed_app.service.consul` SRV from the host through the published port; then from inside a
container on the same network (dnsperf run in its network namespace), SRV and A straight to
Consul, and A for a container name to Docker's embedded DNS (127.0.0.11), the only place that
server answers. Per scenario: queries per second, errors (lost, or any answer but NOERROR),
latency percentiles from dnsperf's per-query log, and the CPU the generator and the server used.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import dns.resolver
import docker
import requests

from benchmarks.engine_measures import machine, percentile, until
from components.consul_server import DNS_PORT, DOCKER_EMBEDDED_DNS, HTTP_PORT, ConsulServerArgs, agent_command
from tests.harness.local_images import build_consul_image

DEFAULT_OUT = Path(__file__).parent / "results" / "dns_throughput.json"
DEFAULT_PLOT = Path(__file__).parent / "dns_throughput.png"
SUBNET = "10.213.79.0/24"
PREFIX = "bench-dns"
SERVICE = "distributed_app"
INSTANCES = {"bench-da-1": "10.213.79.201", "bench-da-2": "10.213.79.202"}
SERVICE_NAME = f"{SERVICE}.service.consul"
# What the Docker daemon reports its own process id in.
DOCKERD_PID_FILE = Path("/var/run/docker.pid")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Scenario:
    name: str
    server: str
    port: int
    query: str
    netns_pid: int | None
    """Run dnsperf in this process's network namespace; None: on the host."""
    server_pid: int
    """The answering process, whose CPU time is reported."""


def dnsperf(scenario: Scenario, seconds: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as scratch:
        queries, log = Path(scratch) / "queries", Path(scratch) / "log"
        queries.write_text(scenario.query + "\n")
        argv = ["dnsperf", "-s", scenario.server, "-p", str(scenario.port), "-d", str(queries), "-l", str(seconds), "-v"]
        if scenario.netns_pid is not None:
            # nsenter execs dnsperf in place, so its CPU time counts as this process's child's.
            argv = ["nsenter", f"--net=/proc/{scenario.netns_pid}/ns/net", *argv]
        server_cpu, generator_cpu = cpu_seconds(scenario.server_pid), children_cpu_seconds()
        started = time.monotonic()
        with log.open("w") as output:
            subprocess.run(argv, stdout=output, stderr=subprocess.PIPE, text=True, check=True, timeout=seconds + 60)
        wall = time.monotonic() - started
        server_cpu, generator_cpu = cpu_seconds(scenario.server_pid) - server_cpu, children_cpu_seconds() - generator_cpu
        return summarize(log.read_text(), wall, generator_cpu, server_cpu)


def summarize(log: str, wall: float, generator_cpu: float, server_cpu: float) -> dict[str, object]:
    """Figures from dnsperf's verbose log: a `> RCODE name type latency` line a response, `> T ...` a
    timeout, `> I ...` a query still outstanding when the time was up (not an error)."""
    latencies, error_answers = [], 0
    for line in log.splitlines():
        fields = line.split()
        if len(fields) < 2 or fields[0] != ">" or fields[1] in ("T", "I"):
            continue
        if fields[1] == "NOERROR":
            latencies.append(float(fields[4]))
        else:
            error_answers += 1
    statistics = {key: float(value) for key, value in re.findall(r"^\s*(Queries sent|Queries lost|Queries per second):\s+([\d.]+)", log, re.M)}
    lost = int(statistics["Queries lost"])
    return {
        "queries_sent": int(statistics["Queries sent"]),
        "answered": len(latencies),
        "errors": lost + error_answers,
        "lost": lost,
        "error_answers": error_answers,
        "qps": round(len(latencies) / wall if wall else 0, 1),
        "dnsperf_qps": round(statistics["Queries per second"], 1),
        "latency_ms": {
            name: round(percentile(latencies, fraction) * 1000, 3) if latencies else None
            for name, fraction in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))
        },
        "generator_cpu_share": round(generator_cpu / wall, 2),
        "server_cpu_share": round(server_cpu / wall, 2),
        "latencies_ms": [round(latency * 1000, 3) for latency in latencies[:: max(1, len(latencies) // 2000)]],
    }


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def has_leader(http: str) -> bool:
    try:
        return bool(requests.get(f"{http}/v1/status/leader", timeout=1).json())
    except (requests.RequestException, ValueError):
        return False


def srv_answers(address: str, port: int) -> int:
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers, resolver.port, resolver.lifetime = [address], port, 1
    try:
        return len(resolver.resolve(SERVICE_NAME, "SRV"))
    except dns.exception.DNSException:
        return 0


def plot(rows: list[dict[str, object]], path: Path, seconds: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot

    figure, (throughput, latency) = pyplot.subplots(1, 2, figsize=(12, 4.5))
    names = [row["scenario"] for row in rows]
    throughput.barh(names, [row["qps"] for row in rows], color="tab:blue")
    throughput.invert_yaxis()
    throughput.set_xlabel("answered queries per second")
    throughput.set_title(f"{seconds} s each, dnsperf, 100 outstanding")
    for row in rows:
        ordered = sorted(row["latencies_ms"])
        latency.plot(ordered, [(index + 1) / len(ordered) for index in range(len(ordered))], label=row["scenario"])
    latency.set_xscale("log")
    latency.set_xlabel("latency (ms, log)")
    latency.set_ylabel("fraction of answers")
    latency.set_title("latency distribution")
    latency.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--plot", type=Path, help=f"default: {DEFAULT_PLOT.name} beside the README, or beside --out with --smallest")
    parser.add_argument("--smallest", action="store_true", help="2 s a scenario")
    arguments = parser.parse_args(argv)
    if arguments.smallest:
        arguments.seconds = 2
    arguments.plot = arguments.plot or (arguments.out.with_suffix(".png") if arguments.smallest else DEFAULT_PLOT)
    for tool in ("dnsperf", "nsenter"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed; this benchmark installs nothing (apt-get install dnsperf util-linux)")
    engine = docker.from_env(timeout=300)
    image = build_consul_image(engine)
    network = engine.networks.create(f"{PREFIX}-net", ipam=docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=SUBNET)]))
    containers = []
    try:
        args = ConsulServerArgs(
            node_name="consul-1", container_name=f"{PREFIX}-consul", datacenter="dc1", bootstrap_expect=1,
            retry_join=[], image=image, network_name=network.name, recursors=[DOCKER_EMBEDDED_DNS],
        )
        consul = engine.containers.run(
            image, agent_command(args), name=args.container_name, hostname=args.node_name, network=network.name,
            environment={"CONSUL_ALLOW_PRIVILEGED_PORTS": "yes"}, ports={f"{DNS_PORT}/udp": ("127.0.0.1", None)}, detach=True,
        )
        containers.append(consul)
        # The client whose network namespace dnsperf borrows.
        client = engine.containers.run(image, ["sleep", "infinity"], name=f"{PREFIX}-client", network=network.name, detach=True)
        containers.append(client)
        consul.reload()
        client.reload()
        consul_ip = consul.attrs["NetworkSettings"]["Networks"][network.name]["IPAddress"]
        published = int(consul.attrs["NetworkSettings"]["Ports"][f"{DNS_PORT}/udp"][0]["HostPort"])
        http = f"http://{consul_ip}:{HTTP_PORT}"
        until(lambda: has_leader(http), 60, "a Consul leader")
        for service_id, address in INSTANCES.items():
            requests.put(f"{http}/v1/agent/service/register", json={"Name": SERVICE, "ID": service_id, "Address": address, "Port": 8080}, timeout=5).raise_for_status()
        until(lambda: srv_answers(consul_ip, DNS_PORT) == len(INSTANCES), 30, f"{len(INSTANCES)} SRV records")
        consul_pid, client_pid = consul.attrs["State"]["Pid"], client.attrs["State"]["Pid"]
        dockerd_pid = int(DOCKERD_PID_FILE.read_text())
        scenarios = [
            Scenario("Consul SRV, host network (published port)", "127.0.0.1", published, f"{SERVICE_NAME} SRV", None, consul_pid),
            Scenario("Consul SRV, container network", consul_ip, DNS_PORT, f"{SERVICE_NAME} SRV", client_pid, consul_pid),
            Scenario("Consul A, container network", consul_ip, DNS_PORT, f"{SERVICE_NAME} A", client_pid, consul_pid),
            Scenario("Docker embedded DNS A, container network", DOCKER_EMBEDDED_DNS, 53, f"{args.container_name} A", client_pid, dockerd_pid),
        ]
        rows = [{"scenario": scenario.name, "query": scenario.query, **dnsperf(scenario, arguments.seconds)} for scenario in scenarios]
    finally:
        for container in containers:
            container.remove(force=True, v=True)
        network.remove()
    embedded = rows[-1]["qps"]
    ratios = {row["scenario"]: round(row["qps"] / embedded, 2) if embedded else None for row in rows[:-1]}
    described = machine()
    print(f"DNS throughput, {arguments.seconds} s a scenario, dnsperf; machine: {described['cores']} cores, {described['memory_gib']} GiB")
    print(f"{'scenario':42} {'qps':>8} {'errors':>6} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'gen cpu':>7} {'srv cpu':>7} {'x embedded':>10}")
    for row in rows:
        latency = row["latency_ms"]
        print(
            f"{row['scenario']:42} {row['qps']:>8} {row['errors']:>6} {latency['p50']!s:>7} {latency['p95']!s:>7} {latency['p99']!s:>7}"
            f" {row['generator_cpu_share']:>7} {row['server_cpu_share']:>7} {ratios.get(row['scenario'], 1.0)!s:>10}"
        )
    arguments.out.parent.mkdir(parents=True, exist_ok=True)
    arguments.out.write_text(json.dumps(
        {"machine": described, "seconds": arguments.seconds, "ratio_to_embedded_dns": ratios,
         "rows": [{key: value for key, value in row.items() if key != "latencies_ms"} for row in rows]},
        indent=2,
    ) + "\n")
    plot(rows, arguments.plot, arguments.seconds)


if __name__ == "__main__":
    main()
