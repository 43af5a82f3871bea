"""The policy pack over the program's own graphs under mocks: dev and cluster pass as they are, the sandbox
only with the exception its policy config declares for its nested engines."""
from __future__ import annotations

import pytest

from tests.support.policy import POLICY_DIR, check, stack_config
from tests.support.program import PROJECT_DIR
from tests.unit.conftest import deploy

SANDBOX_ENGINES = ["sandbox-larry", "sandbox-curly", "sandbox-moe"]


def test_every_stack_has_a_policy_config() -> None:
    stacks = sorted(path.name.removeprefix("Pulumi.").removesuffix(".yaml") for path in PROJECT_DIR.glob("Pulumi.*.yaml"))
    assert sorted(path.stem for path in (POLICY_DIR / "config").glob("*.json")) == stacks
    # Only the sandbox declares an exception.
    for stack in stacks:
        exceptions = {name: values for rule in stack_config(stack).values() for name, values in rule.items() if values}
        assert exceptions == ({"allowedPrivilegedNames": SANDBOX_ENGINES} if stack == "sandbox" else {}), stack


@pytest.mark.parametrize(
    "stack, overrides",
    [
        ("dev", {}),
        ("dev", {"consulServers": 3}),
        ("dev", {"redisThroughConsul": True}),
        ("dev", {"consulMesh": True, "consulAcl": True}),
        ("cluster", {}),
    ],
    ids=["dev", "dev with 3 servers", "dev with redis through consul", "dev in the mesh", "cluster"],
)
def test_dev_and_cluster_pass_every_rule(stack: str, overrides: dict) -> None:
    deployment = deploy(stack, overrides)
    containers = deployment.of_type("docker:index/container:Container")
    assert containers, "the rules must have had containers to check"
    assert check(deployment.registrations, stack_config(stack)) == []


@pytest.mark.parametrize("privileged", [True, False], ids=["--privileged", "capability list"])
def test_the_sandbox_passes_with_its_declared_exception_and_fails_without_it(privileged: bool) -> None:
    deployment = deploy("sandbox", {"sandboxPrivileged": privileged})
    assert check(deployment.registrations, stack_config("sandbox")) == []

    refused = check(deployment.registrations, {})
    assert {violation.policy for violation in refused} == {"no-privileged-containers"}
    names = sorted(deployment.by_urn(violation.urn).inputs["name"] for violation in refused)
    assert names == sorted(SANDBOX_ENGINES)


def test_publishing_consul_on_every_address_fails_the_dev_stack() -> None:
    deployment = deploy("dev", {"publishAddress": "0.0.0.0"})
    refused = check(deployment.registrations, stack_config("dev"))
    assert {violation.policy for violation in refused} == {"consul-ports-private"}
    ports = sorted(message.split("Consul's port ")[1].split(" ")[0] for message in (v.message for v in refused))
    # Consul's HTTP port and its DNS over both protocols; web on 5000 is no Consul port.
    assert ports == ["53/tcp", "53/udp", "8500/tcp"]


def test_an_image_on_latest_fails_the_stack() -> None:
    deployment = deploy("dev", {"redisImage": "redis:latest"})
    refused = check(deployment.registrations, stack_config("dev"))
    assert [(v.policy, deployment.by_urn(v.urn).name) for v in refused] == [("pinned-images", "compose-redis-image")]
