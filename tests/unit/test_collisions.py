"""The names the collision check derives are those the stacks declare; where two ports or subnets do not
clash; names Swarm refuses that come from the stack's name alone. docs/bad-input.md has the rest."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from stacks import collisions, config
from stacks.collisions import Published, first_port_clash
from tests.unit.conftest import deploy, deploy_rejected
from tests.unit.test_config_errors import cluster

KINDS = {"docker:index/container:Container": "container", "docker:index/network:Network": "network", "docker:index/service:Service": "swarm service"}


def _checked_and_declared(monkeypatch: pytest.MonkeyPatch, stack: str, overrides: dict[str, Any]) -> tuple[set, set]:
    """(kind, name) of what the check knows, and of what the stack registers."""
    checked: list[config.StackConfig] = []

    def recording(cfg: config.StackConfig, values: Any) -> None:
        checked.append(cfg)
        collisions.check_collisions(cfg, values)

    monkeypatch.setattr(config, "check_collisions", recording)
    deployment = deploy(stack, overrides)
    declared = {(KINDS[r.type], r.inputs["name"]) for r in deployment.registrations if r.type in KINDS}
    return {(named.kind, named.name) for named in collisions.declared_names(checked[0])}, declared


@pytest.mark.parametrize(
    ("stack", "overrides"),
    [
        ("dev", {}),
        ("dev", {"composeWeb": {"mode": "swarm"}, "swarmServices": {"api": {"image": "nginx:1"}}, "composeFile": "tests/data/compose/names/compose.yaml"}),
        ("dev", {"consulMesh": True}),
        ("cluster", cluster(composeFile="tests/data/compose/names/compose.yaml")),
        ("cluster", cluster(consulMesh=False)),
    ],
    ids=["dev", "dev with every kind of service", "dev in the mesh", "cluster with a compose file (in the mesh)", "cluster outside the mesh"],
)
def test_the_check_knows_every_name_the_stack_declares(monkeypatch: pytest.MonkeyPatch, stack: str, overrides: dict) -> None:
    checked, declared = _checked_and_declared(monkeypatch, stack, overrides)
    assert checked == declared


def test_the_check_knows_a_compose_files_swarm_services(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    file = tmp_path / "compose.yaml"
    file.write_text("name: fleet\nservices:\n  api:\n    image: nginx\n    deploy: {replicas: 3}\n")
    checked, declared = _checked_and_declared(monkeypatch, "dev", {"composeFile": str(file), "composeSwarm": True})
    assert ("swarm service", "fleet_api") in declared
    assert checked == declared


def test_the_check_knows_each_replica_of_a_compose_files_containers(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Without composeSwarm, dev runs `deploy` as `docker compose up` does: a container per replica.
    file = tmp_path / "compose.yaml"
    file.write_text("name: fleet\nservices:\n  api:\n    image: nginx\n    deploy: {replicas: 3}\n")
    checked, declared = _checked_and_declared(monkeypatch, "dev", {"composeFile": str(file)})
    assert {("container", f"fleet-api-{n}") for n in (1, 2, 3)} <= declared
    assert checked == declared


def test_the_sandbox_check_knows_every_container_name(monkeypatch: pytest.MonkeyPatch) -> None:
    checked, declared = _checked_and_declared(monkeypatch, "sandbox", {})
    # Nothing else is declared on the sandbox's engine, so its one network cannot meet another's.
    assert checked == {named for named in declared if named[0] == "container"}


def _port(address: str | None, protocol: str = "tcp", engine: str = collisions.ONE_ENGINE) -> Published:
    return Published(engine, 8080, protocol, address, "webPort")


@pytest.mark.parametrize(
    ("earlier", "later", "clash"),
    [
        (_port("127.0.0.1"), _port("127.0.0.1"), True),
        (_port(None), _port("127.0.0.1"), True),
        (_port("127.0.0.1"), _port(None), True),
        (_port("127.0.0.1"), _port("127.0.0.2"), False),
        (_port(None), _port(None, protocol="udp"), False),
        (_port(None), _port(None, engine="host 'curly'"), False),
    ],
    ids=["one address", "every address, then one", "one, then every address", "two addresses", "two protocols", "two engines"],
)
def test_a_port_is_held_once_per_engine_protocol_and_shared_address(earlier: Published, later: Published, clash: bool) -> None:
    assert first_port_clash([earlier, later]) == ((later, earlier) if clash else None)


def test_a_compose_port_on_another_address_than_the_stacks_is_no_clash() -> None:
    networks = {"composeFile": "tests/data/compose/networks/compose.yaml", "composeVariables": {"PROXY_PORT": "8500"}}
    message, _ = deploy_rejected("dev", networks)
    assert message == "config `orchestration:composeFile`: service 'proxy': port 8500 is also published by `orchestration:consulHttpPort` on the same engine"
    assert deploy("dev", {**networks, "publishAddress": "127.0.0.2"}).outputs["composeContainers"]


def test_an_overlay_network_may_overlap_the_stacks_bridge_subnet(tmp_path: Path) -> None:
    # Docker keeps swarm-scoped pools apart from an engine's own: it refuses only overlaps within each.
    file = tmp_path / "compose.yaml"
    file.write_text(
        "name: fleet\nservices:\n  api:\n    image: nginx\n    deploy: {replicas: 1}\n"
        "networks:\n  default:\n    ipam: {config: [{subnet: 172.29.0.0/16}]}\n"
    )
    assert deploy("dev", {"composeFile": str(file), "composeSwarm": True}).outputs["composeSwarmServices"] == {"api": "fleet_api"}


@pytest.mark.parametrize(
    ("stack", "message"),
    [
        ("dev.1", "stack name 'dev.1': swarm service name 'dev.1-heyworld' is not one Swarm takes: letters and digits, joined by '-' or '_'"),
        ("d" * 48, f"stack name '{'d' * 48}': swarm service name '{'d' * 48}-heyworld_global' is 64 characters long; Swarm takes 63 at most"),
    ],
    ids=["a dot", "too long"],
)
def test_a_stack_name_swarm_cannot_take_in_its_services_names_is_refused(stack: str, message: str) -> None:
    error, registered = deploy_rejected(stack, {})
    assert error == message
    assert registered == []
