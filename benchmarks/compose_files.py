"""`pulumi up` (the apply harness) against `docker compose up --wait` of the same compose files, on the real
engine: `python -m benchmarks.compose_files [--rounds N] [--smallest]`.

For three real projects' files of tests/data/compose/corpus (images stood in for by local ones, as in
tests/e2e/test_compose_corpus_engine.py), side by side in one run, alternating, N rounds: each side's
`up` until it returns (everything it waits for running or healthy), the `up` again with nothing changed,
and the `down`. Reports the medians and, per file and phase, harness / compose as a ratio; writes
benchmarks/results/compose_files.json.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import docker

from tests.e2e.compose_corpus import CASES, Case, build_local_images, stand_ins

DEFAULT_OUT = Path(__file__).parent / "results" / "compose_files.json"
FILES = ("kreuzwerker-two-sleepers", "uptime-kuma-radius-redis", "paperless-sqlite")
PHASES = ("up", "no-change up", "down")


def timed(action: Callable[[], Any]) -> float:
    started = time.monotonic()
    action()
    return time.monotonic() - started


def compose_round(case: Case) -> dict[str, float]:
    try:
        up = timed(case.compose_up)
        again = timed(case.compose_up)
    except BaseException:
        case.compose_down()
        raise
    return {"up": up, "no-change up": again, "down": timed(case.compose_down)}


def harness_round(case: Case) -> dict[str, float]:
    try:
        up = timed(case.harness_up)
        again = timed(case.harness_up)
        if case.harness.last_run.changes():
            raise RuntimeError(f"the second up changed {case.harness.last_run.changes()}")
    except BaseException:
        case.harness_down()
        raise
    return {"up": up, "no-change up": again, "down": timed(case.harness_down)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--smallest", action="store_true", help="one round")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    options = parser.parse_args(argv)
    rounds = 1 if options.smallest else options.rounds
    engine = docker.from_env(timeout=600)
    build_local_images(engine)
    results: dict[str, Any] = {}
    for name in FILES:
        samples: dict[str, list[dict[str, float]]] = {"harness": [], "compose": []}
        with tempfile.TemporaryDirectory() as workdir, stand_ins(engine, CASES[name]["stand_ins"]):
            case = Case(name, Path(workdir), project=f"bench-{name}")
            try:
                for _ in range(rounds):  # alternating, so a slow spell of the shared machine hits both alike
                    samples["compose"].append(compose_round(case))
                    samples["harness"].append(harness_round(case))
            finally:
                case.close()
        medians = {side: {phase: round(statistics.median(r[phase] for r in found), 2) for phase in PHASES} for side, found in samples.items()}
        ratio = {phase: round(medians["harness"][phase] / medians["compose"][phase], 2) for phase in PHASES}
        results[name] = {"file": str(CASES[name]["folder"].name + "/" + CASES[name]["file"]), "medians": medians, "ratio_harness_to_compose": ratio,
                         "samples": samples}
    machine = {"cores": os.cpu_count(), "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)}
    print(f"compose files on the real engine, median of {rounds} round(s); machine: {machine['cores']} cores, {machine['memory_gib']} GiB")
    print(f"{'file':28} {'side':8} " + " ".join(f"{phase:>13}" for phase in PHASES))
    for name, found in results.items():
        for side in ("harness", "compose"):
            print(f"{name:28} {side:8} " + " ".join(f"{found['medians'][side][phase]:>12.2f}s" for phase in PHASES))
        print(f"{name:28} {'ratio':8} " + " ".join(f"{found['ratio_harness_to_compose'][phase]:>12.2f}x" for phase in PHASES))
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(json.dumps({"machine": machine, "rounds": rounds, "results": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
