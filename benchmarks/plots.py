"""The plots beside benchmarks/README.md, drawn from results/*.json: `python -m benchmarks.plots`.

plan_time.png: plan time against hosts, ours and the bare program's, and the time per resource.
converge.png: each converge phase, harness against `docker compose` (and the other sides measured).
A plot whose results file is missing is left out. Returns the files written.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402 (after choosing the backend)

PACKAGE_DIR = Path(__file__).parent


def plan_time(results: dict, out: Path) -> None:
    rows = sorted((row for row in results["rows"] if row["scenario"].startswith("hosts-")), key=lambda row: int(row["scenario"][6:]))
    hosts = [int(row["scenario"][6:]) for row in rows]
    figure, (seconds, per_resource) = plt.subplots(1, 2, figsize=(10, 4))
    seconds.plot(hosts, [row["seconds"] for row in rows], "o-", label="our program")
    seconds.plot(hosts, [row["bare_seconds"] for row in rows], "s--", label="bare program, same resources")
    seconds.set(xlabel="hosts", ylabel="seconds (median)", title="Plan under mocks")
    per_resource.plot(hosts, [row["ms_per_resource"] for row in rows], "o-", label="our program")
    per_resource.plot(hosts, [row["bare_ms_per_resource"] for row in rows], "s--", label="bare program")
    per_resource.set(xlabel="hosts", ylabel="ms per resource", title="Per resource", ylim=(0, None))
    for axes in (seconds, per_resource):
        axes.grid(alpha=0.3)
        axes.legend()
    machine = results.get("machine", {})
    figure.suptitle(f"median of {results.get('runs')} runs, {machine.get('cores')} cores", fontsize=9)
    figure.tight_layout()
    figure.savefig(out, dpi=100)
    plt.close(figure)


def converge(results: dict, out: Path) -> None:
    sides = list(results["results"])
    phases = list(next(iter(results["results"].values())))
    width = 0.8 / len(sides)
    figure, axes = plt.subplots(figsize=(8, 4))
    for index, side in enumerate(sides):
        positions = [phase + (index - (len(sides) - 1) / 2) * width for phase in range(len(phases))]
        values = [results["results"][side][phase] for phase in phases]
        bars = axes.bar(positions, values, width, label=side)
        axes.bar_label(bars, fmt="%.1f s", fontsize=8)
    ratio = results.get("ratio_harness_to_compose", {})
    axes.set_xticks(range(len(phases)), [f"{phase}\n(harness/compose {ratio.get(phase, '?')}x)" for phase in phases])
    axes.set(ylabel="seconds (median)", title=f"Converge on the real engine, median of {results.get('rounds')} round(s)")
    axes.grid(axis="y", alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(out, dpi=100)
    plt.close(figure)


PLOTS = {"plan_time": plan_time, "converge": converge}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=PACKAGE_DIR / "results", help="folder of the JSON results")
    parser.add_argument("--out-dir", type=Path, default=PACKAGE_DIR, help="where the PNGs go")
    options = parser.parse_args(argv)
    options.out_dir.mkdir(parents=True, exist_ok=True)
    for name, draw in PLOTS.items():
        source = options.results / f"{name}.json"
        if source.exists():
            draw(json.loads(source.read_text()), options.out_dir / f"{name}.png")
            print(f"drew {options.out_dir / f'{name}.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
