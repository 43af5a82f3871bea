"""The harness deletes as the engine does: dependents before what they depend on, even after a replace."""
from __future__ import annotations

import dataclasses
import time

import pytest

from tests.harness import ApplyHarness
from tests.harness.base import HarnessError
from tests.harness.state import ResourceRecord, StateStore


def record(name: str, *dependencies: str) -> ResourceRecord:
    return ResourceRecord(f"urn:{name}", "t", name, name, {}, {}, {}, dependencies=[f"urn:{name}" for name in dependencies])


def test_a_replaced_server_still_outlives_what_was_created_against_it() -> None:
    state = StateStore(None)
    for item in (record("provider"), record("server", "provider"), record("policy", "server", "provider")):
        state.put(item, new_order=True)
    state.remove("urn:server")
    state.put(record("server", "provider"), new_order=True)  # replaced: now the newest
    assert [r.name for r in state.newest_first()] == ["server", "policy", "provider"]
    assert [r.name for r in state.deletion_order()] == ["policy", "server", "provider"]


def test_destroy_deletes_in_antichains_as_the_engine_schedules_them(monkeypatch) -> None:
    """`pulumi destroy` deletes in antichains (pulumi's ScheduleDeletes): each holds what nothing left
    depends on, and starts once the one before has finished, so `b`, which nothing depends on, still
    waits for `c`, and `network` for both `a` and `b`."""
    harness = ApplyHarness()
    for item in (record("network"), record("a", "network"), record("b", "network"), record("c", "a")):
        harness.state.put(item, new_order=True)
    spans: dict[str, tuple[float, float]] = {}

    def delete(item: ResourceRecord, run) -> None:
        began = time.monotonic()
        time.sleep(0.3 if item.name != "c" else 0.6)
        harness.state.remove(item.urn)
        spans[item.name] = (began, time.monotonic())

    monkeypatch.setattr(harness, "_delete", delete)
    started = time.monotonic()
    harness.destroy()
    assert len(harness.state) == 0
    assert spans["a"][0] < spans["b"][1] and spans["b"][0] < spans["a"][1]  # a and b together
    assert spans["b"][0] >= spans["c"][1]  # b only once c's antichain had finished
    assert spans["network"][0] >= max(spans["a"][1], spans["b"][1])
    assert time.monotonic() - started < 0.6 + 0.3 + 0.3 + 0.3  # three antichains, not four deletes in a row
    harness.close()


def test_a_components_dependencies_hold_back_its_childrens_deletes(monkeypatch) -> None:
    """The engine counts parents and components: a network under a component that depends on a server
    is deleted in an antichain before the server's, though nothing of the server depends on it."""
    harness = ApplyHarness()
    for item in (
        record("server"),
        dataclasses.replace(record("network"), delete_height=3),  # its parent component depends on the server
    ):
        harness.state.put(item, new_order=True)
    order: list[str] = []
    monkeypatch.setattr(harness, "_delete", lambda item, run: (order.append(item.name), harness.state.remove(item.urn)))
    harness.destroy()
    assert order == ["network", "server"]
    harness.close()


def test_a_failed_delete_is_reported_and_the_rest_still_goes(monkeypatch) -> None:
    harness = ApplyHarness()
    for item in (record("network"), record("box", "network"), record("other")):
        harness.state.put(item, new_order=True)

    def delete(item: ResourceRecord, run) -> None:
        if item.name == "box":
            raise RuntimeError("engine said no")
        harness.state.remove(item.urn)

    monkeypatch.setattr(harness, "_delete", delete)
    with pytest.raises(HarnessError, match="t box: engine said no"):
        harness.destroy()
    assert [r.name for r in harness.state] == ["box"]
    harness.close()
