"""A local stack run beside what already runs on its engine (another stack, or anything else): a port
or subnet held there is refused naming the key, by a preview and by `up --skip-preview` alike; the
stack's own objects are not in the way.
The engine's objects are given as `docker inspect` shapes them."""
from __future__ import annotations

from typing import Any

import pytest

from stacks.engine_holdings import holdings_of
from tests.unit.conftest import deploy, deploy_rejected

SECOND_STACK = {"networkSubnet": "172.29.1.0/24", "webPort": 5001, "consulHttpPort": 8501, "consulDnsPort": 8601}


def container(name: str, ports: dict[str, list[dict]], labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"Name": f"/{name}", "Config": {"Labels": labels or {}}, "NetworkSettings": {"Ports": ports}}


def network(name: str, subnet: str) -> dict[str, Any]:
    return {"Name": name, "IPAM": {"Config": [{"Subnet": subnet, "Gateway": "ignored"}]}}


def service(name: str, published: int) -> dict[str, Any]:
    return {"Spec": {"Name": name}, "Endpoint": {"Ports": [{"Protocol": "tcp", "TargetPort": 5000, "PublishedPort": published}]}}


# What the dev stack runs with its defaults, as the engine shows it to another stack.
DEV_RUNNING = (
    [
        container("dev-consul-1", {"8500/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8500"}], "8600/udp": [{"HostIp": "127.0.0.1", "HostPort": "8600"}],
                                   "8600/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8600"}], "8301/tcp": None}),
        container("dev-web", {"5000/tcp": [{"HostIp": "127.0.0.1", "HostPort": "5000"}]}),
        container("dev-heyworld.1.abc", {}, {"com.docker.swarm.service.name": "dev-heyworld"}),
    ],
    [network("dev-net", "172.29.0.0/24"), network("bridge", "172.17.0.0/16")],
    [service("dev-heyworld", 0)],
)


def planned(monkeypatch: pytest.MonkeyPatch, running: tuple[list, list, list]) -> None:
    monkeypatch.setattr("stacks.config.read_holdings", lambda cfg, url: holdings_of(cfg, *running))


@pytest.mark.parametrize(
    ("overrides", "key", "held"),
    [
        ({}, "networkSubnet", "network 'dev-net' (172.29.0.0/24)"),
        ({**SECOND_STACK, "consulHttpPort": 8500}, "consulHttpPort", "port 8500 is already published by container 'dev-consul-1'"),
        ({**SECOND_STACK, "consulDnsPort": 8600}, "consulDnsPort", "port 8600/udp is already published by container 'dev-consul-1'"),
        ({**SECOND_STACK, "webPort": 5000}, "webPort", "port 5000 is already published by container 'dev-web'"),
        ({**SECOND_STACK, "networkSubnet": "172.17.5.0/24"}, "networkSubnet", "network 'bridge'"),
    ],
    ids=["subnet", "consul http port", "consul dns port", "web port", "the default bridge"],
)
def test_a_second_stack_taking_what_the_first_holds_is_refused_at_plan_time_naming_the_key(
    monkeypatch: pytest.MonkeyPatch, overrides: dict, key: str, held: str
) -> None:
    planned(monkeypatch, DEV_RUNNING)
    message, registered = deploy_rejected("dev2", {"environment": "local", **overrides}, preview=True)
    assert f"`orchestration:{key}`" in message and held in message and "running on the same engine" in message
    assert registered == []


def test_a_port_a_swarm_service_publishes_is_held_on_every_address(monkeypatch: pytest.MonkeyPatch) -> None:
    containers, networks, _ = DEV_RUNNING
    planned(monkeypatch, (containers, networks, [service("dev-web", 5001)]))
    message, _ = deploy_rejected("dev2", {"environment": "local", **SECOND_STACK}, preview=True)
    assert "`orchestration:webPort`" in message and "swarm service 'dev-web'" in message


def test_a_second_stack_with_its_own_keys_plans_beside_the_first(monkeypatch: pytest.MonkeyPatch) -> None:
    planned(monkeypatch, DEV_RUNNING)
    assert deploy("dev2", {"environment": "local", **SECOND_STACK}, preview=True).registrations


def test_a_stacks_own_objects_are_not_in_its_way(monkeypatch: pytest.MonkeyPatch) -> None:
    planned(monkeypatch, DEV_RUNNING)
    assert deploy("dev", {}, preview=True).registrations


def test_an_engine_that_cannot_be_read_is_left_to_the_providers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("stacks.config.read_holdings", lambda cfg, url: None)
    assert deploy("dev2", {"environment": "local"}, preview=True).registrations


@pytest.mark.parametrize("preview", [True, False], ids=["preview", "up --skip-preview"])
def test_an_update_without_a_preview_is_held_to_it_too(monkeypatch: pytest.MonkeyPatch, preview: bool) -> None:
    """`pulumi up --skip-preview` runs the program once, as an update: the check holds there as in a preview."""
    planned(monkeypatch, DEV_RUNNING)
    message, registered = deploy_rejected("dev2", {"environment": "local", **SECOND_STACK, "webPort": 5000}, preview=preview)
    assert "`orchestration:webPort`: port 5000 is already published by container 'dev-web'" in message and registered == []
    assert deploy("dev", {}, preview=preview).registrations
