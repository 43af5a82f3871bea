"""`pulumi up` (through the real Pulumi CLI, and through the apply harness) against `docker compose up --wait`
of the same compose files, on the real engine: `python -m benchmarks.compose_files [--rounds N] [--smallest]`.

For three real projects' files of tests/data/compose/corpus (images stood in for by local ones, as in
tests/e2e/test_compose_corpus_engine.py), side by side in one run, alternating, N rounds: each side's
`up` until it returns (everything it waits for running or healthy), the `up` again with nothing changed,
and the `down` (`pulumi destroy`). The real CLI's side runs where `pulumi` and its plugins are on PATH
(tests/e2e/real_pulumi.py), else is left out with the reason. Reports the medians and, per file and phase,
each side / compose as a ratio; writes benchmarks/results/compose_files.json.
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
from tests.e2e.real_pulumi import missing_toolchain

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


def real_round(case: Case) -> dict[str, float]:
    case.real_init()  # the stack's creation is no part of an `up`
    try:
        up = timed(case.real_up)
        again = timed(case.real_up)
    except BaseException:
        case.real_down()
        raise
    return {"up": up, "no-change up": again, "down": timed(case.real_down)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--smallest", action="store_true", help="one round")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    options = parser.parse_args(argv)
    rounds = 1 if options.smallest else options.rounds
    engine = docker.from_env(timeout=600)
    build_local_images(engine)
    real_missing = missing_toolchain()
    if real_missing:
        print(f"no real-CLI side: {real_missing}")
    rounds_of = {"compose": compose_round, "harness": harness_round, **({} if real_missing else {"real": real_round})}
    results: dict[str, Any] = {}
    for name in FILES:
        samples: dict[str, list[dict[str, float]]] = {side: [] for side in rounds_of}
        with tempfile.TemporaryDirectory() as workdir, stand_ins(engine, CASES[name]["stand_ins"]):
            case = Case(name, Path(workdir), project=f"bench-{name}")
            try:
                for _ in range(rounds):  # alternating, so a slow spell of the shared machine hits every side alike
                    for side, round_of in rounds_of.items():
                        samples[side].append(round_of(case))
            finally:
                case.close()
        medians = {side: {phase: round(statistics.median(r[phase] for r in found), 2) for phase in PHASES} for side, found in samples.items()}
        ratios = {
            side: {phase: round(medians[side][phase] / medians["compose"][phase], 2) for phase in PHASES} for side in rounds_of if side != "compose"
        }
        results[name] = {"file": str(CASES[name]["folder"].name + "/" + CASES[name]["file"]), "medians": medians, "ratio_to_compose": ratios,
                         "samples": samples}
    machine = {"cores": os.cpu_count(), "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)}
    print(f"compose files on the real engine, median of {rounds} round(s); machine: {machine['cores']} cores, {machine['memory_gib']} GiB")
    print(f"{'file':28} {'side':14} " + " ".join(f"{phase:>13}" for phase in PHASES))
    for name, found in results.items():
        for side in rounds_of:
            print(f"{name:28} {side:14} " + " ".join(f"{found['medians'][side][phase]:>12.2f}s" for phase in PHASES))
        for side, ratio in found["ratio_to_compose"].items():
            print(f"{name:28} {side + ' / compose':14} " + " ".join(f"{ratio[phase]:>12.2f}x" for phase in PHASES))
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(json.dumps({"machine": machine, "rounds": rounds, "results": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
