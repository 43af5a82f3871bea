"""Two stacks of the local environment on one engine through the real Pulumi CLI (issue 22), where this
machine has it (see real_pulumi.py): `dev` makes the swarm, `dev2` (docs/day-2.md's keys) comes up beside
it; a third stack on `dev2`'s web port is refused by its preview naming the key; destroying `dev` leaves
`dev2`'s services running and its refreshed preview clean; destroying `dev2` leaves nothing."""
from __future__ import annotations

import pytest

from tests.harness.engine import objects_named_with

from .real_pulumi import RealProject, deployed
from .support import machine_config, web_count
from .test_two_dev_stacks import NOTHING, SECOND_STACK_CONFIG, running_services

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def pair(engine) -> tuple[RealProject, RealProject]:
    with deployed(engine) as dev:
        dev2 = dev.sibling("dev2")
        dev2.init()
        dev2.set_config({**machine_config(), **SECOND_STACK_CONFIG})
        try:
            dev2.run("preview", label="real: dev2 first preview")
            dev2.run("up", "--yes", "--skip-preview", label="real: dev2 first up")
            yield dev, dev2
        finally:
            dev2.run("destroy", "--yes", "--skip-preview", label="real: dev2 destroy at the end", check=False)


def test_both_answer_on_their_own_ports(pair: tuple[RealProject, RealProject]) -> None:
    dev, dev2 = pair
    assert web_count(dev.outputs()["webUrl"] + "/") >= 1
    assert web_count(dev2.outputs()["webUrl"] + "/") >= 1


def test_a_third_stack_on_dev2s_web_port_is_refused_by_its_preview(pair: tuple[RealProject, RealProject]) -> None:
    dev3 = pair[0].sibling("dev3")
    dev3.init()
    dev3.set_config({**SECOND_STACK_CONFIG, "networkSubnet": "172.29.2.0/24", "consulHttpPort": 8502, "consulDnsPort": 8602})
    refused = dev3.run("preview", label="real: dev3 preview", check=False)
    assert refused.returncode != 0
    assert "`orchestration:webPort`: port 5001 is already published by container 'dev2-web'" in refused.stdout + refused.stderr


def test_destroying_dev_leaves_dev2_running_and_the_last_destroy_leaves_nothing(pair: tuple[RealProject, RealProject], engine) -> None:
    dev, dev2 = pair
    services = running_services(engine, "dev2-")
    assert services
    dev.run("destroy", "--yes", "--skip-preview", label="real: destroy dev beside dev2")
    assert objects_named_with(engine, "dev-") == NOTHING
    assert running_services(engine, "dev2-") == services
    dev2.run("preview", "--refresh", "--expect-no-changes", "--diff", label="real: dev2 preview --refresh once dev is gone")
    dev2.run("destroy", "--yes", "--skip-preview", label="real: destroy dev2, the last one out")
    assert objects_named_with(engine, "dev2-") == NOTHING
    if not dev.swarm_was_active:
        assert engine.info()["Swarm"]["LocalNodeState"] == "inactive"
