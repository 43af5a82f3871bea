"""One plan of a stack under Pulumi mocks, in a process of its own: `python -m benchmarks.plan_program SCENARIO`.

What `pulumi preview` spends in our Python: interpreter start, imports, config checks and every
registration. SCENARIO is `dev`, `cluster` (Pulumi.cluster.yaml's three hosts), `hosts-N` (a cluster
of N generated hosts), or `bare KINDS.json`: the kinds and counts of resources another scenario
registered, registered flat by a program with no components, config or logic, to show what our own
code costs. Prints one JSON line: how many resources of each kind were registered.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from collections import Counter
from typing import Any

import pulumi

from tests.harness.inline import run_inline
from tests.support.program import run_program
from tests.support.recording import ComputedOutputs, RecordingMonitor


def generated_hosts(count: int) -> list[dict[str, Any]]:
    """N hosts: five Consul servers (three when fewer than five), workers on the rest, the client on the last."""
    servers = 5 if count >= 5 else 3
    hosts = []
    for index in range(count):
        roles = ["consul-server"] if index < servers else []
        roles.append("client" if index == count - 1 else "app")
        # Documentation addresses (never contacted: the mocks perform nothing).
        address = f"198.18.{index // 250}.{index % 250 + 1}"
        hosts.append({"name": f"host{index}", "docker": f"tcp://{address}:2376", "address": address, "roles": roles})
    return hosts


def cluster_overrides(count: int) -> dict[str, Any]:
    return {"environment": "cluster", "hosts": generated_hosts(count), "registry": "198.18.0.1:5000"}


def plan(scenario: str) -> Counter:
    """Runs the program for `scenario`; returns how many resources of each kind it registered."""
    mocks = ComputedOutputs()
    monitor = RecordingMonitor(mocks)
    if scenario in ("dev", "cluster"):
        run_program(mocks, scenario, monitor=monitor)
    elif scenario.startswith("hosts-"):
        run_program(mocks, "bench", cluster_overrides(int(scenario.removeprefix("hosts-"))), monitor=monitor)
    else:
        raise SystemExit(f"unknown scenario {scenario!r}")
    return Counter(r.type for r in monitor.registrations)


def plan_bare(kinds: dict[str, int]) -> Counter:
    """`kinds` registered flat, with only the inputs the mocks need: the floor of what a plan can cost."""
    mocks = ComputedOutputs()
    monitor = RecordingMonitor(mocks)

    def program() -> None:
        for kind, number in kinds.items():
            for index in range(number):
                name = f"{kind.rsplit(':', 1)[-1]}-{index}"
                if kind.startswith("pulumi:providers:"):
                    pulumi.ProviderResource(kind.removeprefix("pulumi:providers:"), name, {})
                elif kind.startswith("orchestration:"):
                    pulumi.ComponentResource(kind, name)
                else:
                    pulumi.CustomResource(kind, name, {"name": name, "imageName": f"bare/{name}:x"})

    run_inline(mocks, program, project="bench", monitor=monitor)
    return Counter(r.type for r in monitor.registrations)


if __name__ == "__main__":
    if sys.argv[1] == "bare":
        registered = plan_bare(json.loads(Path(sys.argv[2]).read_text()))
    else:
        registered = plan(sys.argv[1])
    print(json.dumps(dict(registered)))
