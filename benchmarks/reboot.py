"""Recovery after a reboot on the real engine: `python -m benchmarks.reboot [--trials N] [--smallest] [--real-cli]`.

`dev` is deployed (through the apply harness, and with `--real-cli` a second time through the real
Pulumi CLI and providers), then the local engine is stopped with SIGTERM and started again, as a host
reboot does, N times. Each time: how long the engine took to answer, then, from that moment, how long
until each of the chapter's checks passes again, nothing done but asking (every 0.2 s) as a user would:
Consul's leader, the web counter counting on, both workers in Consul DNS, heyworld's replicas, the
client's report. Then a refreshed preview must propose nothing (`up --refresh` through the harness;
`pulumi preview --refresh --expect-no-changes` through the CLI), timed too. Prints a table (p50 and the
slowest trial), writes benchmarks/results/reboot.json. The engine must be a local dockerd this process
may restart, with no `dev` stack up.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

import docker

from benchmarks.engine_measures import machine, percentile
from tests.e2e.engine_restart import dev_checks, restart_local_engine
from tests.e2e.support import DevStack, build_stand_in_images, wait_for

DEFAULT_OUT = Path(__file__).parent / "results" / "reboot.json"
CHECK_TIMEOUT_SECONDS = 180


def trial(engine: docker.DockerClient, outputs: dict[str, Any], refreshed_preview: Callable[[], None]) -> dict[str, float]:
    checks = dev_checks(outputs, engine)
    measured = {"engine answers": restart_local_engine(engine)}
    back = time.monotonic()
    for check, probe in checks.items():
        wait_for(f"after the restart: {check}", probe, timeout=CHECK_TIMEOUT_SECONDS, interval=0.2)
        measured[check] = time.monotonic() - back
    started = time.monotonic()
    refreshed_preview()
    measured["refreshed preview, proposing nothing"] = time.monotonic() - started
    return measured


@contextlib.contextmanager
def through_harness(engine: docker.DockerClient) -> Iterator[tuple[dict[str, Any], Callable[[], None]]]:
    stack = DevStack(engine)
    try:
        stack.apply("bench: first up")

        def refreshed_preview() -> None:
            stack.apply("bench: up --refresh", refresh=True)
            changes = stack.harness.last_run.changes()
            if changes:
                raise AssertionError(f"up --refresh after the restart changed {changes}")

        yield stack.outputs, refreshed_preview
    finally:
        stack.destroy()
        stack.close()


@contextlib.contextmanager
def through_real_cli(engine: docker.DockerClient) -> Iterator[tuple[dict[str, Any], Callable[[], None]]]:
    from tests.e2e.real_pulumi import deployed

    with deployed(engine) as project:
        yield project.outputs(), lambda: project.run("preview", "--refresh", "--expect-no-changes", label="bench: preview --refresh")


def summary(values: list[float]) -> dict[str, Any]:
    return {"p50": round(percentile(values, 0.5), 2), "max": round(max(values), 2), "all": [round(value, 2) for value in values]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--smallest", action="store_true", help="one trial through the harness")
    parser.add_argument("--real-cli", action="store_true", help="through the real Pulumi CLI too")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    arguments = parser.parse_args(argv)
    if arguments.smallest:
        arguments.trials, arguments.real_cli = 1, False
    engine = docker.from_env(timeout=300)
    build_stand_in_images(engine)
    sides = {"harness": through_harness, **({"real CLI": through_real_cli} if arguments.real_cli else {})}
    rows: dict[str, dict[str, Any]] = {}
    for side, deploy in sides.items():
        with deploy(engine) as (outputs, refreshed_preview):
            trials = [trial(engine, outputs, refreshed_preview) for _ in range(arguments.trials)]
        rows[side] = {measure: summary([t[measure] for t in trials]) for measure in trials[0]}
    described = machine()
    print(f"Reboot recovery of dev, {arguments.trials} trials; machine: {described['cores']} cores, {described['memory_gib']} GiB")
    print(f"{'seconds (from the engine answering)':42} " + " ".join(f"{side + ' p50':>14} {'max':>6}" for side in rows))
    for measure in next(iter(rows.values())):
        print(f"{measure:42} " + " ".join(f"{row[measure]['p50']:>14} {row[measure]['max']:>6}" for row in rows.values()))
    arguments.out.parent.mkdir(parents=True, exist_ok=True)
    arguments.out.write_text(json.dumps(
        {"machine": described, "measured": datetime.now(timezone.utc).isoformat(timespec="minutes"), "trials": arguments.trials, "sides": rows},
        indent=2,
    ) + "\n")


if __name__ == "__main__":
    main()
