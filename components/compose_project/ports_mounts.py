"""A service's `ports` and `volumes`, short and long forms, as Docker publishes and mounts them."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path as FilePath
from typing import Any, Optional

from components.compose_project.reading import Reading
from components.compose_project.source import Path

_PORT = re.compile(r"^(?:(?P<ip>\d{1,3}(?:\.\d{1,3}){3}):)?(?:(?P<published>\d+(?:-\d+)?)?:)?(?P<target>\d+(?:-\d+)?)(?:/(?P<protocol>tcp|udp|sctp))?$")


@dataclass(frozen=True)
class Port:
    target: int
    published: Optional[int] = None
    """None: a random host port, as Compose publishes it."""
    host_ip: Optional[str] = None
    protocol: str = "tcp"


@dataclass(frozen=True)
class Mount:
    target: str
    source: Optional[str] = None
    """A project volume's key, an absolute host path (bind), or None for an anonymous volume."""
    bind: bool = False
    read_only: bool = False


class PortsAndMountsReading(Reading):
    def ports(self, at: Path, raw: Any) -> list[Port]:
        if isinstance(raw, dict):
            published = raw.get("published")
            if isinstance(published, str) and "-" in published:
                raise self.source.error(at + ("published",), f"a published range {published!r} for one target port cannot be declared; give one port")
            return [Port(int(raw["target"]), int(published) if published not in (None, "") else None, raw.get("host_ip"), raw.get("protocol", "tcp"))]
        match = _PORT.match(str(raw))
        if match is None:
            raise self.source.error(at, f"{raw!r} is not a port mapping this program reads: [IP:][HOST:]CONTAINER[/PROTOCOL], ranges as A-B")
        targets = _port_range(match.group("target"))
        published = _port_range(match.group("published")) if match.group("published") else None
        if published is not None and len(published) != len(targets):
            raise self.source.error(at, f"{raw!r}: the published range and the container range differ in size; Compose would pick one port, "
                                    "which cannot be declared")
        return [
            Port(target, published[index] if published else None, match.group("ip"), match.group("protocol") or "tcp")
            for index, target in enumerate(targets)
        ]

    def mount(self, at: Path, raw: Any) -> Mount:
        if isinstance(raw, dict):
            kind = raw.get("type")
            if kind not in ("volume", "bind"):
                raise self.source.error(at + ("type",), f"volume type {kind!r} is not declared by this program (volume and bind are)")
            source = raw.get("source")
            return self.mount_of(at, source, raw["target"], kind == "bind", bool(raw.get("read_only", False)))
        parts = str(raw).split(":")
        if len(parts) == 1:
            return Mount(target=parts[0])
        if len(parts) > 3:
            raise self.source.error(at, f"{raw!r} is not SOURCE:TARGET[:MODE]")
        mode = parts[2].split(",") if len(parts) == 3 else []
        unknown = [option for option in mode if option not in ("ro", "rw")]
        if unknown:
            raise self.source.error(at, f"volume options {unknown} are not declared by this program (ro and rw are)")
        source = parts[0]
        bind = source.startswith((".", "/", "~"))
        return self.mount_of(at, source, parts[1], bind, "ro" in mode)

    def mount_of(self, at: Path, source: Optional[str], target: str, bind: bool, read_only: bool) -> Mount:
        if bind:
            if not source:
                raise self.source.error(at, "a bind mount needs a source")
            source = str((self.directory / FilePath(source).expanduser()).resolve())
        elif source is not None and source not in (self.data.get("volumes") or {}):
            raise self.source.error(at, f"uses volume {source!r}, which the top-level `volumes` does not declare")
        return Mount(target=target, source=source, bind=bind, read_only=read_only)


def _port_range(text: str) -> list[int]:
    start, _, end = text.partition("-")
    return list(range(int(start), int(end or start) + 1))
