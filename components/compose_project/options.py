"""How `docker compose up` runs a service's container, beyond its image, command, environment, ports and
mounts: signals, terminal, platform, kernel and security settings, network mode, logging."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from components.compose_project.reading import Reading, scalar_text, split_assignment
from components.compose_project.source import Path

# `network_mode`, `pid` and `ipc` values that join another container's namespace.
SERVICE_PREFIX = "service:"
CONTAINER_PREFIX = "container:"


@dataclass(frozen=True)
class Ulimit:
    name: str
    soft: int
    hard: int


@dataclass(frozen=True)
class Device:
    source: str
    target: str
    permissions: str = "rwm"
    """Docker's default, which it reports back."""


@dataclass(frozen=True)
class RunOptions:
    stop_signal: Optional[str] = None
    stdin_open: bool = False
    tty: bool = False
    platform: Optional[str] = None
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    sysctls: Mapping[str, str] = field(default_factory=dict)
    ulimits: tuple[Ulimit, ...] = ()
    security_opt: tuple[str, ...] = ()
    network_mode: Optional[str] = None
    """As written: host, none, bridge, `service:<name>` or `container:<name>`."""
    runtime: Optional[str] = None
    init: Optional[bool] = None
    extra_hosts: tuple[tuple[str, str], ...] = ()
    """(host, address) pairs; the address may be Docker's `host-gateway`."""
    tmpfs: Mapping[str, str] = field(default_factory=dict)
    """Container path -> mount options (empty for the defaults)."""
    shm_size_mb: Optional[int] = None
    log_driver: Optional[str] = None
    log_options: Mapping[str, str] = field(default_factory=dict)
    privileged: bool = False
    read_only: bool = False
    dns_search: tuple[str, ...] = ()
    dns_opt: tuple[str, ...] = ()
    domainname: Optional[str] = None
    group_add: tuple[str, ...] = ()
    pid: Optional[str] = None
    ipc: Optional[str] = None
    userns_mode: Optional[str] = None
    cpu_shares: Optional[int] = None
    cpuset: Optional[str] = None
    devices: tuple[Device, ...] = ()

    def namespaces(self) -> dict[str, str]:
        """`network_mode`, `pid` or `ipc` -> the service whose container's namespace it joins (`service:<name>`)."""
        given = {"network_mode": self.network_mode, "pid": self.pid, "ipc": self.ipc}
        return {key: value[len(SERVICE_PREFIX):] for key, value in given.items() if value and value.startswith(SERVICE_PREFIX)}


class OptionsReading(Reading):
    def run_options(self, at: Path, raw: dict) -> RunOptions:
        if "network_mode" in raw and "networks" in raw:
            raise self.source.error(at + ("network_mode",), "`network_mode` and `networks` exclude each other (Compose refuses both)")
        logging = raw.get("logging") or {}
        return RunOptions(
            stop_signal=raw.get("stop_signal"),
            stdin_open=bool(raw.get("stdin_open", False)),
            tty=bool(raw.get("tty", False)),
            platform=raw.get("platform"),
            cap_add=_unique(raw.get("cap_add")),
            cap_drop=_unique(raw.get("cap_drop")),
            sysctls=self.mapping(raw.get("sysctls")),
            ulimits=tuple(self.ulimit(name, value) for name, value in (raw.get("ulimits") or {}).items()),
            security_opt=_unique(raw.get("security_opt")),
            network_mode=raw.get("network_mode"),
            runtime=raw.get("runtime"),
            init=raw.get("init"),
            extra_hosts=self.extra_hosts(raw.get("extra_hosts")),
            tmpfs=dict(_tmpfs_entry(entry) for entry in _strings(raw.get("tmpfs"))),
            shm_size_mb=self.megabytes(at + ("shm_size",), raw["shm_size"]) if "shm_size" in raw else None,
            log_driver=logging.get("driver"),
            log_options={key: scalar_text(value) for key, value in (logging.get("options") or {}).items()},
            privileged=bool(raw.get("privileged", False)),
            read_only=bool(raw.get("read_only", False)),
            dns_search=_unique(raw.get("dns_search")),
            dns_opt=_unique(raw.get("dns_opt")),
            domainname=raw.get("domainname"),
            group_add=_unique(raw.get("group_add")),
            pid=raw.get("pid"),
            ipc=raw.get("ipc"),
            userns_mode=raw.get("userns_mode"),
            cpu_shares=int(raw["cpu_shares"]) if "cpu_shares" in raw else None,
            cpuset=raw.get("cpuset"),
            devices=tuple(_device(entry) for entry in raw.get("devices") or ()),
        )

    @staticmethod
    def ulimit(name: str, raw: Any) -> Ulimit:
        # A single number sets both limits, as in `docker run --ulimit nofile=N`.
        if isinstance(raw, dict):
            return Ulimit(name, int(raw["soft"]), int(raw["hard"]))
        return Ulimit(name, int(raw), int(raw))

    @staticmethod
    def extra_hosts(raw: Any) -> tuple[tuple[str, str], ...]:
        if raw is None:
            return ()
        if isinstance(raw, dict):
            pairs = [(host, str(address)) for host, value in raw.items() for address in (value if isinstance(value, list) else [value])]
        else:
            # compose-go's order: `host=address` first, then the older `host:address`.
            pairs = [split_assignment(entry) if "=" in entry else tuple(entry.split(":", 1)) for entry in map(str, raw)]
        # An IPv6 address may be bracketed in the file; the engine takes it bare.
        return tuple(dict.fromkeys((host, str(address).strip("[]")) for host, address in pairs))

    def check_namespaces(self, at: Path, options: RunOptions, replicas: Mapping[str, int]) -> None:
        """`replicas`: each service's count of containers."""
        for key, target in options.namespaces().items():
            if not replicas[target]:
                raise self.source.error(at + (key,), f"shares a namespace of {target!r}, which runs no container (0 replicas)")

    def namespace_shared_on_a_swarm(self, target: str, sharing: str) -> str:
        """Why `target` cannot be a swarm service: `sharing` joins its container's namespaces."""
        return str(self.source.error(
            ("services", target, "deploy"),
            f"service {sharing!r} joins this service's container (`service:{target}`), which a swarm service has none of to "
            "share; run it as containers (`swarm` off), or let them share no namespace",
        ))


def _strings(raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ()
    return (str(raw),) if isinstance(raw, str) else tuple(str(item) for item in raw)


def _unique(raw: Any) -> tuple[str, ...]:
    # Compose drops repeats in these lists (the schema's uniqueItems, which it does not enforce).
    return tuple(dict.fromkeys(_strings(raw)))


def _device(raw: Any) -> Device:
    if isinstance(raw, dict):
        return Device(raw["source"], raw.get("target") or raw["source"], raw.get("permissions") or "rwm")
    source, _, rest = str(raw).partition(":")
    target, _, permissions = rest.partition(":")
    return Device(source, target or source, permissions or "rwm")


def _tmpfs_entry(entry: str) -> tuple[str, str]:
    path, _, options = entry.partition(":")
    return path, options
