"""How the engine schedules a destroy: `pulumi destroy` deletes in antichains, as
`stepGenerator.ScheduleDeletes` (pulumi/pkg/resource/deploy/step_generator.go) cuts them.

Each antichain holds what nothing left depends on (its dependencies, provider and parent counted, component
resources included); an antichain starts only once the one before has finished. So a resource's place
in a destroy follows the longest chain of dependencies under it, and one slow delete (pulumi-docker
waits 2 s before removing a network or a volume) holds back everything in the antichains after it.
"""
from __future__ import annotations

from typing import Iterable

from tests.support.recording import Registration


def delete_antichains(registrations: Iterable[Registration]) -> list[list[Registration]]:
    """The antichains a destroy of `registrations` runs, first deleted first."""
    by_urn = {r.urn: r for r in registrations}
    needs = {
        urn: {dependency for dependency in (*r.dependencies, r.provider_urn, r.parent) if dependency in by_urn and dependency != urn}
        for urn, r in by_urn.items()
    }
    condemned = set(by_urn)
    antichains: list[list[Registration]] = []
    while condemned:
        last = sorted(urn for urn in condemned if not needs[urn] & condemned)
        if not last:
            raise ValueError(f"a dependency cycle among {sorted(condemned)}")
        antichains.append([by_urn[urn] for urn in last])
        condemned -= set(last)
    return antichains[::-1]
