"""Two stacks of the local environment on one engine through the real Pulumi CLI (issue 22), where this
machine has it (see real_pulumi.py): `dev` makes the swarm, `dev2` comes up beside it from docs/day-2.md's
block as pasted (the doc's `pulumi up` answered yes); a third stack on `dev2`'s web port is refused by its preview naming the key, and one on its Consul
port by `up --skip-preview`; destroying `dev` leaves
`dev2`'s services running and its refreshed preview clean; destroying `dev2` leaves nothing."""
from __future__ import annotations

import json

import pytest

from tests.harness.engine import objects_named_with

from .doc_runner import prints_nothing_to_check, real_cli_shell, run_documented
from .real_pulumi import RealProject, deployed
from .support import machine_config, phase, web_count
from .test_two_dev_stacks import DAY_2, NOTHING, SECOND_STACK_COMMANDS, SECOND_STACK_CONFIG, THIRD_STACK_CONFIG, running_services

RUNNER = "tests/e2e/test_two_dev_stacks_real_pulumi.py"

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def pair(engine) -> tuple[RealProject, RealProject]:
    with deployed(engine) as dev:
        dev2 = dev.sibling("dev2")
        shell = real_cli_shell(dev.dir, dev.environment)
        *configure, up = SECOND_STACK_COMMANDS
        try:
            run_documented(DAY_2, RUNNER, dict.fromkeys(configure, prints_nothing_to_check), shell)
            # What the doc leaves to the reader's machine: the stand-in images.
            dev2.set_config(machine_config())
            with phase("real: dev2 up (docs/day-2.md's `pulumi up`, answered yes)"):
                run_documented(DAY_2, RUNNER, {up: prints_nothing_to_check}, shell)
            assert {key: dev2.run("config", "get", key).stdout.strip() for key in SECOND_STACK_CONFIG} == {
                key: str(value) for key, value in SECOND_STACK_CONFIG.items()
            }
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


def test_a_third_stack_on_dev2s_consul_port_is_refused_by_an_up_without_a_preview(pair: tuple[RealProject, RealProject]) -> None:
    """`up --skip-preview` runs the program once, as an update: refused the same, nothing made; the two
    stacks' own `up --skip-preview` still pass (their own objects are not in their way)."""
    dev4 = pair[0].sibling("dev4")
    dev4.init()
    dev4.set_config({**machine_config(), **THIRD_STACK_CONFIG, "consulHttpPort": 8501})
    refused = dev4.run("up", "--yes", "--skip-preview", label="real: dev4 up --skip-preview", check=False)
    assert refused.returncode != 0
    assert "`orchestration:consulHttpPort`: port 8501 is already published by container 'dev2-consul-1'" in refused.stdout + refused.stderr
    resources = json.loads(dev4.run("stack", "export").stdout)["deployment"].get("resources") or []
    assert [r["urn"] for r in resources if not r["type"].startswith("pulumi:")] == []
    for stack in pair:
        done = stack.run("up", "--yes", "--skip-preview", label=f"real: {stack.stack} up --skip-preview again", check=False)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


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
