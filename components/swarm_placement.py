"""Says, before a service is created or changed, whether any swarm node can take one of its tasks, and if not why.

pulumi-docker only waits for the tasks and then reports that the service "did not converge"; Swarm keeps
them pending with "no suitable node". The SwarmService's placement check feeds this file to `python3 -`
with DOCKER_HOST set to the manager and SERVICE_NAME, SERVICE_CONSTRAINTS (JSON list), SERVICE_NANO_CPUS
and SERVICE_MEMORY_BYTES (the reservation) set. Standard library and the docker CLI only: it runs
wherever `pulumi up` runs.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any, Iterable, Mapping, Optional


def node_attribute(node: Mapping[str, Any], name: str) -> Optional[str]:
    """The value a constraint's left side names (Swarm's own set), or None for one Swarm does not know."""
    spec, description = node.get("Spec") or {}, node.get("Description") or {}
    platform = description.get("Platform") or {}
    fixed = {
        "node.id": node.get("ID"),
        "node.hostname": description.get("Hostname"),
        "node.role": spec.get("Role"),
        "node.platform.os": platform.get("OS"),
        "node.platform.arch": platform.get("Architecture"),
    }
    if name in fixed:
        return fixed[name]
    for prefix, labels in (("node.labels.", spec.get("Labels")), ("engine.labels.", (description.get("Engine") or {}).get("Labels"))):
        if name.startswith(prefix):
            return (labels or {}).get(name[len(prefix):])
    return None


def unmet(node: Mapping[str, Any], constraints: Iterable[str], nano_cpus: int, memory_bytes: int) -> list[str]:
    """Why `node` cannot take a task: the constraints it fails, a reservation beyond what it has, or its state."""
    reasons = []
    if (node.get("Spec") or {}).get("Availability") != "active":
        reasons.append(f"availability {(node.get('Spec') or {}).get('Availability')}")
    if (node.get("Status") or {}).get("State") != "ready":
        reasons.append(f"state {(node.get('Status') or {}).get('State')}")
    for constraint in constraints:
        operator = "!=" if "!=" in constraint else "=="
        name, wanted = (part.strip() for part in constraint.split(operator, 1))
        value = node_attribute(node, name)
        if (value == wanted) != (operator == "=="):
            reasons.append(f"{constraint} ({name} is {value!r})")
    resources = (node.get("Description") or {}).get("Resources") or {}
    if nano_cpus and resources.get("NanoCPUs", 0) < nano_cpus:
        reasons.append(f"reserves {nano_cpus / 1e9:g} CPUs, has {resources.get('NanoCPUs', 0) / 1e9:g}")
    if memory_bytes and resources.get("MemoryBytes", 0) < memory_bytes:
        reasons.append(f"reserves {memory_bytes >> 20} MiB, has {resources.get('MemoryBytes', 0) >> 20} MiB")
    return reasons


def placement_problem(service: str, nodes: list[Mapping[str, Any]], constraints: list[str], nano_cpus: int, memory_bytes: int) -> Optional[str]:
    """None when some node can take a task; else one line per node saying why not."""
    why = {(node.get("Description") or {}).get("Hostname", node.get("ID")): unmet(node, constraints, nano_cpus, memory_bytes) for node in nodes}
    if any(not reasons for reasons in why.values()):
        return None
    lines = [f"swarm service {service} cannot be placed on any node:"]
    lines += [f"  {host}: {'; '.join(reasons)}" for host, reasons in sorted(why.items())]
    return "\n".join(lines)


def swarm_nodes() -> list[dict[str, Any]]:
    ids = subprocess.run(["docker", "node", "ls", "--quiet"], check=True, capture_output=True, text=True).stdout.split()
    found = subprocess.run(["docker", "node", "inspect", *ids], check=True, capture_output=True, text=True).stdout
    return json.loads(found)


def main() -> int:
    problem = placement_problem(
        os.environ["SERVICE_NAME"],
        swarm_nodes(),
        json.loads(os.environ.get("SERVICE_CONSTRAINTS") or "[]"),
        int(os.environ.get("SERVICE_NANO_CPUS") or 0),
        int(os.environ.get("SERVICE_MEMORY_BYTES") or 0),
    )
    if problem:
        print(problem, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
