"""The edit loop through the real CLI against Docker Compose: `python -m benchmarks.edit_loop [--rounds N] [--smallest]`.

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--smallest", action="store_true", help="one round")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    options = parser.parse_args(argv)
    from tests.e2e.real_pulumi import missing_toolchain

    reason = missing_toolchain()
    if reason:
        print(f"edit loop benchmark skipped: {reason}")
        return 0
    import docker

    from benchmarks.converge import COMPOSE_PROJECT, ComposeSide
    from tests.e2e.real_pulumi import RealProject
    from tests.e2e.support import build_stand_in_images, machine_config

    rounds = 1 if options.smallest else options.rounds
    engine = docker.from_env(timeout=600)
    build_stand_in_images(engine)
    project = RealProject("dev")
    compose = ComposeSide(engine, file=project.dir / "benchmarks" / "compose" / "dev-equivalent.yaml")
    make_up = ["make", "up"]

    def real() -> None:
        completed = subprocess.run(make_up, cwd=project.dir, env=project.environment, capture_output=True, text=True, timeout=900, check=False)
        if completed.returncode:
            raise AssertionError(f"make up: exit {completed.returncode}\n{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}")

    sides: dict[str, tuple[Callable[[], None], list[str]]] = {
        "make up (real CLI, dev)": (real, ["dev-server1", "dev-server2"]),
        "docker compose up --build --wait": (
            lambda: compose.compose("up", "--build", "--wait", "--quiet-pull"),
            [f"{COMPOSE_PROJECT}-server1-1", f"{COMPOSE_PROJECT}-server2-1"],
        ),
    }
    samples: dict[str, list[dict[str, float]]] = {name: [] for name in sides}
    load = [os.getloadavg()[0]]
    try:
        project.init()
        project.set_config(machine_config())
        real()
        compose.compose("up", "--build", "--wait", "--quiet-pull")
        for round_number in range(rounds):
            marker = f"edit {round_number + 1} {time.time():.0f}"
            edit(project.dir, marker)
            order = list(sides) if round_number % 2 == 0 else list(sides)[::-1]
            for name in order:
                action, workers = sides[name]
                watch = Watch(engine, workers, marker)
                started = time.monotonic()
                action()
                returned = time.monotonic() - started
                answered = watch.wait()
                samples[name].append({"returned": returned, "new code answers": answered, "failed requests": watch.failures})
                load.append(os.getloadavg()[0])
    finally:
        project.run("destroy", "--yes", "--skip-preview", check=False)
        compose.down()
        project.close()
    medians = {name: {key: round(statistics.median(s[key] for s in found), 2) for key in found[0]} for name, found in samples.items()}
    names = list(sides)
    ratio = round(medians[names[0]]["new code answers"] / medians[names[1]]["new code answers"], 2)
    print(f"edit loop, one line of the worker changed, median of {rounds}; 1-min load average {min(load):.1f}-{max(load):.1f}")
    for name, figures in medians.items():
        print(f"  {name:34} returned {figures['returned']:6.2f} s, new code on every worker {figures['new code answers']:6.2f} s, "
              f"failed requests {figures['failed requests']:.0f}")
    print(f"  make up / compose: {ratio}x")
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(json.dumps({"rounds": rounds, "samples": samples, "medians": medians, "ratio": ratio, "load_average_1min": load}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
