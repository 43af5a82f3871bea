"""Consul leader failover on the real engine: `python -m benchmarks.failover [--trials N] [--settings NAME...] [--out FILE]`.

Three Consul servers of this project's image, started with the flags the stacks give theirs
(components.consul_server.agent_command, joined by name on a network of their own). Each trial
finds the leader and signals it: SIGTERM (what `docker stop` sends first) or SIGKILL (a crash).
From that moment the two others are polled every 25 ms until one of them names a new leader, then
until a KV write through them succeeds. The stopped server is started again, and the trial ends
once autopilot reports three healthy servers, all voters. Side by side in one run, each on a
cluster of its own: Consul's defaults, dev's (raft_multiplier 5, and servers don't leave the cluster
on SIGTERM), raft_multiplier 1 (the cluster's, Consul's recommendation for production), and
leave_on_terminate (a SIGTERM'd leader hands leadership over before it leaves). p50 and p95.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import docker
import requests

from benchmarks.engine_measures import machine, percentile, until
from components.consul_server import DOCKER_EMBEDDED_DNS, HTTP_PORT, ConsulServerArgs, agent_command
from tests.harness.local_images import build_consul_image

DEFAULT_OUT = Path(__file__).parent / "results" / "failover.json"
SUBNET = "10.213.78.0/24"
PREFIX = "bench-failover"
NODES = ("consul-1", "consul-2", "consul-3")
# Settings (the stacks' raft multiplier, and HCL added to their command line) and the signals tried
# with them. A leave on terminate changes nothing for SIGKILL, which no process sees.
SETTINGS = {
    "consul-defaults": (None, (), ("SIGTERM", "SIGKILL")),
    "raft_multiplier=1": (1, (), ("SIGTERM", "SIGKILL")),
    "leave_on_terminate": (None, ("leave_on_terminate = true",), ("SIGTERM",)),
}
# The steady runs: each setting's cluster on a network of its own, all at once.
STEADY_SUBNET = "10.213.{}.0/24"
STEADY_FIRST_OCTET = 83
TARGET_SECONDS = 3.0
REQUEST_SECONDS = 0.5
# hashicorp/raft's log lines, as Consul 1.16 writes them.
EVENTS = (
    ("heartbeat_timeout", "heartbeat timeout reached"),
    ("leader_elected", "entering leader state"),
    ("elections", "entering candidate state"),
    ("votes_refused", "rejecting vote request since we have a leader"),
)


class Cluster:
    """Three servers on `network`; the host reaches each at its container address."""

    def __init__(
        self, engine: docker.DockerClient, image: str, network: str, raft_multiplier: int | None, hcl: tuple[str, ...],
        prefix: str = PREFIX,
    ) -> None:
        self.containers = {}
        for node in NODES:
            args = ConsulServerArgs(
                node_name=node,
                container_name=f"{prefix}-{node}",
                datacenter="dc1",
                bootstrap_expect=len(NODES),
                retry_join=[other for other in NODES if other != node],
                image=image,
                network_name=network,
                recursors=[DOCKER_EMBEDDED_DNS],
                raft_multiplier=raft_multiplier,
            )
            container = engine.containers.create(
                image, agent_command(args) + [f"-hcl={setting}" for setting in hcl], name=args.container_name, hostname=node,
                environment={"CONSUL_ALLOW_PRIVILEGED_PORTS": "yes"},
            )
            # Joined with the alias the stacks give each server, which the others' -retry-join names.
            engine.networks.get(network).connect(container, aliases=[node])
            engine.networks.get("bridge").disconnect(container)
            self.containers[node] = container
        for container in self.containers.values():
            container.start()
        self.addresses = {}
        for node, container in self.containers.items():
            container.reload()
            self.addresses[node] = container.attrs["NetworkSettings"]["Networks"][network]["IPAddress"]

    def url(self, node: str, path: str) -> str:
        return f"http://{self.addresses[node]}:{HTTP_PORT}{path}"

    def leader_seen_by(self, node: str) -> str:
        """The leader's raft address as `node` knows it, '' when it knows none or doesn't answer."""
        try:
            return requests.get(self.url(node, "/v1/status/leader"), timeout=REQUEST_SECONDS).json()
        except (requests.RequestException, ValueError):
            return ""

    def leader(self) -> str:
        address = next(filter(None, (self.leader_seen_by(node) for node in NODES)), "")
        return next((node for node, ip in self.addresses.items() if address == f"{ip}:8300"), "")

    def healthy(self) -> bool:
        """Autopilot's view: three servers, each in contact with the leader, caught up and a voter
        (a server that left comes back as a non-voter until autopilot promotes it)."""
        node = self.leader()
        if not node:
            return False
        try:
            health = requests.get(self.url(node, "/v1/operator/autopilot/health"), timeout=REQUEST_SECONDS).json()
        except (requests.RequestException, ValueError):
            return False
        servers = health.get("Servers") or []
        return bool(health.get("Healthy")) and sum(bool(server.get("Voter")) for server in servers) == len(NODES)

    def write(self, node: str, key: str) -> bool:
        try:
            response = requests.put(self.url(node, f"/v1/kv/{key}"), data="1", timeout=REQUEST_SECONDS)
            return response.ok and response.json() is True
        except (requests.RequestException, ValueError):
            return False

    def terms(self) -> dict[str, int]:
        """Each server's raft term: one more for every election it saw started."""
        terms = {}
        for node in NODES:
            try:
                stats = requests.get(self.url(node, "/v1/agent/self"), timeout=2).json()["Stats"]["raft"]
                terms[node] = int(stats["term"])
            except (requests.RequestException, ValueError, KeyError):
                pass
        return terms

    def remove(self) -> None:
        for container in self.containers.values():
            container.remove(force=True, v=True)


def raft_events(cluster: Cluster, nodes: list[str], since: float) -> dict[str, float | None]:
    """From the survivors' logs, seconds after `since` (wall clock): the first follower giving up on
    the old leader, the new leader taking over, how many elections that took and how many votes a
    survivor refused because it still followed the old leader."""
    stamps: dict[str, list[float]] = {"heartbeat_timeout": [], "leader_elected": [], "elections": [], "votes_refused": []}
    for node in nodes:
        for line in cluster.containers[node].logs(since=int(since) - 1).decode(errors="replace").splitlines():
            for event, text in EVENTS:
                if text in line:
                    stamp = datetime.fromisoformat(line.split()[0]).timestamp() - since
                    if stamp >= 0:
                        stamps[event].append(stamp)
    return {
        "heartbeat_timeout": min(stamps["heartbeat_timeout"], default=None),
        "leader_elected": min(stamps["leader_elected"], default=None),
        "elections": len(stamps["elections"]),
        "votes_refused": len(stamps["votes_refused"]),
    }


def trial(cluster: Cluster, signal: str, index: int) -> dict[str, float | None]:
    old = cluster.leader()
    old_address = f"{cluster.addresses[old]}:8300"
    others = [node for node in NODES if node != old]
    signalled, wall = time.monotonic(), time.time()
    cluster.containers[old].kill(signal=signal)
    elected = until(
        lambda: any(cluster.leader_seen_by(node) not in ("", old_address) for node in others), 60, "a new leader"
    )
    written = until(lambda: any(cluster.write(node, f"{PREFIX}/trial-{index}") for node in others), 60, "a KV write")
    cluster.containers[old].wait(timeout=30)
    restarted = time.monotonic()
    cluster.containers[old].start()
    rejoined = until(cluster.healthy, 120, "three healthy servers again")
    return {
        "new_leader": elected - signalled,
        "kv_write": written - signalled,
        **raft_events(cluster, others, wall),
        "restart_to_healthy": rejoined - restarted,
    }


def steady(engine: docker.DockerClient, image: str, names: list[str], seconds: float, load: int) -> list[dict[str, object]]:
    """Every setting's cluster side by side, nothing signalled, for `seconds` with `load` processes
    spinning on the CPU beside them: the elections nobody asked for (raft term increments, and the
    survivors' log lines), the cost of shorter timeouts on a busy machine."""
    clusters, networks, spinners = {}, [], []
    try:
        for index, name in enumerate(names):
            raft_multiplier, hcl, _ = SETTINGS[name]
            network = engine.networks.create(f"{PREFIX}-steady{index}-net", ipam=docker.types.IPAMConfig(
                pool_configs=[docker.types.IPAMPool(subnet=STEADY_SUBNET.format(STEADY_FIRST_OCTET + index))]))
            networks.append(network)
            clusters[name] = Cluster(engine, image, network.name, raft_multiplier, hcl, prefix=f"{PREFIX}-steady{index}")
        for cluster in clusters.values():
            until(cluster.healthy, 180, "three healthy servers")
        before = {name: cluster.terms() for name, cluster in clusters.items()}
        wall = time.time()
        spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(load)]
        time.sleep(seconds)
        loads = os.getloadavg()
        for spinner in spinners:
            spinner.kill()
            spinner.wait()
        spinners = []
        rows = []
        for name, cluster in clusters.items():
            after = cluster.terms()
            events = raft_events(cluster, list(NODES), wall)
            rows.append({
                "settings": name, "seconds": seconds, "load_processes": load, "load_average": loads,
                "term_increments": max((after[node] - before[name].get(node, after[node]) for node in after), default=None),
                "elections_started": events["elections"], "votes_refused": events["votes_refused"],
                "still_healthy": cluster.healthy(),
            })
        return rows
    finally:
        for spinner in spinners:
            spinner.kill()
        for cluster in clusters.values():
            cluster.remove()
        for network in networks:
            network.remove()


def summary(values: list[float | None]) -> dict[str, object]:
    """p50 and p95 of what was seen (a log line may be missing), and every trial's value."""
    seen = [value for value in values if value is not None]
    return {
        "p50": round(percentile(seen, 0.5), 3) if seen else None,
        "p95": round(percentile(seen, 0.95), 3) if seen else None,
        "all": [None if value is None else round(value, 3) for value in values],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--settings", nargs="+", choices=SETTINGS, default=list(SETTINGS))
    parser.add_argument("--smallest", action="store_true", help="one trial, the cluster's settings only")
    parser.add_argument("--steady", type=float, metavar="SECONDS",
                        help="instead: every setting's cluster side by side for SECONDS under CPU load, elections counted")
    parser.add_argument("--load", type=int, default=4, help="with --steady: processes spinning on the CPU meanwhile")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    arguments = parser.parse_args(argv)
    if arguments.smallest:
        arguments.trials, arguments.settings = 1, ["raft_multiplier=1"]
    engine = docker.from_env(timeout=300)
    image = build_consul_image(engine)
    if arguments.steady:
        rows = steady(engine, image, arguments.settings, arguments.steady, arguments.load)
        print(f"Consul clusters side by side, nothing signalled, {arguments.steady:g} s with {arguments.load} CPU spinners"
              f" (load average at the end {rows[0]['load_average'][0]:.1f})")
        for row in rows:
            print(f"{row['settings']:20} term +{row['term_increments']}  elections started {row['elections_started']}"
                  f"  votes refused {row['votes_refused']}  healthy after: {row['still_healthy']}")
        arguments.out.parent.mkdir(parents=True, exist_ok=True)
        arguments.out.write_text(json.dumps({"machine": machine(), "steady": rows}, indent=2) + "\n")
        return
    network = engine.networks.create(
        f"{PREFIX}-net", ipam=docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=SUBNET)])
    )
    rows = []
    try:
        for settings in arguments.settings:
            raft_multiplier, hcl, signals = SETTINGS[settings]
            cluster = Cluster(engine, image, network.name, raft_multiplier, hcl)
            try:
                until(cluster.healthy, 120, "three healthy servers")
                for signal in signals:
                    trials = [trial(cluster, signal, index) for index in range(arguments.trials)]
                    rows.append({"settings": settings, "signal": signal, **{measure: summary([t[measure] for t in trials]) for measure in trials[0]}})
            finally:
                cluster.remove()
    finally:
        network.remove()
    described = {**machine(), "load_average_at_end": os.getloadavg()}
    print(f"Consul leader failover, 3 servers, {arguments.trials} trials; machine: {described['cores']} cores, {described['memory_gib']} GiB,"
          f" load {described['load_average_at_end'][0]:.1f} {described['load_average_at_end'][1]:.1f} {described['load_average_at_end'][2]:.1f}")
    print(f"{'settings':20} {'signal':8} {'new leader p50 s':>16} {'p95 s':>6} {'KV write p50 s':>14} {'p95 s':>6} {'rejoin p95 s':>12}")
    for row in rows:
        leader, write, rejoin = row["new_leader"], row["kv_write"], row["restart_to_healthy"]
        print(f"{row['settings']:20} {row['signal']:8} {leader['p50']:>16} {leader['p95']:>6} {write['p50']:>14} {write['p95']:>6} {rejoin['p95']:>12}")
    arguments.out.parent.mkdir(parents=True, exist_ok=True)
    arguments.out.write_text(json.dumps(
        {"machine": described, "trials": arguments.trials, "target_seconds": TARGET_SECONDS, "rows": rows}, indent=2
    ) + "\n")


if __name__ == "__main__":
    main()
