"""How each stack's resources depend on each other: `python -m benchmarks.graph_shape [--out FILE]`.

For `dev`, `dev` with three Consul servers and `cluster`, planned under mocks: how many resources,
and the longest dependency chain (every step waits for the one before, so this is the least number
of sequential operations a `pulumi up` from nothing takes), printed step by step with the reason for
each edge. The chain the system needs at the least is network -> Consul server -> readiness ->
catalog registration -> worker: 5 steps; whatever is longer is listed, so each extra edge can be
judged.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from tests.support.program import run_program
from tests.support.recording import ComputedOutputs, RecordingMonitor, Registration

SCENARIOS = {"dev": ("dev", {}), "dev-3-servers": ("dev", {"consulServers": 3}), "cluster": ("cluster", {})}
NEEDED_CHAIN = 5
DEFAULT_OUT = Path(__file__).parent / "results" / "graph_shape.json"


def registrations(stack: str, overrides: dict[str, Any], components: bool = False) -> list[Registration]:
    """What the stack registers under mocks: its custom resources, and its components too with `components`."""
    mocks = ComputedOutputs()
    monitor = RecordingMonitor(mocks)
    run_program(mocks, stack, overrides, monitor=monitor)
    return [r for r in monitor.registrations if r.custom or components]


def prerequisites(resources: list[Registration]) -> dict[str, set[str]]:
    """Each resource's URN -> the URNs that must exist before it: its dependencies and its provider."""
    known = {r.urn for r in resources}
    return {
        r.urn: {urn for urn in (*r.dependencies, r.provider_urn) if urn in known and urn != r.urn} for r in resources
    }


def longest_chain(resources: list[Registration]) -> list[Registration]:
    """The longest path through the dependency graph, first resource first."""
    needs = prerequisites(resources)
    by_urn = {r.urn: r for r in resources}
    best: dict[str, list[str]] = {}

    def chain_to(urn: str) -> list[str]:
        if urn not in best:
            before = max((chain_to(need) for need in needs[urn]), key=len, default=[])
            best[urn] = [*before, urn]
        return best[urn]

    longest = max((chain_to(urn) for urn in needs), key=len)
    return [by_urn[urn] for urn in longest]


def shape(name: str) -> dict[str, Any]:
    stack, overrides = SCENARIOS[name]
    resources = registrations(stack, overrides)
    chain = longest_chain(resources)
    return {
        "scenario": name,
        "resources": len(resources),
        "edges": sum(len(needs) for needs in prerequisites(resources).values()),
        "longest_chain": len(chain),
        "needed_chain": NEEDED_CHAIN,
        "chain": [f"{r.name} ({r.type.rsplit(':', 1)[-1]})" for r in chain],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smallest", action="store_true", help="accepted for the runner: every scenario is small")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    arguments = parser.parse_args(argv)
    rows = [shape(name) for name in SCENARIOS]
    print(f"{'scenario':15} {'resources':>9} {'edges':>6} {'longest chain':>13} {'needed':>6}")
    for row in rows:
        print(f"{row['scenario']:15} {row['resources']:>9} {row['edges']:>6} {row['longest_chain']:>13} {row['needed_chain']:>6}")
    for row in rows:
        print(f"\n{row['scenario']}: " + "\n  -> ".join(row["chain"]))
    arguments.out.parent.mkdir(parents=True, exist_ok=True)
    arguments.out.write_text(json.dumps({"rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
