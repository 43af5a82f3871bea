"""The edit loop through the real CLI against Docker Compose: `python -m benchmarks.edit_loop [--rounds N] [--smallest] [--baseline REF] [--floor]`.

One copy of the project (tests/e2e/real_pulumi.py: its own local backend in a temp dir, this
machine's images) runs `dev` through `make up`, and beside it Docker Compose runs
benchmarks/compose/dev-equivalent.yaml from the same copy (the same workers, built from the copy's
`apps/`). Each round changes one line of the worker's source (apps/distributed_app/app.py: the
message it answers with), then, alternating which goes first, times `make up` and `docker compose up
--build --wait` until the new code answers on every worker (each worker's `/` asked every 0.1 s from
the host at its address on its network). Requests that fail while a side rolls are counted too (the
workers are plain containers, replaced, not rolled: no rolling update is declared for them). Medians
and the ratio; without the real CLI and its plugins it prints one line and stops. Writes
benchmarks/results/edit_loop.json.

Each command of `make up` is timed (make runs them through TIMING_SHELL), `pulumi up`'s preview split
off at the line that starts its update. `--baseline REF`: `make up` of the project at git REF too, on
the same stack and state, alternating with the others (what a change of ours saved). `--floor`: the
least Pulumi does for this edit (FLOOR_PROGRAM: one image, two workers, `pulumi up --yes`) against
Compose's `up --build --wait --no-deps` of its two workers, both alternating with the rest.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

import requests

DEFAULT_OUT = Path(__file__).parent / "results" / "edit_loop.json"
EDITED = Path("apps/distributed_app/app.py")
LINE = '"message": f"{greeting} from {settings.service_id} on {socket.gethostname()}",'
TIMEOUT_SECONDS = 300


def edit(project_dir: Path, marker: str) -> None:
    """One line of the worker's source: its message carries `marker`."""
    path = project_dir / EDITED
    lines = path.read_text().splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines) if '"message": f"{greeting}' in line)
    indent = lines[index][: len(lines[index]) - len(lines[index].lstrip())]
    lines[index] = indent + LINE.replace("from {settings", f"({marker}) from {{settings") + "\n"
    path.write_text("".join(lines))


class Watch:
    """Asks every worker container named in `names` for `/` every 0.1 s until each answers with `marker`;
    counts the requests that fail meanwhile."""

    def __init__(self, engine: Any, names: list[str], marker: str) -> None:
        self.engine, self.names, self.marker = engine, names, marker
        self.failures = 0
        self.answered: dict[str, float] = {}
        self._stop = threading.Event()
        self.started = time.monotonic()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _address(self, name: str) -> str | None:
        try:
            networks = self.engine.api.inspect_container(name)["NetworkSettings"]["Networks"]
        except Exception:  # noqa: BLE001 - gone or not yet made, mid-replace
            return None
        return next((n["IPAddress"] for n in networks.values() if n.get("IPAddress")), None)

    def _run(self) -> None:
        while not self._stop.is_set() and len(self.answered) < len(self.names):
            for name in self.names:
                if name in self.answered:
                    continue
                address = self._address(name)
                try:
                    text = requests.get(f"http://{address}:8080/", timeout=1).text if address else ""
                except requests.RequestException:
                    self.failures += 1
                    continue
                if self.marker in text:
                    self.answered[name] = time.monotonic() - self.started
            time.sleep(0.1)

    def wait(self, timeout: float = TIMEOUT_SECONDS) -> float:
        self._thread.join(timeout)
        self._stop.set()
        if len(self.answered) < len(self.names):
            raise AssertionError(f"not every worker answered with {self.marker!r}: {self.answered}")
        return max(self.answered.values())


# Make runs each line of a recipe through $(SHELL) -c: this one notes when each began and ended.
TIMING_SHELL = """#!/bin/sh
began=$(date +%s.%N)
/bin/sh "$@"
status=$?
printf '%s\\t%s\\t%s\\n' "$began" "$(date +%s.%N)" "$2" >> "$MAKE_PHASES_LOG"
exit $status
"""
UPDATE_BEGINS = "Updating ("
"""The line `pulumi up` prints once its preview is done and the update begins."""


def phases(log: str, update_began: float | None) -> dict[str, float]:
    """Seconds per command of a `make up` from TIMING_SHELL's log; `pulumi up`'s split at `update_began`
    (time.time() of its UPDATE_BEGINS line) into its preview and the update."""
    found: dict[str, float] = {}
    for line in log.splitlines():
        began, ended, command = line.split("\t", 2)
        name = " ".join(command.split()[:3]).replace("venv/bin/python", "python")
        found[name] = round(float(ended) - float(began), 2)
        if command.startswith("pulumi up") and update_began is not None:
            found["  of which the preview"] = round(update_began - float(began), 2)
    return found


class MakeUp:
    """`make up` in `project_dir`, each command of its recipe timed (TIMING_SHELL)."""

    def __init__(self, project_dir: Path, environment: dict[str, str]) -> None:
        self.dir = project_dir
        self.shell = project_dir / ".timing-shell"
        self.shell.write_text(TIMING_SHELL)
        self.shell.chmod(0o755)
        self.log = project_dir / ".make-phases.log"
        self.environment = {**environment, "MAKE_PHASES_LOG": str(self.log)}
        self.phases: list[dict[str, float]] = []

    def __call__(self) -> None:
        self.log.write_text("")
        process = subprocess.Popen(
            # The copy's venv is this process's: never remade, whatever the requirements files' times say.
            ["make", "up", f"SHELL={self.shell}", "--old-file=venv/.installed"], cwd=self.dir, env=self.environment,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        update_began, output = None, []
        assert process.stdout is not None
        for line in process.stdout:
            if update_began is None and UPDATE_BEGINS in line:
                update_began = time.time()
            output.append(line)
        if process.wait(timeout=900):
            raise AssertionError(f"make up in {self.dir}: exit {process.returncode}\n{''.join(output)[-6000:]}")
        self.phases.append(phases(self.log.read_text(), update_began))


# The edit loop's floor through Pulumi: what `make up` must at least do for this edit. One image built
# from the worker's source and two containers made from it as dev's workers are (the same environment,
# healthcheck, `wait`, grace and delete-before-replace), on Compose's network beside Compose's workers,
# using its Consul; `pulumi up --yes` with its preview, as `make up` runs it.
FLOOR_PROGRAM = """
import pulumi
import pulumi_docker as docker

config = pulumi.Config()
arguments = {{"BASE_IMAGE": config.require("baseImage")}}
if config.get("caCertificates"):
    arguments["EXTRA_CA_CERTS"] = config.get("caCertificates")
image = docker.Image(
    "worker", image_name={image!r}, skip_push=True,
    build=docker.DockerBuildArgs(context="apps/distributed_app", args=arguments),
)
for worker in ("floor1", "floor2"):
    docker.Container(
        worker, name=f"edit-loop-{{worker}}", image=image.repo_digest, hostname=worker, restart="unless-stopped",
        networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=config.require("network"), aliases=[worker])],
        envs=["CONSUL_HTTP_ADDR=http://consul-1:8500", "SERVICE_NAME=distributed_app", f"SERVICE_ID={{worker}}", "PORT=8080",
              "CHECK_INTERVAL=1s", "CONSUL_KV_PREFIX=distributed_app/dev/"],
        healthcheck=docker.ContainerHealthcheckArgs(tests=["CMD", "python3", "-c", {check!r}], interval="1s", timeout="3s",
                                                    start_period="45s", retries=3),
        wait=True, destroy_grace_seconds=15, opts=pulumi.ResourceOptions(delete_before_replace=True),
    )
"""
FLOOR_IMAGE = "edit-loop-floor/worker:latest"
FLOOR_WORKERS = ["edit-loop-floor1", "edit-loop-floor2"]
FLOOR_PULUMI = "floor: pulumi up --yes, Image + 2 Containers"
FLOOR_COMPOSE = "floor: compose up --build --wait server1 server2"


def floor_project(beside: Path, network: str) -> Any:
    """FLOOR_PROGRAM in a project of its own, its worker's source a copy of `beside`'s apps/distributed_app."""
    import shutil

    from components.distributed_app import REGISTERED_CHECK
    from tests.e2e.real_pulumi import RealProgram
    from tests.e2e.support import machine_config

    floor = RealProgram("editloopfloor", FLOOR_PROGRAM.format(image=FLOOR_IMAGE, check=REGISTERED_CHECK), stack="floor")
    shutil.copytree(beside / "apps" / "distributed_app", floor.dir / "apps" / "distributed_app")
    floor.init()
    config = machine_config()
    floor.set_config({"baseImage": config["appBaseImage"], "network": network,
                      **({"caCertificates": config["buildCaCertificates"]} if config.get("buildCaCertificates") else {})})
    return floor


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--smallest", action="store_true", help="one round")
    parser.add_argument("--baseline", metavar="REF", help="`make up` of the project at this git ref too, on the same stack")
    parser.add_argument("--floor", action="store_true",
                        help="the floor too: an image and the two workers alone through `pulumi up --yes`, against Compose's `up --build --wait` of its two")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    options = parser.parse_args(argv)
    from tests.e2e.real_pulumi import missing_toolchain

    reason = missing_toolchain()
    if reason:
        print(f"edit loop benchmark skipped: {reason}")
        return 0
    import docker

    from benchmarks.converge import COMPOSE_PROJECT, ComposeSide
    from benchmarks.preview import baseline_project
    from tests.e2e.real_pulumi import RealProject
    from tests.e2e.support import build_stand_in_images, machine_config

    rounds = 1 if options.smallest else options.rounds
    engine = docker.from_env(timeout=600)
    build_stand_in_images(engine)
    project = RealProject("dev")
    baseline = floor = None
    compose = ComposeSide(engine, file=project.dir / "benchmarks" / "compose" / "dev-equivalent.yaml")
    workers = ["dev-server1", "dev-server2"]
    make_up = MakeUp(project.dir, project.environment)
    # Each side edits its own copy (Compose builds from the first), each time with a marker of its own,
    # so every run of every side has one changed line to roll out, whatever ran before it.
    sides: dict[str, tuple[Callable[[], None], list[str], Path]] = {
        "make up (real CLI, dev)": (make_up, workers, project.dir),
        "docker compose up --build --wait": (
            lambda: compose.compose("up", "--build", "--wait", "--quiet-pull"),
            [f"{COMPOSE_PROJECT}-server1-1", f"{COMPOSE_PROJECT}-server2-1"],
            project.dir,
        ),
    }
    makes = {"make up (real CLI, dev)": make_up}
    compose_name = "docker compose up --build --wait"
    samples: dict[str, list[dict[str, float]]] = {}
    load = [os.getloadavg()[0]]
    try:
        project.init()
        project.set_config(machine_config())
        make_up()
        compose.compose("up", "--build", "--wait", "--quiet-pull")
        if options.baseline:
            baseline = baseline_project(project, options.baseline)
            name = f"make up at {options.baseline}"
            makes[name] = MakeUp(baseline.dir, baseline.environment)
            sides = {**dict(list(sides.items())[:1]), name: (makes[name], workers, baseline.dir), **dict(list(sides.items())[1:])}
        if options.floor:
            floor = floor_project(project.dir, f"{COMPOSE_PROJECT}_net")
            floor.run("up", "--yes", "--skip-preview")
            sides[FLOOR_PULUMI] = (lambda: floor.run("up", "--yes"), FLOOR_WORKERS, floor.dir)
            sides[FLOOR_COMPOSE] = (
                lambda: compose.compose("up", "--build", "--wait", "--quiet-pull", "--no-deps", "server1", "server2"),
                sides[compose_name][1],
                project.dir,
            )
        samples = {name: [] for name in sides}
        for round_number in range(rounds):
            order = list(sides) if round_number % 2 == 0 else list(sides)[::-1]
            for index, name in enumerate(order):
                action, names, source = sides[name]
                marker = f"edit {round_number + 1}.{index + 1} {time.time():.0f}"
                edit(source, marker)
                watch = Watch(engine, names, marker)
                started = time.monotonic()
                action()
                returned = time.monotonic() - started
                answered = watch.wait()
                samples[name].append({"returned": returned, "new code answers": answered, "failed requests": watch.failures})
                load.append(os.getloadavg()[0])
    finally:
        project.run("destroy", "--yes", "--skip-preview", check=False)
        if floor is not None:
            floor.run("destroy", "--yes", "--skip-preview", check=False)
            floor.close()
            engine.api.remove_image(FLOOR_IMAGE, force=True)
        compose.down()
        project.close()
        if baseline is not None:
            baseline.close()
    medians = {name: {key: round(statistics.median(s[key] for s in found), 2) for key in found[0]} for name, found in samples.items()}
    # The first `make up` (the stack's first deploy) is left out: only the edits' runs count.
    phase_medians = {
        name: {phase: round(statistics.median(run.get(phase, 0.0) for run in made.phases[-rounds:]), 2) for phase in made.phases[-1]}
        for name, made in makes.items()
    }
    ratios = {name: round(medians[name]["new code answers"] / medians[compose_name]["new code answers"], 2) for name in makes}
    print(f"edit loop, one line of the worker changed, median of {rounds}; 1-min load average {min(load):.1f}-{max(load):.1f}")
    for name, figures in medians.items():
        print(f"  {name:34} returned {figures['returned']:6.2f} s, new code on every worker {figures['new code answers']:6.2f} s, "
              f"failed requests {figures['failed requests']:.0f}")
    for name, found in phase_medians.items():
        print(f"  {name}, each command (median):")
        for phase, seconds in found.items():
            print(f"    {phase:40} {seconds:6.2f} s")
    if FLOOR_PULUMI in medians:
        ratios[f"{FLOOR_PULUMI} / {FLOOR_COMPOSE}"] = round(medians[FLOOR_PULUMI]["new code answers"] / medians[FLOOR_COMPOSE]["new code answers"], 2)
    for name, ratio in ratios.items():
        print(f"  {name if ' / ' in name else name + ' / compose'}: {ratio}x")
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(json.dumps({
        "rounds": rounds, "samples": samples, "medians": medians, "phases": {name: made.phases for name, made in makes.items()},
        "phase_medians": phase_medians, "ratios": ratios, "load_average_1min": load,
    }, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
