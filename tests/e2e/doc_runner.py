"""Runs a doc's commands as a user pastes them, in bash, from the project folder, and checks what they print.

A test names each command it runs exactly as the doc gives it (the doc's block is marked
`<!-- run: <that test> -->`, tests/support/docs.py), with a check of its output against what the doc's
comment beside it shows. `pulumi` is the real CLI (RealProject's folder and environment) or, through the
harness, `pulumi stack output` over the stack the harness applied (tests/harness/stack_output.py), or
the stack commands the harness serves over a backend folder (tests/harness/cli.py). Either way a
`pulumi up` or `destroy` without `--yes` is answered yes, as the user at the prompt does.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from tests.harness import cli
from tests.harness.stack_output import install
from tests.support.docs import Command, documented_command
from tests.support.program import PROJECT_DIR

# A command that follows (`docker logs -f`) runs until stopped: it passes when stopped after this long.
FOLLOW_SECONDS = 12
COMMAND_TIMEOUT_SECONDS = 600

# The CLI's own switch for a prompt's "yes" (pkg/cmd/pulumi/operations/up.go): without a terminal it asks nobody.
ANSWERED_YES = {"PULUMI_SKIP_CONFIRMATIONS": "true"}

Check = Callable[[str, Command], Any]
"""Gets the command's stdout and the doc's command (with its comment); asserts what the doc shows."""


@dataclass
class Shell:
    """One terminal: what a doc's `export` or `cd` sets holds for the commands after it."""

    cwd: Path
    environment: dict[str, str]
    ran: list[str] = field(default_factory=list)
    _settings: list[str] = field(default_factory=list)

    def run(self, command: str) -> str:
        follows = " -f " in f" {command} "
        timeout = FOLLOW_SECONDS if follows else COMMAND_TIMEOUT_SECONDS
        script = "\n".join([*self._settings, command])
        try:
            completed = subprocess.run(
                ["bash", "-e", "-o", "pipefail", "-c", script], cwd=self.cwd, env=self.environment,
                capture_output=True, text=True, timeout=timeout, check=False,
            )
        except subprocess.TimeoutExpired as stopped:
            if not follows:
                raise AssertionError(f"{command!r} did not finish within {timeout} s") from None
            self.ran.append(command)
            return _text(stopped.stdout) + _text(stopped.stderr)
        assert completed.returncode == 0, f"{command!r}: exit {completed.returncode}\n{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}"
        self.ran.append(command)
        if command.startswith(("export ", "cd ")):
            self._settings.append(command)
        # `docker logs` replays a container's two streams; the terminal shows both.
        replays = follows or " logs " in f" {command} "
        return completed.stdout + (completed.stderr if replays else "")


def harness_shell(stack: str, outputs: Mapping[str, Any], folder: Path) -> Shell:
    """A shell whose `pulumi stack output` reads the harness's outputs of `stack`; `consul` is CONSUL_BIN."""
    bin_dir = folder / "bin"
    environment = {**os.environ, **install(bin_dir, stack, outputs, getattr(outputs, "secret", frozenset()))}
    consul = os.environ.get("CONSUL_BIN") or shutil.which("consul")
    if consul:
        (bin_dir / "consul").symlink_to(consul)
    return Shell(cwd=folder, environment=environment)


def harness_cli_shell(folder: Path, state_dir: Path, machine: Mapping[str, Mapping[str, Any]], cwd: Path | None = None) -> Shell:
    """A shell whose `pulumi` runs stack commands through the harness (tests/harness/cli.py), its backend in
    `folder`, its stacks' state where the e2e suite keeps its own (`state_dir`), in `cwd` (a project copy,
    for `make`) or `folder`."""
    environment = {**os.environ, **ANSWERED_YES, **cli.install(folder / "bin", folder / "backend", state_dir, machine)}
    return Shell(cwd=cwd or folder, environment=environment)


def real_cli_shell(project_dir: Path, environment: Mapping[str, str]) -> Shell:
    """A shell in a RealProject's copy, with its environment (its backend, passphrase)."""
    return Shell(cwd=project_dir, environment={**environment, **ANSWERED_YES})


def prints_nothing_to_check(output: str, command: Command) -> None:
    """For a command whose output the doc does not show: it ran (exit 0) and that is all the doc says."""


def run_documented(doc: Path, runner: str, checks: Mapping[str, Check], shell: Shell) -> None:
    """Runs each command in `checks`, in order, as `doc` gives it in a block marked as run by `runner`."""
    for text, check in checks.items():
        command = documented_command(doc, text, runner)
        check(shell.run(command.text), command)


def scratch_folder() -> tempfile.TemporaryDirectory:
    """Where a doc's commands run when they are not run in a project copy: files they write land there."""
    return tempfile.TemporaryDirectory(prefix="orchestration-docs-")


def project_doc(name: str) -> Path:
    return PROJECT_DIR / name


def _text(value: str | bytes | None) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else (value or "")
