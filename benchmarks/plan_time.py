"""Plan time and memory of the program under Pulumi mocks: `python -m benchmarks.plan_time [--smallest]`.

Each plan runs in a fresh process (benchmarks.plan_program), so interpreter start and imports count,
as they do for `pulumi preview`, with compiled modules cached as Python does by default (in a folder
of the benchmark's own, whatever PYTHONDONTWRITEBYTECODE says). For dev, the three-host cluster and
generated clusters of 10, 50 and 200 hosts: the median wall time and peak RSS of RUNS runs, per
resource; beside it, in the same run, two floors as ratios: the same kinds and counts registered by
a bare program with minimal inputs, and the same registrations with the same inputs (see
plan_program); and the growth per host (least squares over the generated clusters). Prints a
table, writes benchmarks/results/plan_time.json.
`--smallest`: dev and 10 hosts, one run each, so CI keeps this code working without timing anything.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
RESULTS = PROJECT_DIR / "benchmarks" / "results" / "plan_time.json"


# As a user's Python does by default; kept out of the repository.
BYTECODE_CACHE = tempfile.TemporaryDirectory(prefix="plan-time-pycache-")
ENVIRONMENT = {
    **{key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"},
    "PYTHONPYCACHEPREFIX": BYTECODE_CACHE.name,
}


def measure(*arguments: str) -> tuple[float, int, dict[str, int], float]:
    """Wall seconds, peak RSS in KiB, kinds registered and CPU seconds (user and system) of one plan in its own
    process. On a shared machine the CPU seconds move less: the wall time adds the waits for a core."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as output, tempfile.TemporaryFile("w+") as errors:
        process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.plan_program", *arguments], cwd=PROJECT_DIR, env=ENVIRONMENT, stdout=output, stderr=errors
        )
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            errors.seek(0)
            raise SystemExit(f"plan {' '.join(arguments)} failed:\n{errors.read()[-3000:]}")
        output.seek(0)
        return seconds, usage.ru_maxrss, json.loads(output.read()), usage.ru_utime + usage.ru_stime


def scenario(name: str, runs: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as folder:
        registrations = Path(folder) / "registrations.json"
        # Untimed: captures what bare-inputs registers, and compiles what every plan imports.
        measure(name, "--capture", str(registrations))
        samples = [measure(name) for _ in range(runs)]
        kinds = samples[0][2]
        (Path(folder) / "kinds.json").write_text(json.dumps(kinds))
        bare = [measure("bare", str(Path(folder) / "kinds.json")) for _ in range(runs)]
        same_inputs = [measure("bare-inputs", str(registrations)) for _ in range(runs)]
    resources = sum(kinds.values())
    seconds = statistics.median(s[0] for s in samples)
    bare_seconds = statistics.median(s[0] for s in bare)
    same_inputs_seconds = statistics.median(s[0] for s in same_inputs)
    cpu, same_inputs_cpu = statistics.median(s[3] for s in samples), statistics.median(s[3] for s in same_inputs)
    return {
        "scenario": name,
        "resources": resources,
        "seconds": round(seconds, 3),
        "peak_rss_mib": round(statistics.median(s[1] for s in samples) / 1024, 1),
        "ms_per_resource": round(1000 * seconds / resources, 2),
        "bare_seconds": round(bare_seconds, 3),
        "bare_ms_per_resource": round(1000 * bare_seconds / resources, 2),
        "ratio_to_bare": round(seconds / bare_seconds, 2),
        "same_inputs_seconds": round(same_inputs_seconds, 3),
        "ratio_to_same_inputs": round(seconds / same_inputs_seconds, 2),
        "cpu_seconds": round(cpu, 3),
        "same_inputs_cpu_seconds": round(same_inputs_cpu, 3),
        "cpu_ratio_to_same_inputs": round(cpu / same_inputs_cpu, 2),
    }


def slope(rows: list[dict[str, object]], key: str) -> float | None:
    """Least-squares growth of `key` per host over the generated clusters (None with fewer than two)."""
    points = [(int(str(row["scenario"]).removeprefix("hosts-")), float(row[key])) for row in rows if str(row["scenario"]).startswith("hosts-")]
    if len(points) < 2:
        return None
    mean_x = statistics.mean(x for x, _ in points)
    mean_y = statistics.mean(y for _, y in points)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / sum((x - mean_x) ** 2 for x, _ in points)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smallest", action="store_true", help="dev and 10 hosts, one run each")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--scenarios", nargs="+", metavar="NAME", help="only these (default: dev, cluster, hosts-10, hosts-50, hosts-200)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    options = parser.parse_args(argv)
    runs = 1 if options.smallest else options.runs
    names = ["dev", "hosts-10"] if options.smallest else options.scenarios or ["dev", "cluster", "hosts-10", "hosts-50", "hosts-200"]
    rows = [scenario(name, runs) for name in names]
    machine = {"cores": os.cpu_count(), "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1), "python": platform.python_version()}
    growth = {
        "seconds_per_host": slope(rows, "seconds"),
        "bare_seconds_per_host": slope(rows, "bare_seconds"),
        "same_inputs_seconds_per_host": slope(rows, "same_inputs_seconds"),
    }
    machine["load_average_at_end"] = os.getloadavg()
    print(f"plan under mocks, median of {runs}; machine: {machine['cores']} cores, {machine['memory_gib']} GiB, Python {machine['python']},"
          f" load {machine['load_average_at_end'][0]:.1f}")
    print(
        f"{'scenario':<10} {'resources':>9} {'seconds':>8} {'MiB':>6} {'ms/res':>7} {'bare s':>7} {'bare ms/res':>11} {'x bare':>6}"
        f" {'same-inputs s':>13} {'x same':>6} {'CPU s':>6} {'same CPU s':>10} {'x same CPU':>10}"
    )
    for row in rows:
        print(
            f"{row['scenario']:<10} {row['resources']:>9} {row['seconds']:>8.3f} {row['peak_rss_mib']:>6.1f} {row['ms_per_resource']:>7.2f} "
            f"{row['bare_seconds']:>7.3f} {row['bare_ms_per_resource']:>11.2f} {row['ratio_to_bare']:>6.2f}"
            f" {row['same_inputs_seconds']:>13.3f} {row['ratio_to_same_inputs']:>6.2f}"
            f" {row['cpu_seconds']:>6.2f} {row['same_inputs_cpu_seconds']:>10.2f} {row['cpu_ratio_to_same_inputs']:>10.2f}"
        )
    if growth["seconds_per_host"] is not None:
        print(
            f"growth: {growth['seconds_per_host'] * 1000:.1f} ms per host (bare {growth['bare_seconds_per_host'] * 1000:.1f} ms,"
            f" same inputs {growth['same_inputs_seconds_per_host'] * 1000:.1f} ms)"
        )
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(json.dumps({"machine": machine, "runs": runs, "rows": rows, "growth": growth}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
