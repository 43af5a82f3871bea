"""What the harness remembers between applies: Pulumi's state file, in miniature.

Each managed resource is kept by URN with the inputs it was created from, its id
and outputs, and the provider configuration it was created with (so it can be
deleted later, even from a fresh process reading the JSON file). `order` is the
creation sequence: deletes run in reverse of it, as Pulumi's do. A create under way is kept
as a pending operation until it finishes, as the engine's snapshot keeps it: a killed run
leaves it in the file, and `deployment()` shows the state as `pulumi stack export` would.
"""
from __future__ import annotations

import dataclasses
import json
import threading
from pathlib import Path
from typing import Any, Iterator

OPERATIONS = ("create", "same", "update", "replace", "delete")


@dataclasses.dataclass
class ResourceRecord:
    urn: str
    type: str
    name: str
    id: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    provider_config: dict[str, Any]
    # Inputs the provider compares besides the declared ones (e.g. a build context digest).
    fingerprint: dict[str, Any] = dataclasses.field(default_factory=dict)
    order: int = 0
    # Top-level properties the engine stores encrypted (additionalSecretOutputs, or a secret input).
    secret_outputs: list[str] = dataclasses.field(default_factory=list)
    # The retainOnDelete option: replace and destroy drop it from the state without deleting it.
    retain_on_delete: bool = False
    # URNs of the resources (and provider) it depends on: deleted only after it.
    dependencies: list[str] = dataclasses.field(default_factory=list)
    # The registration's provider reference, `<provider URN>::<provider id>` ('' for the default one).
    provider: str = ""
    # Its longest chain of dependencies, parents and providers down to the root, components counted,
    # as it stood when it was registered: where the engine's destroy schedules its delete.
    delete_height: int = 0


@dataclasses.dataclass(frozen=True)
class Operation:
    op: str
    type: str
    name: str
    seconds: float = 0.0
    started: float = 0.0
    """time.monotonic() when it began: with `seconds`, where it sat in the run (benchmarks.converge)."""


class RunRecord:
    """The operations one apply (or destroy) performed, in completion order."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.operations: list[Operation] = []
        self.failed = False
        """An operation failed: the engine starts no other (no --continue-on-error)."""
        self._lock = threading.Lock()

    def add(self, operation: Operation) -> None:
        with self._lock:
            self.operations.append(operation)

    def of(self, *ops: str) -> list[Operation]:
        return [operation for operation in self.operations if operation.op in ops]

    def names(self, *ops: str) -> list[tuple[str, str, str]]:
        return [(operation.op, operation.type, operation.name) for operation in self.of(*ops)]

    def changes(self) -> list[tuple[str, str, str]]:
        """Everything that was not a no-op: what `pulumi up` would list as changes."""
        return self.names("create", "update", "replace", "delete")

    def __repr__(self) -> str:
        return f"RunRecord({self.label!r}, {[(o.op, o.type, o.name) for o in self.operations]})"


class StateStore:
    """Thread-safe dict of ResourceRecord by URN, optionally mirrored to a JSON file."""

    def __init__(self, path: str | Path | None = None) -> None:
        self._path = Path(path) if path else None
        self._lock = threading.RLock()
        self._records: dict[str, ResourceRecord] = {}
        self._pending_creates: dict[str, dict[str, Any]] = {}
        self._next_order = 1
        if self._path and self._path.exists():
            data = json.loads(self._path.read_text())
            for raw in data.get("resources", []):
                record = ResourceRecord(**raw)
                self._records[record.urn] = record
            self._pending_creates = {pending["urn"]: pending for pending in data.get("pending_creates", [])}
            self._next_order = data.get("next_order", len(self._records) + 1)

    def get(self, urn: str) -> ResourceRecord | None:
        with self._lock:
            return self._records.get(urn)

    def put(self, record: ResourceRecord, *, new_order: bool) -> None:
        with self._lock:
            if new_order or not record.order:
                record.order = self._next_order
                self._next_order += 1
            self._records[record.urn] = record
            self._save()

    def remove(self, urn: str) -> None:
        with self._lock:
            self._records.pop(urn, None)
            self._save()

    def begin_create(self, urn: str, type_: str, inputs: dict[str, Any], provider: str) -> None:
        """Written before the provider's create, as the engine writes its pending operation."""
        with self._lock:
            self._pending_creates[urn] = {"urn": urn, "type": type_, "inputs": inputs, "provider": provider}
            self._save()

    def end_create(self, urn: str) -> None:
        """The create finished, or failed with nothing made: nothing is pending for it any more."""
        with self._lock:
            if self._pending_creates.pop(urn, None) is not None:
                self._save()

    def deployment(self) -> dict[str, Any]:
        """The state shaped as `pulumi stack export` prints it (apitype.DeploymentV3), so recovery reads it alike."""
        with self._lock:
            resources = [
                {"urn": r.urn, "custom": True, "id": r.id, "type": r.type, "inputs": r.inputs, "outputs": r.outputs, "provider": r.provider}
                for r in sorted(self._records.values(), key=lambda record: record.order)
            ]
            pending = [{"resource": {**entry, "custom": True}, "type": "creating"} for entry in self._pending_creates.values()]
            return {"version": 3, "deployment": {"resources": resources, "pending_operations": pending}}

    def newest_first(self) -> list[ResourceRecord]:
        with self._lock:
            return sorted(self._records.values(), key=lambda record: record.order, reverse=True)

    def deletion_order(self) -> list[ResourceRecord]:
        """Newest first, but each only after everything that depends on it, as the engine deletes.

        Creation order alone is not enough: a replaced resource is newer than what depends on it.
        """
        remaining = self.newest_first()
        ordered: list[ResourceRecord] = []
        while remaining:
            needed = {urn for record in remaining for urn in record.dependencies}
            ready = next((record for record in remaining if record.urn not in needed), remaining[0])
            ordered.append(ready)
            remaining.remove(ready)
        return ordered

    def delete_antichains(self) -> list[list[ResourceRecord]]:
        """The antichains `pulumi destroy` deletes these in, first deleted first (pulumi's
        `stepGenerator.ScheduleDeletes`): by the longest chain of dependencies under each, its registered
        one (through parents and components, which this state does not hold) or the one through what
        it holds, whichever is longer; each antichain runs once the one before has finished."""
        with self._lock:
            records = dict(self._records)
        heights: dict[str, int] = {}

        def height(urn: str, seen: frozenset = frozenset()) -> int:
            if urn not in heights:
                record = records[urn]
                below = [height(d, seen | {urn}) for d in record.dependencies if d in records and d not in seen and d != urn]
                heights[urn] = max(record.delete_height, 1 + max(below, default=0))
            return heights[urn]

        by_height: dict[int, list[ResourceRecord]] = {}
        for urn in sorted(records, key=lambda urn: records[urn].order, reverse=True):
            by_height.setdefault(height(urn), []).append(records[urn])
        return [by_height[level] for level in sorted(by_height, reverse=True)]

    def find_provider(self, provider_id: str) -> ResourceRecord | None:
        with self._lock:
            return next(
                (r for r in self._records.values() if r.id == provider_id and r.type.startswith("pulumi:providers:")), None
            )

    def __iter__(self) -> Iterator[ResourceRecord]:
        with self._lock:
            return iter(list(self._records.values()))

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)

    def _save(self) -> None:
        if not self._path:
            return
        data = {
            "next_order": self._next_order,
            "resources": [dataclasses.asdict(record) for record in sorted(self._records.values(), key=lambda r: r.order)],
            "pending_creates": list(self._pending_creates.values()),
        }
        temporary = self._path.with_suffix(".tmp")
        temporary.write_text(json.dumps(data, indent=2, sort_keys=True, default=str))
        temporary.replace(self._path)
