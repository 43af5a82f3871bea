"""A service's `secrets` and `configs`, placed where `docker compose up` places them.

A `file` source is bind-mounted read-only; an `environment` or `content` source is copied into the
container with `mode` (default 0444), owned as compose's copyFileToContainer leaves it: by root unless
`uid` or `gid` is given; then by the service's `user` if it has one (the engine chowns the copy to the
container's user), else by `uid` and `gid`."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from components.compose_project.reading import Reading
from components.compose_project.source import Path

# Where Compose puts a secret or config whose target is left out or relative.
BASE_DIRECTORY = {"secrets": "/run/secrets/", "configs": "/"}
DEFAULT_MODE = 0o444


@dataclass(frozen=True)
class FileMount:
    kind: str
    """`secrets` or `configs`."""
    source: str
    """The key in the top-level `secrets` or `configs`."""
    target: str
    """Absolute path in the container."""
    file: Optional[str] = None
    """A `file` source: absolute host path, bind-mounted."""
    content: Optional[str] = None
    """An `environment` or `content` source's text, copied in."""
    uid: Optional[str] = None
    gid: Optional[str] = None
    mode: int = DEFAULT_MODE


class FilesReading(Reading):
    def file_mounts(self, at: Path, kind: str, raw: Any, user: Optional[str]) -> tuple[FileMount, ...]:
        return tuple(self.file_mount(at + (kind, index), kind, item, user) for index, item in enumerate(raw or ()))

    def file_mount(self, at: Path, kind: str, raw: Any, user: Optional[str]) -> FileMount:
        spec = {"source": raw} if isinstance(raw, str) else raw
        source = spec["source"]
        # Compose's `config` refuses a reference to an undeclared one.
        definition = self.data[kind][source]
        where: Path = (kind, source)
        if definition.get("external"):
            raise self.source.error(
                where + ("external",),
                f"an external {kind[:-1]} exists only on a swarm, and `docker compose up` refuses it too; "
                "give it a `file` or `environment` source instead",
            )
        target = spec.get("target") or source
        target = target if target.startswith("/") else BASE_DIRECTORY[kind] + target
        mode = spec.get("mode")
        if "file" in definition:
            file = (self.directory / definition["file"]).resolve()
            if not file.is_file():
                raise self.source.error(where + ("file",), f"{kind[:-1]} file {str(file)!r} not found")
            if {"uid", "gid", "mode"} & set(spec):
                # compose's buildContainerSecretMounts: a file is bind-mounted as it is.
                self.warn(at, "`uid`, `gid` and `mode` are ignored for a `file` source, as `docker compose up` ignores them: "
                          "the host file is bind-mounted read-only with its own owner and mode")
            return FileMount(kind, source, target, file=str(file))
        if "environment" in definition:
            variable = definition["environment"]
            if variable not in self.variables:
                raise self.source.error(
                    where + ("environment",), f"environment variable {variable!r} required by {kind[:-1]} {source!r} is not set"
                )
            content = self.variables[variable]
        else:
            content = str(definition["content"])
        # compose writes the file into a tar as uid/gid (0 when not given) and asks the engine to chown it
        # (CopyUIDGID) only when either is given; the engine then chowns it to the container's user when
        # there is one, whatever the numbers. An image's USER is that user too; not knowable here (docs/compose.md).
        uid, gid = None, None
        if "uid" in spec or "gid" in spec:
            if user:
                owner, _, group = user.partition(":")
                uid, gid = _numeric(owner), _numeric(group)
            else:
                uid, gid = _text(spec.get("uid")), _text(spec.get("gid"))
        return FileMount(
            kind, source, target, content=content, uid=uid, gid=gid,
            mode=self.file_mode(at + ("mode",), mode) if mode is not None else DEFAULT_MODE,
        )

    def file_mode(self, at: Path, raw: Any) -> int:
        # YAML reads 0440 as octal already; Compose reads a string as octal.
        try:
            return raw if isinstance(raw, int) else int(str(raw), 8)
        except ValueError:
            raise self.source.error(at, f"{raw!r} is not a file mode (e.g. 0440)") from None


def _text(value: Any) -> Optional[str]:
    return None if value is None else str(value)


def _numeric(value: str) -> Optional[str]:
    return value if value.isdigit() else None
