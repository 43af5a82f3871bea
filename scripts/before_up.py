"""`python -m scripts.before_up --stack dev`: what `make up` does before `pulumi up`, in one process.

The CLI found (or installed: scripts/ensure_pulumi.py), the stack created and selected where it isn't
already (`pulumi stack select --create`), then what a killed up left recovered (scripts/recover). These
were three processes, one of them the CLI (0.3-0.5 s, more on a loaded machine). On a file backend the
stack's checkpoint says whether it exists and the CLI's workspace file which stack is selected, so the
CLI runs only for a stack that is missing or not selected; on any other backend, or where either can't
be read here, it runs as before. Exits as recovery does: 1, saying why, where `pulumi up` must not run.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Optional

import yaml

from scripts import ensure_pulumi
from scripts.recover.__main__ import main as recover
from scripts.recover.backend import backend_url, file_backend


def working_directory() -> Path:
    """The directory as the CLI (Go's os.Getwd) names it: $PWD where that is this directory, so the
    workspace file found is the one the CLI keys by that path, symbolic links and all."""
    logical = os.environ.get("PWD")
    if logical and os.path.isabs(logical) and os.path.samefile(logical, "."):
        return Path(logical)
    return Path.cwd()


def workspace_file(project_dir: Path, project_name: str) -> Path:
    """Where the CLI keeps a project's selected stack (pulumi pkg/workspace/workspace.go, settingsPath):
    `<PULUMI_HOME or ~/.pulumi>/workspaces/<project>-<sha1 of Pulumi.yaml's path>-workspace.json`."""
    home = Path(os.environ["PULUMI_HOME"]) if os.environ.get("PULUMI_HOME") else Path.home() / ".pulumi"
    digest = hashlib.sha1(str(project_dir / "Pulumi.yaml").encode()).hexdigest()
    return home / "workspaces" / f"{project_name}-{digest}-workspace.json"


def selected_stack(project_dir: Path, project_name: str, url: str) -> Optional[str]:
    """The stack a command without --stack takes (pkg/backend/state/stacks.go, getCurrentStackName):
    PULUMI_STACK, else the workspace's entry for this backend (keyed by its URL as configured), else,
    in a workspace file older than per-backend entries, its single one. None where nothing says."""
    if "PULUMI_STACK" in os.environ:
        return os.environ["PULUMI_STACK"]
    try:
        settings = json.loads(workspace_file(project_dir, project_name).read_text())
    except (OSError, ValueError):
        return None
    stacks = settings.get("stacks") or {}
    return stacks.get(url) if stacks else settings.get("stack")


def stack_is_ready(stack: str, project_dir: Path) -> bool:
    """True when the stack exists on a file backend and is the selected one; False when not, or unsure."""
    backend = file_backend(project_dir)
    if backend is None or backend.checkpoint(stack) is None:
        return False
    project = yaml.safe_load((project_dir / "Pulumi.yaml").read_text()) or {}
    selected = selected_stack(project_dir, backend.project, backend_url(project))
    return selected in (stack, f"organization/{backend.project}/{stack}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make up", description=__doc__.splitlines()[0])
    parser.add_argument("--stack", required=True)
    arguments = parser.parse_args(argv)
    project_dir = working_directory()
    cli = ensure_pulumi.pulumi_cli()
    if cli is None:
        return 1
    if not stack_is_ready(arguments.stack, project_dir):
        command = ["pulumi", "stack", "select", "--create", arguments.stack, "--secrets-provider", "passphrase"]
        print(" ".join(command), flush=True)
        if subprocess.run([cli, *command[1:]], cwd=project_dir, check=False).returncode:
            return 1
    return recover(["--stack", arguments.stack, "--cwd", str(project_dir)])


if __name__ == "__main__":
    sys.exit(main())
