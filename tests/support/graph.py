"""Renders the dev stack's resource tree, as docs/design.md shows it: `python -m tests.support.graph`."""
from __future__ import annotations

from tests.support.program import run_program
from tests.support.recording import ComputedOutputs, RecordingMonitor


def resource_tree(stack: str = "dev") -> str:
    mocks = ComputedOutputs()
    monitor = RecordingMonitor(mocks)
    run_program(mocks, stack, monitor=monitor)
    registrations = sorted(monitor.registrations, key=lambda r: r.urn)
    children: dict[str, list] = {}
    for registration in registrations:
        children.setdefault(registration.parent, []).append(registration)
    roots = [r for r in registrations if r.parent not in {other.urn for other in registrations}]
    lines = [f"{stack} stack"]

    def draw(registration, indent: str, last: bool) -> None:
        package, _, kind = registration.type.rpartition(":")
        kind = f"{kind} provider" if package == "pulumi:providers" else kind.split("/")[-1]
        lines.append(f"{indent}{'└─' if last else '├─'} {registration.name} ({kind})")
        below = children.get(registration.urn, [])
        for index, child in enumerate(below):
            draw(child, indent + ("   " if last else "│  "), index == len(below) - 1)

    for index, root in enumerate(roots):
        draw(root, "", index == len(roots) - 1)
    return "\n".join(lines)


if __name__ == "__main__":
    print(resource_tree())
