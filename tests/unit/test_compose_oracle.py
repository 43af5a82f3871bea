"""The model of each test compose file against Docker Compose's own reading of it (`docker compose config
--format json`, which needs no engine): container names, environment, ports, mounts, secrets and configs,
limits and run options must be what Compose makes of the file. Skipped without a Compose binary
($COMPOSE_BIN, else the one .ci/compose.sh caches); CI sets COMPOSE_BIN."""
from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any, Optional

import pytest

from components.compose_project import load_project
from components.compose_project.files import BASE_DIRECTORY, DEFAULT_MODE
from components.compose_project.model import Project, Service

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "compose"
COMPOSE_VERSION = "2.40.3"
# Per file, the variables both readers get.
CASES: dict[str, dict[str, str]] = {
    "keys": {"API_TOKEN": "token-from-the-shell", "MOTD": "welcome"},
    "deploy": {"API_REPLICAS": "2"},
    "db-volume": {"WEB_PORT": "18000"},
    "networks": {},
    "names": {},
    "limits": {},
}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?)(ms|s|m|h)")
_SECONDS = {"ms": 1e-3, "s": 1, "m": 60, "h": 3600}


def compose_binary() -> str:
    cached = Path(os.environ.get("ORCH_CACHE", Path.home() / ".cache" / "orchestration")) / f"docker-compose-{COMPOSE_VERSION}"
    path = os.environ.get("COMPOSE_BIN") or str(cached)
    if not os.access(path, os.X_OK):
        pytest.skip(f"no Docker Compose binary: COMPOSE_BIN is not set and {cached} is not built (bash .ci/compose.sh builds it)")
    return path


def compose_config(file: Path, variables: dict[str, str]) -> dict[str, Any]:
    # Only the given variables, as the model sees them: nothing from this shell's environment.
    environment = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", ""), **variables}
    result = subprocess.run(
        [compose_binary(), "-f", str(file), "config", "--format", "json"], env=environment, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def seconds(duration: str) -> int:
    return int(sum(float(number) * _SECONDS[unit] for number, unit in _DURATION_PART.findall(duration)))


def theirs(project: dict[str, Any], name: str, spec: dict[str, Any]) -> dict[str, Any]:
    """What `docker compose up` makes of one service, from Compose's normalized JSON."""
    deploy = spec.get("deploy") or {}
    resources = deploy.get("resources") or {}
    limits, reservations = resources.get("limits") or {}, resources.get("reservations") or {}
    replicas = deploy.get("replicas", spec.get("scale", 1))
    logging = spec.get("logging") or {}
    memory = spec.get("mem_limit", limits.get("memory"))
    reservation = spec.get("mem_reservation", reservations.get("memory"))
    cpus = spec.get("cpus", limits.get("cpus"))
    fields = {
        "container names": [spec["container_name"]] if "container_name" in spec else [f"{project['name']}-{name}-{n}" for n in range(1, replicas + 1)],
        "environment": {key: value for key, value in (spec.get("environment") or {}).items() if value is not None},
        "ports": sorted((p["target"], int(p["published"]) if p.get("published") else None, p.get("host_ip"), p["protocol"]) for p in spec.get("ports") or []),
        "mounts": [(m["target"], m.get("source"), m["type"] == "bind", bool(m.get("read_only"))) for m in spec.get("volumes") or []],
        "files": sorted(file_mount(project, kind, item, spec.get("user")) for kind in ("secrets", "configs") for item in spec.get(kind) or []),
        "memory bytes": int(memory) if memory is not None else None,
        "memory reservation bytes": int(reservation) if reservation is not None else None,
        "cpus": float(cpus) if cpus is not None else None,
        "stop_signal": spec.get("stop_signal"),
        "stop_grace_period": seconds(spec["stop_grace_period"]) if "stop_grace_period" in spec else None,
        "stdin_open": spec.get("stdin_open", False),
        "tty": spec.get("tty", False),
        "platform": spec.get("platform"),
        "cap_add": spec.get("cap_add", []),
        "cap_drop": spec.get("cap_drop", []),
        "sysctls": spec.get("sysctls", {}),
        "ulimits": sorted(
            (limit, value["soft"], value["hard"]) if isinstance(value, dict) else (limit, value, value)
            for limit, value in (spec.get("ulimits") or {}).items()
        ),
        "security_opt": spec.get("security_opt", []),
        "network_mode": spec.get("network_mode"),
        "networks": sorted(spec.get("networks") or {}),
        "runtime": spec.get("runtime"),
        "init": spec.get("init"),
        "extra_hosts": sorted(tuple(entry.split("=", 1)) for entry in spec.get("extra_hosts") or []),
        "dns": spec.get("dns", []),
        "tmpfs": spec.get("tmpfs", []),
        "shm_size bytes": int(spec["shm_size"]) if "shm_size" in spec else None,
        "logging": (logging.get("driver"), logging.get("options") or {}),
        "user": spec.get("user"),
        "working_dir": spec.get("working_dir"),
        "labels": spec.get("labels") or {},
        "depends_on": sorted(spec.get("depends_on") or {}),
        "privileged": spec.get("privileged", False),
        "read_only": spec.get("read_only", False),
        "dns_search": spec.get("dns_search", []),
        "dns_opt": spec.get("dns_opt", []),
        "domainname": spec.get("domainname"),
        "group_add": spec.get("group_add", []),
        "pid": spec.get("pid"),
        "ipc": spec.get("ipc"),
        "userns_mode": spec.get("userns_mode"),
        "cpu_shares": spec.get("cpu_shares"),
        "cpuset": spec.get("cpuset"),
        "devices": [(d["source"], d["target"], d["permissions"]) for d in spec.get("devices") or []],
    }
    return fields


def file_mount(project: dict[str, Any], kind: str, item: dict[str, Any], user: Optional[str]) -> tuple[Any, ...]:
    """Where `docker compose up` puts a secret or config (compose's injectFileReferences and fillBindMounts)."""
    definition = project[kind][item["source"]]
    target = item.get("target") or item["source"]
    target = target if target.startswith("/") else BASE_DIRECTORY[kind] + target
    if "file" in definition:
        return (kind, target, definition["file"], None, None, None)
    mode = int(item["mode"], 8) if "mode" in item else DEFAULT_MODE
    uid, gid = item.get("uid"), item.get("gid")
    if uid is None and gid is None and user:
        # setFileOwnership: the container's user, when the file gives neither.
        owner, _, group = user.partition(":")
        uid, gid = owner or None, group or None
    return (kind, target, None, uid, gid, mode)


def ours(project: Project, service: Service) -> dict[str, Any]:
    options = service.options
    return {
        "container names": list(service.container_names(project.name)),
        "environment": dict(service.environment),
        "ports": sorted((p.target, p.published, p.host_ip, p.protocol) for p in service.ports),
        "mounts": [(m.target, m.source, m.bind, m.read_only) for m in service.mounts],
        "files": sorted(
            (m.kind, m.target, m.file, None, None, None) if m.file else (m.kind, m.target, None, m.uid, m.gid, m.mode) for m in service.files
        ),
        "memory bytes": _bytes(service.memory_mb),
        "memory reservation bytes": _bytes(service.memory_reservation_mb),
        "cpus": float(service.cpus) if service.cpus is not None else None,
        "stop_signal": options.stop_signal,
        "stop_grace_period": service.stop_grace_seconds,
        "stdin_open": options.stdin_open,
        "tty": options.tty,
        "platform": options.platform,
        "cap_add": list(options.cap_add),
        "cap_drop": list(options.cap_drop),
        "sysctls": dict(options.sysctls),
        "ulimits": sorted((limit.name, limit.soft, limit.hard) for limit in options.ulimits),
        "security_opt": list(options.security_opt),
        "network_mode": options.network_mode,
        "networks": sorted(service.networks),
        "runtime": options.runtime,
        "init": options.init,
        "extra_hosts": sorted(options.extra_hosts),
        "dns": list(service.dns),
        "tmpfs": [f"{path}:{mount}" if mount else path for path, mount in options.tmpfs.items()],
        "shm_size bytes": _bytes(options.shm_size_mb),
        "logging": (options.log_driver, dict(options.log_options)),
        "user": service.user,
        "working_dir": service.working_dir,
        "labels": dict(service.labels),
        "depends_on": sorted(service.depends_on),
        "privileged": options.privileged,
        "read_only": options.read_only,
        "dns_search": list(options.dns_search),
        "dns_opt": list(options.dns_opt),
        "domainname": options.domainname,
        "group_add": list(options.group_add),
        "pid": options.pid,
        "ipc": options.ipc,
        "userns_mode": options.userns_mode,
        "cpu_shares": options.cpu_shares,
        "cpuset": options.cpuset,
        "devices": [(d.source, d.target, d.permissions) for d in options.devices],
    }


def _bytes(megabytes: Optional[int]) -> Optional[int]:
    return megabytes * 1024**2 if megabytes is not None else None


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_model_is_what_docker_compose_makes_of_the_file(case: str) -> None:
    file = DATA / case / "compose.yaml"
    reference = compose_config(file, CASES[case])
    project = load_project(str(file), CASES[case])
    assert project.name == reference["name"]
    assert sorted(service.name for service in project.services) == sorted(reference["services"])
    differences = []
    for service in project.services:
        expected, actual = theirs(reference, service.name, reference["services"][service.name]), ours(project, service)
        differences += [f"{service.name}.{key}: compose {expected[key]!r}, ours {actual[key]!r}" for key in expected if expected[key] != actual[key]]
    assert differences == []


def test_every_declared_key_of_the_keys_file_is_compared() -> None:
    """The keys file sets each key the comparison reads, so a key the model misreads cannot hide behind a default."""
    file = DATA / "keys" / "compose.yaml"
    reference = compose_config(file, CASES["keys"])
    set_somewhere = {
        key
        for name, spec in reference["services"].items()
        for key, value in theirs(reference, name, spec).items()
        if value not in (None, False, [], {}, (None, {}))
    }
    assert set(theirs(reference, "db", reference["services"]["db"])) - set_somewhere == set()
