"""The three `pulumi` commands recovery runs: stack export, cancel and refresh."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any, Mapping, Protocol, Sequence


class Cli(Protocol):
    def export(self) -> Mapping[str, Any]: ...
    def cancel(self) -> None: ...
    def refresh(self, imports: Sequence[tuple[str, str]], targets: Sequence[str]) -> None: ...


class RecoveryError(Exception):
    """A pulumi command recovery ran failed; the message says which and how."""


class PulumiCli:
    def __init__(self, stack: str, project_dir: Path) -> None:
        self.stack = stack
        self.project_dir = project_dir

    def export(self) -> Mapping[str, Any]:
        # Secrets shown: a docker provider's TLS material is one, and recovery must reach that engine.
        return json.loads(self._run("stack", "export", "--show-secrets"))

    def cancel(self) -> None:
        self._run("cancel", "--yes")

    def refresh(self, imports: Sequence[tuple[str, str]], targets: Sequence[str]) -> None:
        """Adopts each (URN, id) pending create, clears the other pending creates, reads `targets` again.

        The flag takes one value at a time, URN then id (a StringArray read in pairs); the imports are
        applied before the clear, which then only drops the creates still pending.
        """
        adopt = [f"--import-pending-creates={value}" for urn, object_id in imports for value in (urn, object_id)]
        self._run("refresh", "--yes", "--skip-preview", *adopt, "--clear-pending-creates", *(f"--target={urn}" for urn in targets))

    def _run(self, *arguments: str) -> str:
        command = ["pulumi", *arguments, "--stack", self.stack, "--non-interactive"]
        completed = subprocess.run(command, cwd=self.project_dir, capture_output=True, text=True, check=False)
        if completed.returncode != 0:
            raise RecoveryError(f"`{' '.join(command)}` failed ({completed.returncode}):\n{completed.stderr.strip() or completed.stdout.strip()}")
        return completed.stdout
