"""The `pulumi` commands recovery runs: stack export, import and history, cancel, and refresh."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any, Mapping, Optional, Protocol, Sequence

from .errors import RecoveryError


class Cli(Protocol):
    def export(self) -> Mapping[str, Any]: ...
    def replace_state(self, document: Mapping[str, Any]) -> None: ...
    def refresh(self, targets: Sequence[str]) -> None: ...
    def refresh_everything(self) -> None: ...
    def last_update(self) -> Optional[Mapping[str, Any]]: ...
    def cancel(self) -> None: ...


class PulumiCli:
    def __init__(self, stack: str, project_dir: Path) -> None:
        self.stack = stack
        self.project_dir = project_dir

    def export(self) -> Mapping[str, Any]:
        # Secrets shown: a docker provider's TLS material is one, and recovery must reach that engine.
        return json.loads(self._run("stack", "export", "--show-secrets"))

    def replace_state(self, document: Mapping[str, Any]) -> None:
        """`pulumi stack import`, on stdin so no file holds the secrets; it encrypts them again."""
        self._run("stack", "import", stdin=json.dumps(document))

    def refresh(self, targets: Sequence[str]) -> None:
        """Reads `targets` again from their providers, and only them."""
        self._run("refresh", "--yes", "--skip-preview", *(f"--target={urn}" for urn in targets))

    def refresh_everything(self) -> None:
        self._run("refresh", "--yes", "--skip-preview")

    def last_update(self) -> Optional[Mapping[str, Any]]:
        """The newest entry of `pulumi stack history` (an update, refresh or destroy); None before the first."""
        entries = json.loads(self._run("stack", "history", "--json", "--page-size", "1") or "[]")
        return entries[0] if entries else None

    def cancel(self) -> None:
        self._run("cancel", "--yes")

    def _run(self, *arguments: str, stdin: Optional[str] = None) -> str:
        command = ["pulumi", *arguments, "--stack", self.stack, "--non-interactive"]
        completed = subprocess.run(command, cwd=self.project_dir, input=stdin, capture_output=True, text=True, check=False)
        if completed.returncode != 0:
            raise RecoveryError(f"`{' '.join(command)}` failed ({completed.returncode}):\n{completed.stderr.strip() or completed.stdout.strip()}")
        return completed.stdout
