"""A service's `ports` and `volumes` as Docker publishes and mounts them."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from components.compose_project.reading import Reading
from components.compose_project.source import Path


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
    """A project volume's key, an absolute host path (bind), or None for an anonymous volume or a tmpfs."""
    bind: bool = False
    read_only: bool = False
    selinux: Optional[str] = None
    """A bind mount's SELinux relabeling: `z` (shared) or `Z` (private)."""
    propagation: Optional[str] = None
    """A bind mount's propagation (rprivate, rslave...), which only the engine's Mounts form takes."""
    nocopy: bool = False
    """A volume mount that leaves the image's files out of a new volume; like `subpath`, the Mounts form only."""
    subpath: Optional[str] = None
    """The folder of the volume to mount."""
    tmpfs: bool = False
    """A tmpfs mount (`type: tmpfs`), sized `size_bytes` with permissions `mode`."""
    size_bytes: Optional[int] = None
    mode: Optional[int] = None

    @property
    def engine_form(self) -> bool:
        """Declared in the engine's Mounts form (`mounts`), as only it takes these options."""
        return self.tmpfs or bool(self.propagation) or self.nocopy or bool(self.subpath)


class PortsAndMountsReading(Reading):
    """Compose gives both in their long form (a short `8000-8001:80-81` as one entry per port)."""

    def ports(self, at: Path, raw: dict) -> list[Port]:
        published = raw.get("published")
        if isinstance(published, str) and "-" in published:
            raise self.source.error(at + ("published",), f"a published range {published!r} for one target port cannot be declared; give one port")
        return [Port(int(raw["target"]), int(published) if published not in (None, "") else None, raw.get("host_ip"), raw.get("protocol", "tcp"))]

    def mount(self, at: Path, raw: dict) -> Mount:
        kind = raw.get("type")
        if kind == "tmpfs":
            tmpfs = raw.get("tmpfs") or {}
            return Mount(
                target=raw["target"], tmpfs=True, read_only=bool(raw.get("read_only", False)),
                size_bytes=self.bytes(at + ("tmpfs", "size"), tmpfs["size"]) if "size" in tmpfs else None,
                mode=int(tmpfs["mode"]) if "mode" in tmpfs else None,
            )
        if kind not in ("volume", "bind"):
            raise self.source.error(at + ("type",), f"volume type {kind!r} cannot be declared with pulumi-docker's Container (volume, bind "
                                    "and tmpfs can)")
        source = raw.get("source")
        bind = kind == "bind"
        if bind and not source:
            raise self.source.error(at, "a bind mount needs a source")
        if not bind and source is not None and source not in (self.data.get("volumes") or {}):
            raise self.source.error(at, f"uses volume {source!r}, which the top-level `volumes` does not declare")
        return Mount(
            target=raw["target"], source=source, bind=bind, read_only=bool(raw.get("read_only", False)),
            selinux=(raw.get("bind") or {}).get("selinux"),
            propagation=(raw.get("bind") or {}).get("propagation"),
            nocopy=bool((raw.get("volume") or {}).get("nocopy", False)),
            subpath=(raw.get("volume") or {}).get("subpath"),
        )
