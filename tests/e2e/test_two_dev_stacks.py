"""Two stacks of the local environment on one engine (issue 22), applied for real through the apply harness.

`dev` comes up first and makes the engine's swarm; `dev2`, made by docs/day-2.md's "Two stacks on one
engine" block as pasted (its `pulumi` served by tests/harness/cli.py), finds it and runs its own services on it. Destroying `dev` must leave the swarm to `dev2`:
its services keep running and its `up --refresh` has nothing to do. Destroying `dev2`, the last one out,
leaves the swarm `dev` made and nothing of either stack.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.harness.engine import objects_named_with
from tests.unit.conftest import deploy, deploy_rejected

from .doc_runner import harness_cli_shell, prints_nothing_to_check, project_doc, run_documented, scratch_folder
from .support import STATE_DIR, DevStack, build_stand_in_images, machine_config, phase, wait_for, web_count

pytestmark = pytest.mark.docker

DAY_2 = project_doc("docs/day-2.md")
RUNNER = "tests/e2e/test_two_dev_stacks.py"
# docs/day-2.md's "Two stacks on one engine", as a user pastes it.
SECOND_STACK_COMMANDS = [
    "export PULUMI_CONFIG_PASSPHRASE=",
    "pulumi stack init dev2",
    "pulumi config set environment local",
    "pulumi config set networkSubnet 172.29.1.0/24",
    "pulumi config set webPort 5001",
    "pulumi config set consulHttpPort 8501",
    "pulumi config set consulDnsPort 8601",
    "pulumi up",
]
# The keys a second local stack changes (those commands set them); the names follow the stack's own name.
SECOND_STACK_CONFIG = {
    "environment": "local",
    "networkSubnet": "172.29.1.0/24",
    "webPort": 5001,
    "consulHttpPort": 8501,
    "consulDnsPort": 8601,
}
# A third stack clear of both, but for the key a test sets.
THIRD_STACK_CONFIG = {"environment": "local", "networkSubnet": "172.29.2.0/24", "webPort": 5002, "consulHttpPort": 8502, "consulDnsPort": 8602}
NOTHING = {"services": [], "containers": [], "networks": [], "volumes": []}


class SecondDevStack(DevStack):
    stack = "dev2"


class ThirdDevStack(DevStack):
    stack = "dev3"


@pytest.fixture(scope="module")
def stacks(engine) -> tuple[DevStack, DevStack]:
    build_stand_in_images(engine)
    dev = DevStack(engine)
    dev2 = SecondDevStack(engine, SECOND_STACK_CONFIG)
    try:
        dev.apply("first apply (dev, beside dev2)")
        with scratch_folder() as folder, phase("first apply (dev2, docs/day-2.md's block through the harness's pulumi)"):
            shell = harness_cli_shell(Path(folder), STATE_DIR, {"dev2": machine_config()})
            run_documented(DAY_2, RUNNER, dict.fromkeys(SECOND_STACK_COMMANDS, prints_nothing_to_check), shell)
            configured = json.loads((Path(folder) / "backend" / "dev2.config.json").read_text())
            outputs = json.loads(shell.run("pulumi stack output --json"))
        assert configured == {key: str(value) for key, value in SECOND_STACK_CONFIG.items()}
        dev2.adopt(outputs)
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
    assert deploy("dev3", THIRD_STACK_CONFIG, preview=True).registrations
    message, registered = deploy_rejected("dev3", {**THIRD_STACK_CONFIG, key: value}, preview=True)
    assert f"`orchestration:{key}`" in message and holder in message and registered == []


def test_a_third_stack_is_refused_by_an_up_without_a_preview_and_the_two_re_apply(stacks, engine) -> None:
    """`up --skip-preview` runs the program once, as an update: the same read of the engine refuses it
    before anything is made, and the stacks' own objects stay out of their own way."""
    dev, dev2 = stacks
    third = ThirdDevStack(engine, {**THIRD_STACK_CONFIG, "consulHttpPort": 8501})
    try:
        with pytest.raises(Exception, match="`orchestration:consulHttpPort`: port 8501 is already published by container 'dev2-consul-1'"):
            third.apply("dev3 up --skip-preview on dev2's Consul port")
        assert len(third.harness.state) == 0
    finally:
        third.destroy()
        third.close()
    for stack in stacks:
        stack.apply(f"{stack.stack} up --skip-preview again, beside the other")
        assert stack.harness.last_run.changes() == []


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
