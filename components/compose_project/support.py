"""Which keys of the Compose Specification this package declares: any other is reported, never dropped;
those pulumi-docker cannot declare at all with the reason and a way around."""
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
            "dns_opt", "domainname", "group_add", "pid", "ipc", "userns_mode", "cpu_shares", "cpuset", "volumes_from", "links", "pull_policy",
            # What `docker compose watch` (not `up`) reads: warned as left aside.
            "develop",
        ),
        LEAF,
    ),
    "ulimits": {ANY_KEY: dict.fromkeys(("soft", "hard"), LEAF)},
    "devices": {ITEMS: dict.fromkeys(("source", "target", "permissions"), LEAF)},
    "logging": dict.fromkeys(("driver", "options"), LEAF),
    "secrets": {ITEMS: _FILE_REFERENCE},
    "configs": {ITEMS: _FILE_REFERENCE},
    "build": dict.fromkeys(("context", "dockerfile", "args", "target", "cache_from"), LEAF),
    "env_file": {ITEMS: dict.fromkeys(("path", "required"), LEAF)},
    # `mode` (ingress or host) matters on a swarm only; `name` and `app_protocol` are notes the engine never sees.
    "ports": {ITEMS: dict.fromkeys(("target", "published", "host_ip", "protocol", "mode", "name", "app_protocol"), LEAF)},
    "volumes": {
        ITEMS: {
            **dict.fromkeys(("type", "source", "target", "read_only"), LEAF),
            "bind": dict.fromkeys(("create_host_path", "selinux", "propagation"), LEAF),
            "tmpfs": dict.fromkeys(("size", "mode"), LEAF),
            "volume": dict.fromkeys(("nocopy", "subpath"), LEAF),
        }
    },
    "networks": {ANY_KEY: dict.fromkeys(("aliases", "ipv4_address", "ipv6_address"), LEAF)},
    "depends_on": {ANY_KEY: dict.fromkeys(("condition", "required", "restart"), LEAF)},
    "healthcheck": dict.fromkeys(("test", "interval", "timeout", "retries", "start_period", "start_interval", "disable"), LEAF),
    "deploy": {
        "mode": LEAF,
        "replicas": LEAF,
        "update_config": _UPDATE,
        "rollback_config": _UPDATE,
        "resources": {part: dict.fromkeys(("cpus", "memory"), LEAF) for part in ("limits", "reservations")},
        "placement": {"constraints": LEAF},
        "restart_policy": dict.fromkeys(("condition", "max_attempts", "delay", "window"), LEAF),
        "labels": LEAF,
    },
}
SUPPORTED: dict[str, Any] = {
    "version": LEAF,
    "name": LEAF,
    "services": {ANY_KEY: _SERVICE},
    "networks": {
        ANY_KEY: {
            **dict.fromkeys(("name", "driver", "external", "internal", "attachable", "labels"), LEAF),
            "ipam": {"driver": LEAF, "config": {ITEMS: dict.fromkeys(("subnet", "gateway", "ip_range"), LEAF)}},
        }
    },
    "volumes": {ANY_KEY: dict.fromkeys(("name", "driver", "driver_opts", "external", "labels"), LEAF)},
    "secrets": {ANY_KEY: _FILE_OBJECT},
    "configs": {ANY_KEY: _FILE_OBJECT},
}


# What pulumi-docker's Container has no input for (its schema: pulumi/pulumi-docker provider/cmd/pulumi-resource-docker/
# schema.json), so no program declaring containers with it can set it: why, and the way around. docs/compose.md lists them.
_NO_INPUT = "pulumi-docker's Container has no input for it"
REFUSED = {
    "pids_limit": f"{_NO_INPUT} (the engine's PidsLimit); leave it out, or set it after creation with `docker update --pids-limit N <container>` "
    "(a pulumi-command Command)",
    "pids": f"{_NO_INPUT} (the engine's PidsLimit); leave it out, or set it after creation with `docker update --pids-limit N <container>` "
    "(a pulumi-command Command)",
    "external_links": f"{_NO_INPUT} (the engine's legacy Links); attach the container to one of the project's networks "
    "(`networks` of the other project, declared `external`) and reach it by its name or an alias there",
    "oom_kill_disable": f"{_NO_INPUT} (the engine's OomKillDisable); leave it out, and give the service a memory limit it stays under",
    "oom_score_adj": f"{_NO_INPUT} (the engine's OomScoreAdj); leave it out, or give the service a memory limit instead",
    "pull": "pulumi-docker's Image build has no pull option (the engine pulls a base image only when it lacks it); leave it out, "
    "or pull the base image before `pulumi up`",
}


def unsupported_keys(data: Any, source: Source) -> list[str]:
    """`file:line: key` for every key the file sets that this package does not declare, with the reason
    and a way around where pulumi-docker cannot declare it. Extension keys (`x-...`) are skipped, as
    Compose itself ignores them; so are keys Compose fills in empty."""
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
        if (isinstance(key, str) and key.startswith("x-")) or item in (None, {}, []):
            continue
        if key in spec:
            _walk(item, spec[key], path + (key,), source, found)
        elif ANY_KEY in spec:
            _walk(item, spec[ANY_KEY], path + (key,), source, found)
        else:
            reason = f": {REFUSED[key]}" if key in REFUSED else ""
            found.append(f"{source.filename}:{source.line(path + (key,))}: `{dotted(path + (key,))}`{reason}")
