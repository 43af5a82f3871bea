"""Where a file backend keeps a stack's lock and state, read without the CLI so a clean stack costs nothing.

Layout (pulumi/pulumi pkg/backend/diy): under `<backend dir>/.pulumi/`, a project-scoped backend
(meta.yaml `version: 1`) keeps the stack's checkpoint at `stacks/<project>/<stack>.json` (or
`.json.gz`, `.json.zst`), its locks at `locks/organization/<project>/<stack>/<uuid>.json` and a record of each
update at `history/<project>/<stack>/<stack>-<unix nanoseconds>.history.json`; a legacy one at
`stacks/<stack>.json`, `locks/<stack>/` and `history/<stack>/`. Each lock file is lock.go's lockContent:
`{pid, username, hostname, timestamp}`; each history file an apitype.UpdateInfo (`kind`, `result`, ...).
"""
from __future__ import annotations

import gzip
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional
from urllib.parse import urlparse

import yaml


@dataclass(frozen=True)
class Lock:
    path: Path
    pid: int
    username: str
    hostname: str
    timestamp: str


@dataclass(frozen=True)
class FileBackend:
    root: Path
    """The backend directory, holding `.pulumi/`."""
    project: str

    def _project_scoped(self) -> bool:
        meta = self.root / ".pulumi" / "meta.yaml"
        return meta.is_file() and (yaml.safe_load(meta.read_text()) or {}).get("version", 0) >= 1

    def lock_dir(self, stack: str) -> Path:
        locks = self.root / ".pulumi" / "locks"
        return locks / "organization" / self.project / stack if self._project_scoped() else locks / stack

    def locks(self, stack: str) -> list[Lock]:
        found = []
        for path in sorted(self.lock_dir(stack).glob("*.json")):
            content = json.loads(path.read_text())
            found.append(Lock(path, int(content.get("pid", 0)), content.get("username", "?"), content.get("hostname", "?"), content.get("timestamp", "?")))
        return found

    def last_update(self, stack: str) -> Optional[Mapping[str, Any]]:
        """What the newest update, refresh or destroy of the stack recorded (`kind`, `result`); None before the first."""
        history = self.root / ".pulumi" / "history"
        folder = history / self.project / stack if self._project_scoped() else history / stack
        records = folder.glob(f"{stack}-*.history.json")
        newest = max(records, key=lambda path: int(path.name[len(stack) + 1 : -len(".history.json")]), default=None)
        return json.loads(newest.read_text()) if newest is not None else None

    def checkpoint(self, stack: str) -> Optional[Mapping[str, Any]]:
        """The stack's latest deployment as stored; None when there is no stack or it can't be read here (zstd)."""
        stacks = self.root / ".pulumi" / "stacks"
        base = stacks / self.project / stack if self._project_scoped() else stacks / stack
        plain_file, gzipped = base.with_name(base.name + ".json"), base.with_name(base.name + ".json.gz")
        if plain_file.is_file():
            text = plain_file.read_text()
        elif gzipped.is_file():
            text = gzip.decompress(gzipped.read_bytes()).decode()
        else:
            return None
        return (json.loads(text).get("checkpoint") or {}).get("latest") or {}


def backend_url(project: Mapping[str, Any]) -> str:
    """The CLI's order: PULUMI_BACKEND_URL, then the project's backend.url, then the stored login."""
    if os.environ.get("PULUMI_BACKEND_URL"):
        return os.environ["PULUMI_BACKEND_URL"]
    url = (project.get("backend") or {}).get("url")
    if url:
        return url
    credentials = Path.home() / ".pulumi" / "credentials.json"
    return (json.loads(credentials.read_text()).get("current") or "") if credentials.is_file() else ""


def file_backend(project_dir: Path) -> Optional[FileBackend]:
    """The project's backend when it is a directory on this machine; None for any other kind."""
    project = yaml.safe_load((project_dir / "Pulumi.yaml").read_text()) or {}
    url = backend_url(project)
    if not url.startswith("file://"):
        return None
    parsed = urlparse(url)
    path = parsed.netloc + parsed.path  # file://~ puts `~` in netloc, file:///srv in path
    root = Path(os.path.expanduser(path)) if path.startswith("~") else Path(path)
    return FileBackend(root if root.is_absolute() else project_dir / root, project["name"])
