"""What already runs on a local stack's engine, checked each time the program runs (preview or update).

stacks/collisions.py checks a stack against itself. A second stack on the same engine (another local
stack, or anything else running there) can hold a host port or a subnet this one is configured to take:
Docker would refuse it halfway through `up`. Read from the engine as the program starts, before any of
its resources change (so `up --skip-preview` is held to it too), each such holder refuses the run,
naming the key. What the stack itself runs (by the names it declares) is not a holder: a stack's own
re-plan and re-apply must pass.
"""
from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Optional

from stacks.collisions import (
    ONE_ENGINE,
    SWARM,
    Published,
    Subnet,
    _address,
    _network,
    _refusal,
    declared_names,
    fixed_subnets,
    published_ports,
)
from stacks.config_values import ConfigValues

if TYPE_CHECKING:
    from stacks.config import StackConfig

READ_TIMEOUT_SECONDS = 20
SWARM_SERVICE_LABEL = "com.docker.swarm.service.name"


@dataclass(frozen=True)
class Holdings:
    """Host ports and subnets taken on the engine, each with what holds it ("container 'dev-web'")."""

    ports: list[Published] = field(default_factory=list)
    subnets: list[Subnet] = field(default_factory=list)


def check_engine_holdings(cfg: StackConfig, values: ConfigValues, holdings: Holdings) -> None:
    """Raises, naming the key, at the first configured port or subnet something else holds on the engine."""
    for subnet in fixed_subnets(cfg):
        if subnet.engine not in (ONE_ENGINE, SWARM):
            continue
        for held in holdings.subnets:
            if held.subnet.overlaps(subnet.subnet):
                raise _refusal(values, cfg.stack, subnet, f"subnet {subnet.subnet} overlaps {held.owner} ({held.subnet}), running on the same engine")
    for port in published_ports(cfg):
        # The swarm's own ports (no key) are shared by every stack on the engine's swarm.
        if port.engine != ONE_ENGINE or port.key is None:
            continue
        for held in holdings.ports:
            same_address = port.address is None or held.address is None or port.address == held.address
            if held.port == port.port and held.protocol == port.protocol and same_address:
                protocol = "" if port.protocol == "tcp" else f"/{port.protocol}"
                raise _refusal(values, cfg.stack, port, f"port {port.port}{protocol} is already published by {held.owner}, running on the same engine")


def holdings_of(cfg: StackConfig, containers: Iterable[dict], networks: Iterable[dict], services: Iterable[dict]) -> Holdings:
    """What the engine's objects (as `docker inspect` gives them) hold, but for the stack's own."""
    own = {named.name for named in declared_names(cfg)}
    found = Holdings()
    for container in containers:
        name = container["Name"].lstrip("/")
        labels = container["Config"].get("Labels") or {}
        if name in own or labels.get(SWARM_SERVICE_LABEL) in own:
            continue
        for port_protocol, bindings in (container["NetworkSettings"].get("Ports") or {}).items():
            protocol = port_protocol.split("/")[1]
            for binding in bindings or []:
                found.ports.append(Published(ONE_ENGINE, int(binding["HostPort"]), protocol, _address(binding.get("HostIp")), None, owner=f"container {name!r}"))
    for network in networks:
        if network["Name"] in own:
            continue
        for pool in (network.get("IPAM") or {}).get("Config") or []:
            subnet = _network(pool.get("Subnet"))
            if subnet is not None:
                found.subnets.append(Subnet(ONE_ENGINE, subnet, "", owner=f"network {network['Name']!r}"))
    for service in services:
        name = service["Spec"]["Name"]
        if name in own:
            continue
        for port in (service.get("Endpoint") or {}).get("Ports") or []:
            if port.get("PublishedPort"):
                found.ports.append(Published(ONE_ENGINE, port["PublishedPort"], port.get("Protocol", "tcp"), None, None, owner=f"swarm service {name!r}"))
    return found


def read_holdings(cfg: StackConfig, docker_url: str) -> Optional[Holdings]:
    """The engine's holdings, read with the docker CLI; None where it can't be read (the providers say why)."""
    environment = {**os.environ, "DOCKER_HOST": docker_url}

    def docker(*arguments: str) -> str:
        return subprocess.run(["docker", *arguments], env=environment, capture_output=True, text=True, check=True, timeout=READ_TIMEOUT_SECONDS).stdout

    def inspected(kind: str, listed: str) -> list[Any]:
        ids = listed.split()
        return json.loads(docker(kind, "inspect", *ids)) if ids else []

    try:
        containers = inspected("container", docker("ps", "--quiet", "--no-trunc"))
        networks = inspected("network", docker("network", "ls", "--quiet", "--no-trunc"))
        manager = docker("info", "--format", "{{.Swarm.ControlAvailable}}").strip() == "true"
        services = inspected("service", docker("service", "ls", "--quiet")) if manager else []
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    return holdings_of(cfg, containers, networks, services)

