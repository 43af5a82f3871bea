"""A no-change `pulumi preview` of `dev` against an empty Python program's, through the real CLI:
`python -m benchmarks.preview [--runs N] [--smallest] [--baseline REF] [--three-servers] [--profile]`.

`dev` is deployed through the real Pulumi CLI and providers (tests/e2e/real_pulumi.py: a copy of the
project, a local backend in a temp dir, this machine's images), then, alternating, N times each:
`pulumi preview --expect-no-changes` of `dev`, and `pulumi preview` of a program that only imports
pulumi, in a project of its own with the same runtime options, virtualenv, backend kind and
passphrase secrets provider: the floor any Python program pays here (the CLI's start, the language
host, Python and the SDK). Best of N each (the machine is shared), their ratio, and the 1-min load
average. `--baseline REF` adds the program as it is at git REF (say `main`), previewed against the
same stack and state, alternating with the others: what a change of ours saved. `--three-servers`
then does the same for `dev` with three Consul servers, ACLs and TLS (the three-server real-CLI
test's stack; one stack at a time, as both are `dev`'s containers), beside the empty program again,
and gives that ratio too. `--profile` adds one preview of each with the CLI's `-v=9` log, whose timestamps give the
phases (see the README). Without the real CLI and its plugins it prints one line and stops.
Writes benchmarks/results/preview.json.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

DEFAULT_OUT = Path(__file__).parent / "results" / "preview.json"
EMPTY_PROGRAM = "import pulumi  # noqa: F401 (the floor: the SDK imported, nothing declared)\n"


def empty_project(beside: Any) -> Any:
    """A project holding only `import pulumi`, the same runtime options as ours, its state beside `beside`'s."""
    from tests.e2e.real_pulumi import RealProject

    empty = RealProject("dev")
    for entry in empty.dir.iterdir():
        if entry.name not in ("Pulumi.yaml", "venv"):
            shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
    project = yaml.safe_load((empty.dir / "Pulumi.yaml").read_text())
    (empty.dir / "Pulumi.yaml").write_text(
        yaml.safe_dump({key: project[key] for key in ("name", "runtime", "backend") if key in project}, sort_keys=False)
    )
    (empty.dir / "__main__.py").write_text(EMPTY_PROGRAM)
    empty.init()
    return empty


def baseline_project(dev: Any, ref: str) -> Any:
    """The program at git `ref`, in a copy of its own, previewing `dev`'s stack: same backend, same config,
the same apps/."""
    from tests.e2e.real_pulumi import RealProject
    from tests.support.program import PROJECT_DIR

    baseline = RealProject("dev")
    archive = subprocess.run(["git", "archive", ref], cwd=PROJECT_DIR, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(baseline.dir)], input=archive, check=True)
    project = yaml.safe_load((baseline.dir / "Pulumi.yaml").read_text())
    project["backend"] = yaml.safe_load((dev.dir / "Pulumi.yaml").read_text())["backend"]
    (baseline.dir / "Pulumi.yaml").write_text(yaml.safe_dump(project, sort_keys=False))
    shutil.copy(dev.dir / "Pulumi.dev.yaml", baseline.dir / "Pulumi.dev.yaml")
    # The same workloads: only the program differs, so its images (built from apps/) are the stack's.
    shutil.rmtree(baseline.dir / "apps")
    shutil.copytree(dev.dir / "apps", baseline.dir / "apps")
    return baseline


def timed_preview(project: Any, *flags: str) -> float:
    started = time.monotonic()
    project.run("preview", *flags)
    return time.monotonic() - started


THREE_SERVERS = "dev, three servers, ACLs and TLS"
# tests/e2e/test_dev_stack_three_servers_real_pulumi.py's stack.
THREE_SERVERS_CONFIG = {"consulServers": 3, "consulAcl": True, "consulTls": True, "swarmAutolock": True}


def ratios(best: dict[str, float]) -> dict[str, float]:
    """Each program's best over the empty program's best measured beside it (in the same phase)."""
    found = {"dev / empty program": round(best["dev"] / best["empty program"], 2)}
    if THREE_SERVERS in best:
        found["three servers / empty program"] = round(best[THREE_SERVERS] / best[f"empty program, beside {THREE_SERVERS}"], 2)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--smallest", action="store_true", help="one preview each")
    parser.add_argument("--baseline", metavar="REF", help="the program at this git ref too, previewing the same stack")
    parser.add_argument("--three-servers", action="store_true", help=f"then {THREE_SERVERS}, beside the empty program again")
    parser.add_argument("--profile", action="store_true", help="one more of each with -v=9 logs kept beside the results")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    options = parser.parse_args(argv)
    from tests.e2e.real_pulumi import missing_toolchain

    reason = missing_toolchain()
    if reason:
        print(f"preview benchmark skipped: {reason}")
        return 0
    import docker

    from tests.e2e.real_pulumi import RealProject
    from tests.e2e.support import build_stand_in_images, machine_config

    runs = 1 if options.smallest else options.runs
    engine = docker.from_env()
    build_stand_in_images(engine)
    samples: dict[str, list[float]] = {}
    load = [os.getloadavg()[0]]
    empty = None
    # One stack at a time (both are `dev`'s containers, ports and swarm), each alternating with the empty program.
    phases = [("dev", {}), *([(THREE_SERVERS, THREE_SERVERS_CONFIG)] if options.three_servers else [])]
    try:
        for name, overrides in phases:
            stack = RealProject("dev")
            baseline = None
            beside = "empty program" if name == "dev" else f"empty program, beside {name}"
            try:
                stack.init()
                stack.set_config({**machine_config(), **overrides})
                stack.run("up", "--yes", "--skip-preview")
                empty = empty or empty_project(stack)
                previewed = [(name, stack, "--expect-no-changes"), (beside, empty)]
                if options.baseline and name == "dev":
                    baseline = baseline_project(stack, options.baseline)
                    previewed.append((f"dev at {options.baseline}", baseline, "--expect-no-changes"))
                for label, *_ in previewed:
                    samples[label] = []
                for _ in range(runs):
                    for label, project, *flags in previewed:
                        samples[label].append(timed_preview(project, *flags))
                    load.append(os.getloadavg()[0])
                if options.profile and name == "dev":
                    for label, project in (("dev", stack), ("empty program", empty)):
                        log = project.run("preview", "-v=9", "--logtostderr", "--logflow").stderr
                        options.out.with_name(f"preview-{label.replace(' ', '-')}.log").write_text(log)
            finally:
                stack.run("destroy", "--yes", "--skip-preview", check=False)
                stack.close()
                if baseline is not None:
                    baseline.close()
    finally:
        if empty is not None:
            empty.close()
    best = {name: round(min(found), 2) for name, found in samples.items()}
    found_ratios = ratios(best)
    version = subprocess.run(["pulumi", "version"], capture_output=True, text=True, check=False).stdout.strip()
    print(f"no-change preview, real CLI {version}, best of {runs}; 1-min load average {min(load):.1f}-{max(load):.1f}")
    for name, found in samples.items():
        print(f"  {name:44} best {best[name]:5.2f} s   runs " + ", ".join(f"{seconds:.2f}" for seconds in found))
    for name, ratio in found_ratios.items():
        print(f"  {name}: {ratio}x")
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(json.dumps({
        "cli": version, "runs": runs, "samples": samples, "best": best, "ratio": found_ratios["dev / empty program"],
        "ratios": found_ratios, "load_average_1min": load, "machine": {"cores": os.cpu_count()},
    }, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
