"""Swarm autolock by config: the unlock key is read once, never logged, and kept secret."""
from __future__ import annotations

from tests.unit.conftest import deploy

COMMAND = "command:local:Command"


def test_autolock_locks_the_managers_and_keeps_the_key_secret() -> None:
    dev = deploy("dev", {"swarmAutolock": True})
    autolock = dev.one(COMMAND, "swarm-autolock")
    assert "docker swarm update --autolock=true" in autolock.inputs["create"]
    assert "--autolock=false" in autolock.inputs["delete"]
    assert autolock.inputs["logging"] == "stderr"
    assert autolock.additional_secret_outputs == ("stdout",)
    assert dev.one(COMMAND, "swarm-init").urn in autolock.dependencies
    assert dev.outputs["swarmUnlockKey"] == "stdout-of-swarm-autolock"


def test_no_autolock_by_default() -> None:
    dev = deploy("dev")
    assert not [r for r in dev.of_type(COMMAND) if r.name == "swarm-autolock"]
    assert "swarmUnlockKey" not in dev.outputs
