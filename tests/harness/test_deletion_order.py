"""The harness deletes as the engine does: dependents before what they depend on, even after a replace."""
from __future__ import annotations

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
