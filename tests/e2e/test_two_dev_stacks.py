"""Two stacks of the local environment on one engine (issue 22), applied for real through the apply harness.

`dev` comes up first and makes the engine's swarm; `dev2`, with the keys docs/day-2.md's "Two stacks on one
engine" sets, finds it and runs its own services on it. Destroying `dev` must leave the swarm to `dev2`:
its services keep running and its `up --refresh` has nothing to do. Destroying `dev2`, the last one out,
leaves the swarm `dev` made and nothing of either stack.
"""
from __future__ import annotations

import pytest

from tests.harness.engine import objects_named_with
from tests.unit.conftest import deploy, deploy_rejected

from .support import DevStack, build_stand_in_images, wait_for, web_count

pytestmark = pytest.mark.docker

# The keys a second local stack changes (docs/day-2.md); the names follow the stack's own name.
SECOND_STACK_CONFIG = {
    "environment": "local",
    "networkSubnet": "172.29.1.0/24",
    "webPort": 5001,
    "consulHttpPort": 8501,
    "consulDnsPort": 8601,
}
NOTHING = {"services": [], "containers": [], "networks": [], "volumes": []}


class SecondDevStack(DevStack):
    stack = "dev2"


@pytest.fixture(scope="module")
def stacks(engine) -> tuple[DevStack, DevStack]:
    build_stand_in_images(engine)
    dev = DevStack(engine)
    dev2 = SecondDevStack(engine, SECOND_STACK_CONFIG)
    try:
        dev.apply("first apply (dev, beside dev2)")
        dev2.apply("first apply (dev2, beside dev)")
        yield dev, dev2
    finally:
        try:
            dev.destroy()
        finally:
            try:
                dev2.destroy()
            finally:
                dev.close()
                dev2.close()


def running_services(engine, prefix: str) -> list[str]:
    return sorted(
        service["Spec"]["Name"] for service in engine.api.services()
        if service["Spec"]["Name"].startswith(prefix) and engine.api.tasks({"service": service["ID"], "desired-state": "running"})
    )


def test_both_stacks_answer_on_their_own_ports(stacks: tuple[DevStack, DevStack]) -> None:
    dev, dev2 = stacks
    assert (dev.outputs["webUrl"], dev2.outputs["webUrl"]) == ("http://localhost:5000", "http://localhost:5001")
    assert web_count(dev.outputs["webUrl"] + "/") >= 1 and web_count(dev2.outputs["webUrl"] + "/") >= 1
    assert dev.consul("/v1/status/leader") and dev2.consul("/v1/status/leader")


@pytest.mark.parametrize(
    ("key", "value", "holder"),
    [("webPort", 5001, "'dev2-web'"), ("consulDnsPort", 8600, "'dev-consul-1'"), ("networkSubnet", "172.29.1.128/25", "'dev2-net'")],
)
def test_a_third_stack_taking_what_they_hold_is_refused_by_its_plan(stacks, key: str, value, holder: str) -> None:
    """The plan reads the real engine: what the two stacks run there is what holds the keys."""
    third = {"environment": "local", "networkSubnet": "172.29.2.0/24", "webPort": 5002, "consulHttpPort": 8502, "consulDnsPort": 8602}
    assert deploy("dev3", third, preview=True).registrations
    message, registered = deploy_rejected("dev3", {**third, key: value}, preview=True)
    assert f"`orchestration:{key}`" in message and holder in message and registered == []


def test_destroying_the_stack_that_made_the_swarm_leaves_it_to_the_other(stacks: tuple[DevStack, DevStack], engine) -> None:
    dev, dev2 = stacks
    services = running_services(engine, "dev2-")
    assert services
    dev.destroy()
    # The swarm stays, so its tasks stop on their own just after their services go, as with
    # pulumi-docker (only a stopGracePeriod makes its delete wait for them).
    wait_for("dev's objects gone, its swarm tasks too", lambda: objects_named_with(engine, "dev-") == NOTHING or None, timeout=30)
    assert engine.info()["Swarm"]["LocalNodeState"] == "active"
    assert running_services(engine, "dev2-") == services
    assert web_count(dev2.outputs["webUrl"] + "/") >= 1
    dev2.apply("dev2 up --refresh once dev is gone", refresh=True)
    assert dev2.harness.last_run.changes() == []


def test_the_last_stack_out_leaves_nothing(stacks: tuple[DevStack, DevStack], engine) -> None:
    dev, dev2 = stacks
    dev2.destroy()
    assert len(dev2.harness.state) == 0
    wait_for("dev2's objects gone", lambda: objects_named_with(engine, "dev2-") == NOTHING or None, timeout=30)
    if not dev.swarm_was_active:
        assert engine.info()["Swarm"]["LocalNodeState"] == "inactive"
