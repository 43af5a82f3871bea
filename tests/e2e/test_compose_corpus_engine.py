"""Real projects' compose files (tests/data/compose/corpus), brought up on the real engine one after
the other under the same project name: by Docker Compose v2 itself (`docker compose up --wait`) and by
ComposeProject through the apply harness. `docker inspect` must show the same containers: names, image,
command, entrypoint, environment, labels, networks with aliases and addresses, mounts, ports, health, limits,
restart policy, run options; and a second `up` through the harness changes nothing.

Where the two differ only in how the engine is told the same thing, `observe` says so and reads both alike:
no restart policy ("" or "no"), an empty list or none, and aliases Docker resolves anyway (the container's
name and short id). One difference is pulumi-docker's and listed in docs/compose.md: a port published on all
addresses is bound on 0.0.0.0 (IPv4), where Compose leaves the address empty (IPv4 and IPv6).

No image can be pulled here: the images the files name are stand-ins, tagged for the run from images built
locally (apps/, and a sleeper made from the base image) and untagged after.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import docker
import pytest

from .compose_corpus import CASES, Case, build_local_images, stand_ins
from .support import phase

pytestmark = pytest.mark.docker

PROJECT_LABEL = "com.docker.compose.project"
# Compose's labels both sides set alike; the others (config-hash, version, the file's path) are Compose's bookkeeping.
COMPARED_COMPOSE_LABELS = (
    "com.docker.compose.project", "com.docker.compose.service", "com.docker.compose.container-number",
    "com.docker.compose.oneoff", "com.docker.compose.depends_on",
)


@pytest.fixture(scope="module")
def local_images(engine: docker.DockerClient) -> None:
    with phase("build redis image (apps/build.sh redis) and the sleeper stand-in"):
        build_local_images(engine)


@pytest.mark.parametrize("name", sorted(CASES))
def test_docker_compose_and_the_harness_make_the_same_containers(name: str, engine: docker.DockerClient, local_images: None, tmp_path: Path) -> None:
    case = Case(name, tmp_path, project=f"cc-{name}")
    with stand_ins(engine, CASES[name]["stand_ins"]):
        try:
            with phase(f"corpus {name}: docker compose up --wait"):
                case.compose_up()
            theirs = observe(engine, case.project)
        finally:
            case.compose_down()
        try:
            with phase(f"corpus {name}: up through the harness"):
                case.harness_up()
            ours = observe(engine, case.project)
            before = observe(engine, case.project, ids=True)
            with phase(f"corpus {name}: second up through the harness"):
                case.harness_up()
            assert case.harness.last_run.changes() == []
            assert observe(engine, case.project, ids=True) == before
            again = observe(engine, case.project)
        finally:
            case.harness_down()
            case.close()
    found = differences(ours, theirs)
    assert not found, "\n".join(found)
    assert again == ours
    assert theirs, "nothing came up"


def observe(engine: docker.DockerClient, project: str, ids: bool = False) -> dict[str, Any]:
    """Each of the project's containers as `docker inspect` shows it, in the terms both sides share."""
    found: dict[str, Any] = {}
    for summary in engine.api.containers(all=True, filters={"label": f"{PROJECT_LABEL}={project}"}):
        container = engine.api.inspect_container(summary["Id"])
        name = container["Name"].lstrip("/")
        if ids:
            found[name] = container["Id"]
            continue
        config, host = container["Config"], container["HostConfig"]
        labels = config["Labels"] or {}
        # Compose writes an empty dependency list; no label says the same.
        if labels.get("com.docker.compose.depends_on") == "":
            del labels["com.docker.compose.depends_on"]
        found[name] = {
            "image": container["Image"],
            "command": config["Cmd"],
            "entrypoint": config["Entrypoint"],
            "environment": sorted(config["Env"] or []),
            "labels": {key: value for key, value in labels.items() if not key.startswith("com.docker.compose.") or key in COMPARED_COMPOSE_LABELS},
            "user": config["User"],
            "working_dir": config["WorkingDir"],
            "tty": (config["Tty"], config["OpenStdin"]),
            "stop": (config.get("StopSignal"), config.get("StopTimeout")),
            "healthcheck": config.get("Healthcheck"),
            "health": (container["State"].get("Health") or {}).get("Status"),
            "running": container["State"]["Running"],
            # "" is the engine's default, "no" (what pulumi-docker gives).
            "restart": {**host["RestartPolicy"], "Name": host["RestartPolicy"]["Name"] or "no"},
            "limits": (host["Memory"], host["MemorySwap"], host["MemoryReservation"], host["NanoCpus"], host["CpuShares"], host["CpusetCpus"]),
            "ports": {
                # pulumi-docker's `ip` defaults to 0.0.0.0: IPv4 only, where Compose's "" binds IPv6 too (docs/compose.md).
                port: sorted((b["HostIp"] or "0.0.0.0", b["HostPort"]) for b in bindings) for port, bindings in (host["PortBindings"] or {}).items()
            },
            "mounts": sorted(
                (m["Type"], _source(m), m["Destination"], m["RW"], m.get("Propagation", "")) for m in container["Mounts"]
            ),
            "volumes_from": host.get("VolumesFrom"),
            "tmpfs": host.get("Tmpfs"),
            "options": {key: host.get(key) or None for key in ("CapAdd", "CapDrop", "Init", "Privileged", "ReadonlyRootfs", "Sysctls", "Ulimits",
                                                       "SecurityOpt", "Dns", "DnsSearch", "ExtraHosts", "ShmSize", "LogConfig", "PidMode",
                                                       "IpcMode", "Runtime", "GroupAdd")},
            "networks": {
                network: (
                    # Docker resolves a container's name and short id on its networks whether or not they are aliases.
                    sorted(set(settings.get("Aliases") or []) - {name, container["Id"][:12]}),
                    (settings.get("IPAMConfig") or {}).get("IPv4Address"),
                )
                for network, settings in container["NetworkSettings"]["Networks"].items()
            },
        }
    return found


def _source(mount: dict[str, Any]) -> str:
    # An anonymous volume gets a random name in either run.
    return mount.get("Name", "") if mount["Type"] == "volume" and len(mount.get("Name", "")) != 64 else (
        "(anonymous)" if mount["Type"] == "volume" else mount.get("Source", "")
    )


def differences(ours: dict[str, Any], theirs: dict[str, Any]) -> list[str]:
    found = [f"containers: harness {sorted(ours)}, compose {sorted(theirs)}"] if sorted(ours) != sorted(theirs) else []
    for name in sorted(set(ours) & set(theirs)):
        found += [
            f"{name}.{key}: harness {ours[name][key]!r}, compose {theirs[name][key]!r}"
            for key in ours[name]
            if ours[name][key] != theirs[name][key]
        ]
    return found
