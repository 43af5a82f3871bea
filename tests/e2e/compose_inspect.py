"""The containers of a compose project as `docker inspect` shows them, in the terms `docker compose up` and
ComposeProject (through the harness or the real CLI) share, and the differences between two such views.

Where two runs differ only in how the engine is told the same thing, `observe` reads both alike: no restart
policy ("" or "no"), an empty list or none, and aliases Docker resolves anyway (the container's name and
short id)."""
from __future__ import annotations

from typing import Any, Sequence

import docker

PROJECT_LABEL = "com.docker.compose.project"
# Compose's labels both sides set alike; the others (config-hash, version, the file's path) are Compose's bookkeeping.
COMPARED_COMPOSE_LABELS = (
    "com.docker.compose.project", "com.docker.compose.service", "com.docker.compose.container-number",
    "com.docker.compose.oneoff", "com.docker.compose.depends_on",
)


def observe(engine: docker.DockerClient, project: str, ids: bool = False, files: Sequence[str] = ()) -> dict[str, Any]:
    """Each of the project's containers as `docker inspect` shows it, in the terms both sides share; with
    `files`, those paths in each running container too (mode, owner, content), where secrets and configs land."""
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
            "files": _files(engine, container["Id"], files) if files and container["State"]["Running"] else None,
        }
    return found


# Each path's mode, owner and content digest, or that it is absent.
_DESCRIBE_FILES = (
    'for f in "$@"; do if [ -e "$f" ]; then echo "$f $(stat -L -c "%a %u:%g" "$f") $(md5sum < "$f")"; '
    'else echo "$f absent"; fi; done'
)


def _files(engine: docker.DockerClient, container_id: str, paths: Sequence[str]) -> list[str]:
    run = engine.api.exec_create(container_id, ["sh", "-c", _DESCRIBE_FILES, "sh", *paths])
    return engine.api.exec_start(run["Id"]).decode().splitlines()


def _source(mount: dict[str, Any]) -> str:
    # An anonymous volume gets a random name in either run.
    return mount.get("Name", "") if mount["Type"] == "volume" and len(mount.get("Name", "")) != 64 else (
        "(anonymous)" if mount["Type"] == "volume" else mount.get("Source", "")
    )


def differences(ours: dict[str, Any], theirs: dict[str, Any], ours_label: str = "harness", theirs_label: str = "compose") -> list[str]:
    found = [f"containers: {ours_label} {sorted(ours)}, {theirs_label} {sorted(theirs)}"] if sorted(ours) != sorted(theirs) else []
    for name in sorted(set(ours) & set(theirs)):
        found += [
            f"{name}.{key}: {ours_label} {ours[name][key]!r}, {theirs_label} {theirs[name][key]!r}"
            for key in ours[name]
            if ours[name][key] != theirs[name][key]
        ]
    return found
