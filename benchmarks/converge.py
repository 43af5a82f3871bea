"""Converge time on the real engine: `python -m benchmarks.converge [--rounds N] [--smallest] [--real-cli]`.

Side by side in one run, alternating, N rounds (the median of each phase reported):
- the apply harness performing `dev` (tests/harness): first apply from warm image caches until it
  returns (everything it waits for healthy), the no-change re-apply, the destroy;
- `docker compose up --wait` of benchmarks/compose/dev-equivalent.yaml (the same containers, images,
  commands and healthchecks under names, ports and a subnet of their own), `up --wait` again with
  nothing changed, and `down`.
Compose has no swarm under `up`, so the harness's `dev` runs without its swarm part (SwarmCluster and
the heyworld services left out of the program) for the comparison; with `--with-swarm`, whole `dev`
too (only on an engine not already in a swarm: its destroy leaves the swarm). Each side is checked
once it returns: web answers, both workers pass in Consul, Redis and web are in its catalog; how long
after the return that took (0 s: at once) is recorded too.
`--real-cli`: whole `dev` through the real Pulumi CLI and providers too (`. /opt/real-pulumi/env.sh`).
`--floor`: through the real CLI too, a stack of a program that declares nothing (what the CLI alone takes
for an up and a destroy) and one of a single docker network (pulumi-docker's start and its waits around a
network), against which Compose's `down` is put.
Prints a table, writes benchmarks/results/converge.json with the harness's slowest operations.
"""
from __future__ import annotations

import argparse
import base64
import contextlib
import datetime
import json
import os
import secrets
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import docker
import requests

from tests.e2e.support import DevStack, build_stand_in_images, machine_config
from tests.harness.local_images import ci_built_binary

from .without_swarm import ENTRY_POINT, without_swarm

COMPOSE_FILE = Path(__file__).parent / "compose" / "dev-equivalent.yaml"
DEFAULT_OUT = Path(__file__).parent / "results" / "converge.json"
PHASES = ("up", "no-change up", "down")
COMPOSE_PROJECT = "bench-converge"
# Apart from the dev stack's 5000/8500/8600 and 172.29.0.0/24, and from the other benchmarks'.
COMPOSE_SUBNET = "10.213.90"
COMPOSE_PORTS = {"WEB_PORT": 15000, "CONSUL_HTTP_PORT": 18500, "CONSUL_DNS_PORT": 18600}
SLOWEST_KEPT = 8


def timed(action: Callable[[], Any]) -> float:
    started = time.monotonic()
    action()
    return time.monotonic() - started


def converged(web_url: str, consul_http: str) -> bool:
    """What a user checks once `up` returns: web counts, both workers pass in Consul, Redis and web are in its catalog."""
    try:
        if "seen" not in requests.get(web_url, timeout=5).text:
            return False
        passing = requests.get(f"{consul_http}/v1/health/service/distributed_app", params={"passing": "true"}, timeout=5).json()
        services = requests.get(f"{consul_http}/v1/catalog/services", timeout=5).json()
    except requests.RequestException:
        return False
    return sorted(entry["Service"]["ID"] for entry in passing) == ["server1", "server2"] and {"redis", "web"} <= set(services)


def lag_after_return(web_url: str, consul_http: str, timeout: float = 10) -> float:
    """Seconds after `up` returned until `converged`: 0 when it was at once. A worker's healthcheck asks
    its Consul agent, whose catalog can follow a moment later; how long is recorded, not hidden."""
    started = time.monotonic()
    while not converged(web_url, consul_http):
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not converged {timeout} s after up returned ({web_url}, {consul_http})")
        time.sleep(0.05)
    return round(time.monotonic() - started, 2)


def operations(run: Any, since: float | None = None) -> dict[str, Any]:
    """How many operations the run performed and their summed time (about the wall time when they ran
    one after the other), and those that took 0.5 s or more, slowest first, with when each began."""
    start = since if since is not None else min((o.started for o in run.operations), default=0.0)
    slow = sorted((o for o in run.operations if o.seconds >= 0.5), key=lambda o: -o.seconds)[:SLOWEST_KEPT]
    return {
        "count": len(run.operations),
        "summed_s": round(sum(o.seconds for o in run.operations), 2),
        "slowest": [
            {"op": o.op, "type": o.type.rsplit(":", 1)[-1], "name": o.name, "began_s": round(o.started - start, 2), "seconds": round(o.seconds, 2)}
            for o in slow
        ],
    }


# What the Consul server logs on its way to serving, in order (Consul 1.16).
CONSUL_STEPS = {
    "agent running": "Consul agent running!",
    "raft candidate": "entering candidate state",
    "leader": "cluster leadership acquired",
}


def wall_time(stamp: str) -> float:
    """Docker's RFC 3339 timestamp (nanoseconds, UTC) as seconds since the epoch."""
    whole, _, fraction = stamp.rstrip("Z").partition(".")
    return datetime.datetime.fromisoformat(whole).replace(tzinfo=datetime.timezone.utc).timestamp() + float(f"0.{fraction or 0}")


def consul_timeline(engine: docker.DockerClient, container: str, began: float) -> dict[str, float]:
    """Seconds from `began` (time.time()) to the Consul server's container running and to each step of
    CONSUL_STEPS, from its log."""
    timeline = {"container started": wall_time(engine.api.inspect_container(container)["State"]["StartedAt"]) - began}
    for line in engine.api.logs(container, timestamps=True).decode(errors="replace").splitlines():
        stamp, _, text = line.partition(" ")
        for step, marker in CONSUL_STEPS.items():
            if marker in text and step not in timeline:
                timeline[step] = wall_time(stamp) - began
    return {step: round(seconds, 2) for step, seconds in timeline.items()}


class HarnessSide:
    """`dev` through the apply harness (tests/e2e/support.DevStack), with or without its swarm part."""

    def __init__(self, engine: docker.DockerClient, swarm: bool) -> None:
        self.engine, self.swarm = engine, swarm
        self.name = "harness, dev" if swarm else "harness, dev without swarm"
        self.slowest: dict[str, dict[str, Any]] = {}
        self.lags: list[float] = []
        self.after_leader: list[float] = []
        self.consul_timelines: list[dict[str, float]] = []

    def round(self) -> dict[str, float]:
        stack = DevStack(self.engine)
        try:
            with contextlib.nullcontext() if self.swarm else without_swarm():
                began = time.monotonic()
                up = timed(lambda: stack.apply("benchmark: first apply"))
                self.lags.append(lag_after_return(stack.outputs["webUrl"], stack.consul_http))
                self.slowest.setdefault("up", operations(stack.harness.last_run, began))
                # Where the create of the Consul server went, from the operation's start.
                server = next(o for o in stack.harness.last_run.operations if o.name == "consul-consul-1-agent")
                steps = consul_timeline(self.engine, "dev-consul-1", server.started + time.time() - time.monotonic())
                self.consul_timelines.append({**steps, "healthy (seen by the harness)": round(server.seconds, 2)})
                self.after_leader.append(up - (server.started - began + steps["leader"]))
                again = timed(lambda: stack.apply("benchmark: no-change apply"))
                assert stack.harness.last_run.changes() == [], stack.harness.last_run.changes()
            down = timed(stack.destroy)
            self.slowest.setdefault("down", operations(stack.harness.last_run))
        except BaseException:
            stack.destroy()
            raise
        finally:
            stack.close()
        return {"up": up, "no-change up": again, "down": down}


class ComposeSide:
    """The same containers through `docker compose up --wait` (Compose v2 built by .ci/compose.sh)."""

    name = "docker compose"

    def __init__(self, engine: docker.DockerClient, file: Path = COMPOSE_FILE) -> None:
        self.engine, self.file = engine, file
        self.timelines: list[dict[str, dict[str, float]]] = []
        self.lags: list[float] = []
        self.after_leader: list[float] = []
        self.binary = ci_built_binary("COMPOSE_BIN", "compose.sh", "no Docker Compose binary")
        config = machine_config()
        self.environment = {
            **os.environ,
            "PROJECT": COMPOSE_PROJECT,
            "APP_BASE_IMAGE": config["appBaseImage"],
            "EXTRA_CA_CERTS": config["buildCaCertificates"],
            "CONSUL_IMAGE": config["consulImage"],
            "REDIS_IMAGE": config["redisImage"],
            "SUBNET": f"{COMPOSE_SUBNET}.0/24",
            "NETWORK_GATEWAY": f"{COMPOSE_SUBNET}.1",
            "CONSUL_DNS_ADDRESS": f"{COMPOSE_SUBNET}.254",
            # As the stack's gossip key: 32 random bytes, base64.
            "GOSSIP_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
            **{key: str(port) for key, port in COMPOSE_PORTS.items()},
        }

    def compose(self, *arguments: str) -> None:
        completed = subprocess.run(
            [self.binary, "--file", str(self.file), *arguments],
            env=self.environment, capture_output=True, text=True, timeout=600, check=False,
        )
        if completed.returncode != 0:
            raise RuntimeError(f"docker compose {' '.join(arguments)}: exit {completed.returncode}\n{completed.stderr[-3000:]}")

    def down(self) -> None:
        # Volumes and the images it built go too, as the stack's destroy removes them.
        self.compose("down", "--volumes", "--rmi", "local")

    def timeline(self, began: float) -> dict[str, dict[str, float]]:
        """Per service, seconds from `up`'s start (time.time()) to its container's start, and to its exit for the one-shots."""
        found = {}
        for summary in self.engine.api.containers(all=True, filters={"label": f"com.docker.compose.project={COMPOSE_PROJECT}"}):
            state = self.engine.api.inspect_container(summary["Id"])["State"]
            times = {"started": wall_time(state["StartedAt"]) - began}
            if not state["Running"]:
                times["exited"] = wall_time(state["FinishedAt"]) - began
            times = {key: round(value, 2) for key, value in sorted(times.items())}
            service = summary["Labels"]["com.docker.compose.service"]
            found[service] = {**times, **consul_timeline(self.engine, summary["Id"], began)} if service == "consul-1" else times
        return dict(sorted(found.items(), key=lambda item: item[1]["started"]))

    def round(self) -> dict[str, float]:
        try:
            began = time.time()
            up = timed(lambda: self.compose("up", "--wait", "--quiet-pull"))
            self.lags.append(lag_after_return(f"http://127.0.0.1:{COMPOSE_PORTS['WEB_PORT']}/", f"http://127.0.0.1:{COMPOSE_PORTS['CONSUL_HTTP_PORT']}"))
            self.timelines.append(self.timeline(began))
            self.after_leader.append(up - self.timelines[-1]["consul-1"]["leader"])
            again = timed(lambda: self.compose("up", "--wait", "--quiet-pull"))
        except BaseException:
            self.down()
            raise
        return {"up": up, "no-change up": again, "down": timed(self.down)}


class RealCliSide:
    """`dev` through the real Pulumi CLI and providers, with a local backend in a temp dir (one project
    for every round; each round's destroy leaves its state empty): with its swarm or, as the harness's
    side and Compose, without (the copy's entry point runs the program under `without_swarm`).
    `pulumi up --yes --skip-preview`, as `docker compose up` has no preview (`make up` previews first)."""

    def __init__(self, swarm: bool) -> None:
        self.swarm = swarm
        self.name = "real CLI, dev" if swarm else "real CLI, dev without swarm"
        self.lags: list[float] = []
        self.project: Any = None

    def _project(self) -> Any:
        if self.project is None:
            from tests.e2e.real_pulumi import RealProject

            self.project = RealProject("dev")
            if not self.swarm:
                main = self.project.dir / "__main__.py"
                main.rename(self.project.dir / "program_main.py")
                main.write_text(ENTRY_POINT)
            self.project.init()
            self.project.set_config(machine_config())
        return self.project

    def round(self) -> dict[str, float]:
        project = self._project()
        try:
            up = timed(lambda: project.run("up", "--yes", "--skip-preview"))
            outputs = project.outputs()
            self.lags.append(lag_after_return(outputs["webUrl"], outputs["consulUiUrl"].removesuffix("/ui")))
            again = timed(lambda: project.run("up", "--yes", "--skip-preview"))
            down = timed(lambda: project.run("destroy", "--yes", "--skip-preview"))
        except BaseException:
            project.run("destroy", "--yes", "--skip-preview", check=False)
            raise
        return {"up": up, "no-change up": again, "down": down}

    def close(self) -> None:
        if self.project is not None:
            self.project.close()


class FloorStackSide:
    """The real CLI's floor: a stack of a program that declares `program`'s little (the same runtime options,
    virtualenv, file backend and passphrase secrets provider as dev's copy), `up`, the no-change up and the
    destroy, with RealCliSide's flags; then `destroy --yes` with its preview, as `make destroy` runs it."""

    def __init__(self, name: str, project: str, program: str) -> None:
        self.name, self._project_name, self._program = name, project, program
        self.project: Any = None
        self.destroys_with_preview: list[float] = []

    def round(self) -> dict[str, float]:
        if self.project is None:
            from tests.e2e.real_pulumi import RealProgram

            self.project = RealProgram(self._project_name, self._program, stack="floor")
            self.project.init()
        run = self.project.run
        up = timed(lambda: run("up", "--yes", "--skip-preview"))
        again = timed(lambda: run("up", "--yes", "--skip-preview"))
        down = timed(lambda: run("destroy", "--yes", "--skip-preview"))
        run("up", "--yes", "--skip-preview")
        self.destroys_with_preview.append(timed(lambda: run("destroy", "--yes")))
        return {"up": up, "no-change up": again, "down": down}

    def close(self) -> None:
        if self.project is not None:
            self.project.close()


def empty_stack_side() -> FloorStackSide:
    """No plugin starts: what is left is the CLI's start, state and secrets, and a language host."""
    return FloorStackSide("real CLI, a stack of nothing", "emptystack", "import pulumi  # noqa: F401 (declares nothing)\n")


def one_network_side() -> FloorStackSide:
    """The one object every Compose project makes too, a bridge network, through pulumi-docker: its plugin's
    start, and the waits it keeps around a network (2 s after creating one, 2 s before deleting it)."""
    program = (
        "import pulumi_docker as docker\n\n"
        f"docker.Network('floor', name='bench-floor-{secrets.token_hex(3)}', driver='bridge')\n"
    )
    return FloorStackSide("real CLI, one docker network", "networkstack", program)


def medians(rounds: list[dict[str, float]]) -> dict[str, float]:
    return {phase: round(statistics.median(r[phase] for r in rounds), 2) for phase in PHASES}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--smallest", action="store_true", help="one round, harness without swarm and compose only")
    parser.add_argument("--with-swarm", action="store_true", help="whole dev through the harness too")
    parser.add_argument("--real-cli", action="store_true", help="whole dev through the real Pulumi CLI too")
    parser.add_argument("--floor", action="store_true", help="a stack of nothing through the real CLI too: the toolchain's floor")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    options = parser.parse_args(argv)
    rounds = 1 if options.smallest else options.rounds
    engine = docker.from_env(timeout=600)
    build_stand_in_images(engine)
    harness, compose = HarnessSide(engine, swarm=False), ComposeSide(engine)
    sides: list[Any] = [harness, compose]
    whole_dev = (options.with_swarm or options.real_cli) and not options.smallest
    if whole_dev and engine.info()["Swarm"]["LocalNodeState"] == "active":
        raise SystemExit("--with-swarm/--real-cli: this engine is already in a swarm, which dev's destroy would leave")
    if options.with_swarm and not options.smallest:
        sides.append(HarnessSide(engine, swarm=True))
    if options.real_cli and not options.smallest:
        from tests.e2e.real_pulumi import missing_toolchain

        reason = missing_toolchain()
        if reason:
            print(f"--real-cli skipped: {reason}")
        else:
            sides += [RealCliSide(swarm=False), RealCliSide(swarm=True)]
    if options.floor:
        from tests.e2e.real_pulumi import missing_toolchain

        reason = missing_toolchain()
        if reason:
            print(f"--floor skipped: {reason}")
        else:
            sides += [empty_stack_side(), one_network_side()]
    samples: dict[str, list[dict[str, float]]] = {side.name: [] for side in sides}
    load = [os.getloadavg()[0]]
    try:
        for _ in range(rounds):
            for side in sides:  # alternating, so a slow spell of the shared machine hits every side alike
                samples[side.name].append(side.round())
                load.append(os.getloadavg()[0])
    finally:
        for side in sides:
            if hasattr(side, "close"):
                side.close()
    results = {name: medians(found) for name, found in samples.items()}
    ratios = {
        f"{name} / compose": {phase: round(results[name][phase] / results[compose.name][phase], 2) for phase in PHASES}
        for name in results if name != compose.name
    }
    ratio = ratios[f"{harness.name} / compose"]
    machine = {"cores": os.cpu_count(), "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)}
    print(f"converge on the real engine, median of {rounds} round(s); machine: {machine['cores']} cores, {machine['memory_gib']} GiB; "
          f"1-min load average {min(load):.1f}-{max(load):.1f} during the run")
    print(f"{'side':30} " + " ".join(f"{phase:>13}" for phase in PHASES))
    for name, figures in results.items():
        print(f"{name:30} " + " ".join(f"{figures[phase]:>12.2f}s" for phase in PHASES))
    for name, figures in ratios.items():
        print(f"{name.replace('dev without swarm', 'no swarm'):30} " + " ".join(f"{figures[phase]:>12.2f}x" for phase in PHASES))
    # Consul's election takes 5-10 s at random on both sides (see the README): what each does once there
    # is a leader compares the tools without that noise.
    after_leader = {side.name: round(statistics.median(side.after_leader), 2) for side in (harness, compose)}
    after_leader_ratio = round(after_leader[harness.name] / after_leader[compose.name], 2)
    print(f"{'up, after the Consul leader':30} " + " ".join(f"{seconds:>12.2f}s" for seconds in after_leader.values()) + f"  (harness / compose {after_leader_ratio}x)")
    for phase, found in harness.slowest.items():
        print(f"\nharness {phase}: {found['count']} operations, {found['summed_s']} s summed; slowest (began at s):")
        for o in found["slowest"]:
            print(f"  {o['began_s']:6.2f} +{o['seconds']:5.2f}s  {o['op']} {o['type']} {o['name']}")
    steps = dict.fromkeys(step for timeline in harness.consul_timelines for step in timeline)
    consul = {step: round(statistics.median(t[step] for t in harness.consul_timelines if step in t), 2) for step in steps}
    print("\nharness: the Consul server's create, median seconds from its start: " + ", ".join(f"{step} {seconds}" for step, seconds in consul.items()))
    started = {
        service: round(statistics.median(t[service]["started"] for t in compose.timelines if service in t), 2)
        for service in compose.timelines[0]
    }
    print("compose: median seconds from `up` to each container's start: " + ", ".join(f"{service} {seconds}" for service, seconds in started.items()))
    floors = [side for side in sides if isinstance(side, FloorStackSide)]
    for floor in floors:
        with_preview = round(statistics.median(floor.destroys_with_preview), 2)
        print(f"{floor.name}: destroy --yes with its preview {with_preview} s (median), "
              f"{round(with_preview / results[compose.name]['down'], 2)}x compose's down")
    lags = {side.name: side.lags for side in sides if hasattr(side, "lags")}
    print("seconds after up returned until converged (0: at once): " + "; ".join(f"{name} {found}" for name, found in lags.items()))
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(json.dumps({
        "machine": machine, "rounds": rounds, "results": results, "samples": samples,
        "ratio_harness_to_compose": ratio, "ratios_to_compose": ratios, "load_average_1min": load, "slowest_harness_operations": harness.slowest,
        "harness_consul_server_create": consul, "compose_container_starts": started, "compose_timelines": compose.timelines,
        "lag_after_up_returned": lags,
        "floor_destroys_with_preview": {floor.name: floor.destroys_with_preview for floor in floors},
        "up_after_consul_leader": after_leader, "up_after_consul_leader_ratio": after_leader_ratio,
    }, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
