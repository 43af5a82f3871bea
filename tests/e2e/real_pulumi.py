"""The real Pulumi CLI and provider plugins, where this machine has them, driving a copy of the project.

No registry serves the CLI or the plugins, so CI has neither and these tests skip there, with the
reason; on a machine where `pulumi` is on PATH and `pulumi plugin ls` lists the docker, command
consul, random and tls plugins at the versions the Python SDKs ask for, they run the lifecycle Pulumi's own
ProgramTester runs: preview, up, a preview that must propose nothing, an edit, destroy.

The project is copied to a temporary folder whose `Pulumi.yaml` keeps state there too, so neither
the repository's files nor the user's `~/.pulumi` are touched.
"""
from __future__ import annotations

import contextlib
import copy
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import yaml

from tests.support.program import PROJECT_DIR

from .support import PHASES, build_stand_in_images, machine_config, phase, project_copy

PLUGINS = {"docker": "pulumi_docker", "command": "pulumi_command", "consul": "pulumi_consul", "random": "pulumi_random", "tls": "pulumi_tls"}
COMMAND_TIMEOUT_SECONDS = 900


def missing_toolchain() -> str | None:
    """Why the real suite cannot run here, or None when it can."""
    if not shutil.which("pulumi"):
        return "real-Pulumi suite: no `pulumi` CLI on PATH (build one from source; see issue 10)"
    listed = subprocess.run(["pulumi", "plugin", "ls", "--json"], capture_output=True, text=True, check=False)
    installed = {(p["name"], p["version"]) for p in json.loads(listed.stdout or "[]") if p.get("kind") == "resource"}
    wanted = {(name, importlib.metadata.version(package)) for name, package in PLUGINS.items()}
    missing = sorted(f"{name} {version}" for name, version in wanted - installed)
    return f"real-Pulumi suite: plugins not installed: {', '.join(missing)}" if missing else None


def skip_without_toolchain() -> None:
    reason = missing_toolchain()
    if reason:
        pytest.skip(reason)


class RealProject:
    """A copy of the project with its own file backend, driven by the `pulumi` CLI."""

    def __init__(self, stack: str, passphrase: str = "") -> None:
        self.stack = stack
        self._folder = tempfile.TemporaryDirectory(prefix="orchestration-real-")
        self.dir = self.lay_out(Path(self._folder.name) / "project")
        state = Path(self._folder.name) / "state"
        state.mkdir()
        project = yaml.safe_load((self.dir / "Pulumi.yaml").read_text())
        project["backend"] = {"url": f"file://{state}"}
        (self.dir / "Pulumi.yaml").write_text(yaml.safe_dump(project, sort_keys=False))
        self.environment = {
            **os.environ,
            "PULUMI_CONFIG_PASSPHRASE": passphrase,
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_IGNORE_AMBIENT_PLUGINS": "true",
        }
        self.timings: dict[str, float] = {}

    def lay_out(self, destination: Path) -> Path:
        """The project's files in `destination`: a copy of the repository's."""
        return project_copy(destination)

    def run(
        self, *arguments: str, label: str | None = None, check: bool = True, stdin: str | None = None, values: tuple[str, ...] = ()
    ) -> subprocess.CompletedProcess:
        """`values` go last, after `--`, so one that starts with a dash is not read as a flag."""
        started = time.monotonic()
        completed = subprocess.run(
            ["pulumi", *arguments, "--stack", self.stack, "--non-interactive", *(("--", *values) if values else ())],
            cwd=self.dir,
            env=self.environment,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_SECONDS,
            check=False,
        )
        self.timings[label or " ".join(arguments)] = time.monotonic() - started
        if check and completed.returncode != 0:
            raise AssertionError(f"pulumi {' '.join(arguments)}: exit {completed.returncode}\n{completed.stdout[-4000:]}\n{completed.stderr[-4000:]}")
        return completed

    def init(self) -> None:
        """What `make up` does first (`stack select` takes no --stack flag)."""
        completed = subprocess.run(
            ["pulumi", "stack", "select", "--create", self.stack, "--secrets-provider", "passphrase", "--non-interactive"],
            cwd=self.dir,
            env=self.environment,
            capture_output=True,
            text=True,
            check=False,
        )
        if completed.returncode != 0:
            raise AssertionError(f"pulumi stack select --create {self.stack}: {completed.stderr}")

    def set_config(self, values: dict[str, Any]) -> None:
        for key, value in values.items():
            if isinstance(value, (dict, list)):
                self._set_structured(key, value)
            elif isinstance(value, str) and "\n" in value:  # PEM text goes in on stdin, as `--` would not help
                self.run("config", "set", key, stdin=value, label=f"config set {key}")
            else:
                self.run("config", "set", key, str(value).lower() if isinstance(value, bool) else str(value), label=f"config set {key}")

    def _set_structured(self, path: str, value: Any) -> None:
        """An object or list, leaf by leaf, as a user would: `pulumi config set --path a.b[0] x --type int`."""
        if isinstance(value, dict):
            for key, item in value.items():
                self._set_structured(f"{path}.{key}", item)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                self._set_structured(f"{path}[{index}]", item)
        else:
            kind = {bool: "bool", int: "int", float: "float"}.get(type(value), "string")
            text = str(value).lower() if isinstance(value, bool) else str(value)
            self.run("config", "set", "--path", "--type", kind, label=f"config set {path}", values=(path, text))

    def outputs(self) -> dict[str, Any]:
        return json.loads(self.run("stack", "output", "--json").stdout)

    def preview_changes(self, label: str, *flags: str) -> list[tuple[str, str, str]]:
        """What `pulumi preview [flags]` proposes, as (operation, type, name), the unchanged (and refresh steps) left out."""
        steps = json.loads(self.run("preview", "--json", *flags, label=label).stdout).get("steps") or []
        changes = []
        for step in steps:
            _, _, types, name = step["urn"].split("::", 3)
            if step["op"] not in ("same", "read", "refresh"):
                changes.append((step["op"], types.split("$")[-1], name))
        return sorted(changes)

    def exported_state(self) -> str:
        return self.run("stack", "export").stdout

    def sibling(self, stack: str) -> "RealProject":
        """Another stack of the same copy and file backend, so a StackReference between the two resolves.
        Only the first closes: the copy is theirs together."""
        other = copy.copy(self)
        other.stack = stack
        other.timings = {}
        return other

    def close(self) -> None:
        self._folder.cleanup()


class RealProgram(RealProject):
    """A Pulumi project of its own whose whole program is `source` (Python that may import the repository's
    packages, whose folder is put first on `sys.path`), with a file backend beside it, driven like RealProject."""

    def __init__(self, name: str, source: str, stack: str = "test") -> None:
        self._name, self._source = name, source
        super().__init__(stack)

    def lay_out(self, destination: Path) -> Path:
        destination.mkdir()
        (destination / "Pulumi.yaml").write_text(yaml.safe_dump(
            {"name": self._name, "runtime": {"name": "python", "options": {"virtualenv": "venv"}}}, sort_keys=False
        ))
        (destination / "__main__.py").write_text(f"import sys\nsys.path.insert(0, {str(PROJECT_DIR)!r})\n\n{self._source}")
        # The virtualenv this test runs in holds what the program imports.
        (destination / "venv").symlink_to(Path(sys.prefix))
        return destination


class RealStack:
    """One stack of a RealProject driven as a user drives it, with the interface of the e2e harness's
    stacks: `apply(label, refresh, **changes)` is `pulumi config set`/`rm` for the changed keys, then
    `pulumi up --yes --skip-preview [--refresh]`; `outputs` is `pulumi stack output --json --show-secrets`.
    Each command's time goes to PHASES under its label."""

    def __init__(self, project: RealProject, config: dict[str, Any]) -> None:
        self.project = project
        self.stack = project.stack
        self.config: dict[str, Any] = {}
        self.outputs: dict[str, Any] = {}
        self._initial = dict(config)
        self.deployed = False

    def init(self) -> None:
        """`pulumi stack select --create`, then the config, key by key."""
        self.project.init()
        self.configure(**self._initial)

    def configure(self, **changes: Any) -> None:
        """Sets each changed key as a user would; None removes it. An object or list is removed first,
        so no leaf of its old value stays."""
        for key, value in changes.items():
            if key in self.config and (value is None or isinstance(value, (dict, list))):
                self.project.run("config", "rm", key, label=f"config rm {key}")
                del self.config[key]
            if value is not None:
                self.project.set_config({key: value})
                self.config[key] = value

    def run(self, *arguments: str, label: str, check: bool = True) -> subprocess.CompletedProcess:
        """A pulumi command on this stack, timed under `label` in PHASES."""
        with phase(label):
            return self.project.run(*arguments, label=label, check=check)

    def apply(self, label: str, refresh: bool = False, **changes: Any) -> dict[str, Any]:
        self.configure(**changes)
        self.deployed = True  # even a failed `up` may leave resources to destroy
        self.run("up", "--yes", "--skip-preview", *(("--refresh",) if refresh else ()), label=label)
        return self.read_outputs()

    def read_outputs(self) -> dict[str, Any]:
        outputs = json.loads(self.project.run("stack", "output", "--json", "--show-secrets", label="stack output").stdout)
        # In place: whoever holds `outputs` sees the latest.
        self.outputs.clear()
        self.outputs.update(outputs)
        return self.outputs

    def preview_no_changes(self, label: str, refresh: bool = False) -> subprocess.CompletedProcess:
        """`pulumi preview [--refresh] --expect-no-changes --diff`; fails with what it proposes."""
        return self.run("preview", *(("--refresh",) if refresh else ()), "--expect-no-changes", "--diff", label=label)

    def destroy(self, label: str | None = None) -> None:
        if self.deployed:
            self.run("destroy", "--yes", "--skip-preview", label=label or f"real: destroy ({self.stack})")
            self.deployed = False


@contextlib.contextmanager
def deployed(engine, stack: str = "dev", up: Callable[[RealProject], None] | None = None, **overrides: Any) -> Iterator[RealProject]:
    """`make up` for `stack` with this machine's images (and `overrides`), destroyed at the end; `up`, where
    given, deploys it instead of a preview and an `up` (a doc's commands, after the config of this machine)."""
    skip_without_toolchain()
    build_stand_in_images(engine)
    project = RealProject(stack)
    stack_file = project.dir / f"Pulumi.{stack}.yaml"
    committed = stack_file.read_bytes() if stack_file.exists() else None
    project.swarm_was_active = engine.info()["Swarm"]["LocalNodeState"] == "active"
    project.init()
    project.stack_file_untouched = committed is not None and stack_file.read_bytes() == committed
    project.set_config({**machine_config(), **overrides})
    try:
        if up is not None:
            up(project)
        else:
            project.run("preview", label="real: first preview")
            project.up_output = project.run("up", "--yes", "--skip-preview", label="real: first up").stdout
        yield project
    finally:
        try:
            project.run("destroy", "--yes", "--skip-preview", label="real: destroy at the end", check=False)
        finally:
            PHASES.extend((f"{name} ({stack}, {overrides or 'defaults'})", seconds) for name, seconds in project.timings.items() if name.startswith("real:"))
            project.close()
