"""One plan of a stack under Pulumi mocks, in a process of its own: `python -m benchmarks.plan_program SCENARIO`.

What `pulumi preview` spends in our Python: interpreter start, imports, config checks and every
registration. SCENARIO is `dev`, `cluster` (Pulumi.cluster.yaml's three hosts), `hosts-N` (a cluster
of N generated hosts), `bare KINDS.json`: the kinds and counts of resources another scenario
registered, registered flat by a program with no components, config or logic, to show what our own
code costs, or `bare-inputs REGISTRATIONS.json`: every registration another scenario made, with the
same types, names, input values and number of properties (a generated SDK class such as
`docker.Container` declares every input and output of its type, about 80, and the SDK makes an
Output of each), registered flat, so what the inputs and the SDK classes cost is paid on both sides
and the difference is our code's. A scenario followed by `--capture FILE` writes its registrations
there for `bare-inputs`.
Prints one JSON line: how many resources of each kind were registered.
"""
from __future__ import annotations

import contextlib
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Iterator

import pulumi

from stacks import collector
from tests.harness.inline import run_inline
from tests.support.program import run_program
from tests.support.recording import ComputedOutputs, RecordingMonitor, Registration


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


def plan(scenario: str, capture: Path | None = None, own_process: bool = False) -> list[Registration]:
    """Runs the program for `scenario`; returns its registrations.

    With `capture`, writes each one's type, name, inputs and number of properties there as JSON.
    `own_process`: the process ends with the plan, as the language host's does (see run_program).
    """
    mocks = ComputedOutputs()
    monitor = RecordingMonitor(mocks)
    with _counting_properties() as properties:
        if scenario in ("dev", "cluster"):
            run_program(mocks, scenario, monitor=monitor, own_process=own_process)
        elif scenario.startswith("hosts-"):
            run_program(mocks, "bench", cluster_overrides(int(scenario.removeprefix("hosts-"))), monitor=monitor, own_process=own_process)
        else:
            raise SystemExit(f"unknown scenario {scenario!r}")
    if capture:
        capture.write_text(json.dumps([[r.type, r.name, r.inputs, properties[r.type, r.name]] for r in monitor.registrations]))
    return monitor.registrations


@contextlib.contextmanager
def _counting_properties() -> Iterator[dict[tuple[str, str], int]]:
    """Meanwhile, how many properties each registration hands the SDK (inputs and outputs, set or not), by type and name."""
    counts: dict[tuple[str, str], int] = {}
    register = pulumi.resource.register_resource

    def counting(res, ty, name, custom, remote, new_dependency, props, *rest, **keywords):  # type: ignore[no-untyped-def]
        assert (ty, name) not in counts, f"two registrations of {ty} {name}"
        # As the SDK's transfer_properties does: these two are not properties of their own.
        counts[ty, name] = sum(1 for key in props if key != "urn" and not (key == "id" and custom))
        return register(res, ty, name, custom, remote, new_dependency, props, *rest, **keywords)

    pulumi.resource.register_resource = counting
    try:
        yield counts
    finally:
        pulumi.resource.register_resource = register


def plan_bare(kinds: dict[str, int]) -> list[Registration]:
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
    return monitor.registrations


# Classes of their own, as every SDK's and component's are: the SDK records the stack of each
# registration (where it was declared) only when it finds such a class's constructor on the stack.
class _Custom(pulumi.CustomResource):
    def __init__(self, kind: str, name: str, props: dict[str, Any]) -> None:
        super().__init__(kind, name, props)


class _Provider(pulumi.ProviderResource):
    def __init__(self, package: str, name: str, props: dict[str, Any]) -> None:
        super().__init__(package, name, props)


class _Component(pulumi.ComponentResource):
    def __init__(self, kind: str, name: str, props: dict[str, Any]) -> None:
        super().__init__(kind, name, props)


def plan_bare_inputs(registrations: list[list[Any]], collector_as_main: bool = False) -> list[Registration]:
    """Each of `registrations` (type, name, inputs, property count) registered flat with its own inputs, as plain values.

    The floor of a plan that sends the same inputs through as many properties: no component
    hierarchy, options, Outputs between resources, or logic. `collector_as_main` sets the garbage
    collector as __main__.py does, so what differs is code, not a setting (in a process of its own).
    """
    if collector_as_main:
        collector.relax()
    mocks = ComputedOutputs()
    monitor = RecordingMonitor(mocks)

    def program() -> None:
        for kind, name, inputs, properties in registrations:
            # Unset, as a generated class leaves its outputs: never sent, but each one an Output.
            props = {**inputs, **{f"unset{index}": None for index in range(properties - len(inputs))}}
            if kind.startswith("pulumi:providers:"):
                _Provider(kind.removeprefix("pulumi:providers:"), name, props)
            elif kind.startswith("orchestration:"):
                _Component(kind, name, props)
            else:
                _Custom(kind, name, props)
        if collector_as_main:
            collector.keep_declared()

    run_inline(mocks, program, project="bench", monitor=monitor)
    return monitor.registrations


if __name__ == "__main__":
    if sys.argv[1] == "bare":
        registered = plan_bare(json.loads(Path(sys.argv[2]).read_text()))
    elif sys.argv[1] == "bare-inputs":
        registered = plan_bare_inputs(json.loads(Path(sys.argv[2]).read_text()), collector_as_main=True)
    else:
        registered = plan(sys.argv[1], Path(sys.argv[3]) if sys.argv[2:3] == ["--capture"] else None, own_process=True)
    print(json.dumps(dict(Counter(r.type for r in registered))))
