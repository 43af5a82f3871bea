"""Which keys of the Compose Specification this package declares: any other is reported, never dropped."""
from __future__ import annotations

from typing import Any, Optional

from components.compose_project.source import Path, Source, dotted

LEAF = None
ITEMS = "[]"  # the spec of a list's object items; a key's spec applies to its value whether map or list
ANY_KEY = "*"

_UPDATE = dict.fromkeys(("parallelism", "delay", "failure_action", "monitor", "max_failure_ratio", "order"), LEAF)
_FILE_REFERENCE = dict.fromkeys(("source", "target", "uid", "gid", "mode"), LEAF)
# A secret or config defined by a file, a variable or (configs) inline text; `name` and `external` are read to be refused.
_FILE_OBJECT = dict.fromkeys(("file", "environment", "content", "name", "external"), LEAF)
_SERVICE: dict[str, Any] = {
    **dict.fromkeys(
        (
            "image", "command", "entrypoint", "environment", "expose", "hostname", "dns", "user", "working_dir",
            "stop_grace_period", "mem_limit", "mem_reservation", "cpus", "restart", "labels", "container_name", "scale",
            "stop_signal", "stdin_open", "tty", "platform", "cap_add", "cap_drop", "sysctls", "security_opt", "network_mode",
            "runtime", "init", "extra_hosts", "tmpfs", "shm_size", "profiles", "privileged", "read_only", "dns_search",
            "dns_opt", "domainname", "group_add", "pid", "ipc", "userns_mode", "cpu_shares", "cpuset",
        ),
        LEAF,
    ),
    "ulimits": {ANY_KEY: dict.fromkeys(("soft", "hard"), LEAF)},
    "devices": {ITEMS: dict.fromkeys(("source", "target", "permissions"), LEAF)},
    "logging": dict.fromkeys(("driver", "options"), LEAF),
    "secrets": {ITEMS: _FILE_REFERENCE},
    "configs": {ITEMS: _FILE_REFERENCE},
    "build": dict.fromkeys(("context", "dockerfile", "args", "target"), LEAF),
    "env_file": {ITEMS: dict.fromkeys(("path", "required"), LEAF)},
    "ports": {ITEMS: dict.fromkeys(("target", "published", "host_ip", "protocol"), LEAF)},
    "volumes": {ITEMS: {**dict.fromkeys(("type", "source", "target", "read_only"), LEAF), "bind": {"create_host_path": LEAF}}},
    "networks": {ANY_KEY: {"aliases": LEAF}},
    "depends_on": {ANY_KEY: {"condition": LEAF}},
    "healthcheck": dict.fromkeys(("test", "interval", "timeout", "retries", "start_period", "start_interval", "disable"), LEAF),
    "deploy": {
        "mode": LEAF,
        "replicas": LEAF,
        "update_config": _UPDATE,
        "rollback_config": _UPDATE,
        "resources": {part: dict.fromkeys(("cpus", "memory"), LEAF) for part in ("limits", "reservations")},
        "placement": {"constraints": LEAF},
    },
}
SUPPORTED: dict[str, Any] = {
    "version": LEAF,
    "name": LEAF,
    "services": {ANY_KEY: _SERVICE},
    "networks": {
        ANY_KEY: {
            **dict.fromkeys(("name", "driver", "external", "internal", "attachable", "labels"), LEAF),
            "ipam": {"config": {ITEMS: dict.fromkeys(("subnet", "gateway", "ip_range"), LEAF)}},
        }
    },
    "volumes": {ANY_KEY: dict.fromkeys(("name", "driver", "driver_opts", "external", "labels"), LEAF)},
    "secrets": {ANY_KEY: _FILE_OBJECT},
    "configs": {ANY_KEY: _FILE_OBJECT},
}


def unsupported_keys(data: Any, source: Source) -> list[str]:
    """`file:line: key` for every key the file sets that this package does not declare. Extension
    keys (`x-...`) are skipped, as Compose itself ignores them."""
    found: list[str] = []
    _walk(data, SUPPORTED, (), source, found)
    return found


def _walk(value: Any, spec: Optional[dict[str, Any]], path: Path, source: Source, found: list[str]) -> None:
    if spec is None:
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, dict):
                _walk(item, spec.get(ITEMS, spec), path + (index,), source, found)
        return
    if not isinstance(value, dict):
        return
    for key, item in value.items():
        if isinstance(key, str) and key.startswith("x-"):
            continue
        if key in spec:
            _walk(item, spec[key], path + (key,), source, found)
        elif ANY_KEY in spec:
            _walk(item, spec[ANY_KEY], path + (key,), source, found)
        else:
            found.append(f"{source.filename}:{source.line(path + (key,))}: `{dotted(path + (key,))}`")
