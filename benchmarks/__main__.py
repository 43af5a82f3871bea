"""Every benchmark, one after the other: `python -m benchmarks [--smallest] [--only NAME ...] [--list]`.

A benchmark is any module of this package with a `main(argv)` that takes `--smallest` (its
smallest size, once: what CI runs, judging no time) and `--out FILE` (its JSON results); the
modules in HELPERS are not. Each runs in a process of its own, so one failing does not stop the
others and none inherits another's Pulumi mocks. Full runs write benchmarks/results/<name>.json and
redraw the plots beside the README; `--smallest` writes to a temporary folder unless `--out-dir`
says where, so it never replaces the committed results.
"""
from __future__ import annotations

import argparse
import ast
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PACKAGE_DIR = Path(__file__).parent
PROJECT_DIR = PACKAGE_DIR.parent
RESULTS_DIR = PACKAGE_DIR / "results"
# Modules that are not benchmarks themselves: what a benchmark runs, and the plots.
HELPERS = frozenset({"plan_program", "plots"})
# Planned under mocks first (seconds), then what needs the engine.
FIRST = ("plan_time", "graph_shape")


def has_main(path: Path) -> bool:
    """Whether the module defines `main` (read without importing it: some import the Docker SDK)."""
    return any(isinstance(node, ast.FunctionDef) and node.name == "main" for node in ast.parse(path.read_text()).body)


def benchmarks() -> list[str]:
    names = {
        path.stem for path in PACKAGE_DIR.glob("*.py")
        if not path.stem.startswith("_") and path.stem not in HELPERS and has_main(path)
    }
    return [name for name in FIRST if name in names] + sorted(names - set(FIRST))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smallest", action="store_true", help="each benchmark at its smallest size, once")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="just these benchmarks")
    parser.add_argument("--list", action="store_true", help="print the benchmarks and stop")
    parser.add_argument("--out-dir", type=Path, help="where the JSON results go (default: benchmarks/results)")
    options = parser.parse_args(argv)
    names = benchmarks()
    if options.list:
        print("\n".join(names))
        return 0
    unknown = sorted(set(options.only or ()) - set(names))
    if unknown:
        parser.error(f"no such benchmark: {', '.join(unknown)}; there are {', '.join(names)}")
    out_dir = options.out_dir or (Path(tempfile.mkdtemp(prefix="benchmarks-")) if options.smallest else RESULTS_DIR)
    out_dir.mkdir(parents=True, exist_ok=True)
    failed = []
    for name in options.only or names:
        arguments = [sys.executable, "-m", f"benchmarks.{name}", "--out", str(out_dir / f"{name}.json")]
        print(f"== {name}", flush=True)
        started = time.monotonic()
        if subprocess.run([*arguments, *(["--smallest"] if options.smallest else [])], cwd=PROJECT_DIR, check=False).returncode:
            failed.append(name)
        print(f"== {name}: {'FAILED' if name in failed else 'done'} in {time.monotonic() - started:.1f} s\n", flush=True)
    plots_dir = PACKAGE_DIR if out_dir == RESULTS_DIR else out_dir
    subprocess.run([sys.executable, "-m", "benchmarks.plots", "--results", str(out_dir), "--out-dir", str(plots_dir)], cwd=PROJECT_DIR, check=True)
    print(f"results in {out_dir}" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
