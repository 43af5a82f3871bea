"""Runs the real Pulumi program in-process under a given Mocks object.

This is what `pulumi up` would execute, minus the CLI: the stack's config file is
read the way the CLI reads it, then `__main__.py` runs with the real SDKs and
every resource registration goes to the mocks.
"""
from __future__ import annotations

import gc
import json
import runpy
from pathlib import Path
from typing import Any, Mapping

import pulumi
import yaml
from pulumi.runtime import settings
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from tests.support.project_config import apply_project_config

PROJECT_DIR = Path(__file__).resolve().parents[2]
PROJECT = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())["name"]


def stack_config(stack: str, project_dir: Path = PROJECT_DIR) -> dict[str, Any]:
    """The `config:` map of Pulumi.<stack>.yaml, keys fully qualified."""
    path = project_dir / f"Pulumi.{stack}.yaml"
    values = (yaml.safe_load(path.read_text()) or {}).get("config", {}) if path.exists() else {}
    project = _project_name(project_dir)
    return {_qualified(key, project): value for key, value in values.items()}


def run_program(
    mocks: pulumi.runtime.Mocks,
    stack: str,
    overrides: Mapping[str, Any] | None = None,
    secret_keys: tuple[str, ...] = (),
    monitor: MockMonitor | None = None,
    project_defaults: bool = True,
    project_dir: Path = PROJECT_DIR,
    preview: bool = False,
    own_process: bool = False,
    stack_dir: Path | None = None,
) -> "StackOutputs":
    """Runs `project_dir`'s __main__.py (this project's by default) for `stack`; returns its resolved stack outputs.

    `overrides` are merged over the stack file (None unsets a key); keys without a
    namespace belong to the project. As the CLI does, the config is then checked against Pulumi.yaml's
    schema (ProjectConfigError where `pulumi preview` would stop) and completed with
    its defaults, unless `project_defaults` is false (to see the program's own). `own_process`: nothing else
    runs in this process after the program, so the collector stays as the program set it (frozen), as when
    the language host runs it. `stack_dir`: where Pulumi.<stack>.yaml is read, project_dir by default (the
    folder a user runs `pulumi` in, which holds the stack files the user edits).
    Values that are not strings are passed as JSON, as the CLI does for structured
    config. Keys in `secret_keys` are marked secret. A custom `monitor` (built on
    `mocks`) can observe what the mocks alone do not. `preview` runs it as `pulumi preview` does.
    """
    project_file = yaml.safe_load((project_dir / "Pulumi.yaml").read_text())
    project = project_file["name"]
    config = stack_config(stack, stack_dir or project_dir)
    config.update({_qualified(key, project): value for key, value in (overrides or {}).items()})
    # An override of None unsets what the stack file sets.
    config = {key: value for key, value in config.items() if value is not None}
    secret = [_qualified(key, project) for key in secret_keys]
    if project_defaults:
        config = apply_project_config(project_file, stack, config, frozenset(secret))
    settings.set_root_resource(None)  # type: ignore[arg-type]
    # Mocks with a monitor of their own (the apply harness) see registrations through it.
    monitor = monitor or getattr(mocks, "monitor", None)
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=preview, monitor=monitor)
    pulumi.runtime.set_all_config(
        {key: value if isinstance(value, str) else json.dumps(value) for key, value in config.items()}, secret_keys=secret
    )
    root = settings.get_root_resource()
    settings.SETTINGS.rpc_manager.clear()
    settings.SETTINGS.outputs.clear()
    # run_pulumi_func waits for every registration, as the language host does.
    collector_thresholds = gc.get_threshold()
    try:
        _sync_await(run_pulumi_func(lambda: runpy.run_path(str(project_dir / "__main__.py"), run_name="__main__")))
        # Resolved as the SDK sends them after the program, with the collector as the program left it.
        exported = root.outputs.items()  # type: ignore[union-attr]
        return StackOutputs(
            {name: _resolve(value) for name, value in exported},
            secret=frozenset(name for name, value in exported if _is_secret(value)),
        )
    finally:
        # The program sets the collector for a process of its own; here the next test may share this one.
        if not own_process:
            gc.unfreeze()
            gc.set_threshold(*collector_thresholds)


class StackOutputs(dict):
    """The stack's outputs, resolved; `secret` names those the state keeps encrypted (`[secret]` in the CLI)."""

    def __init__(self, values: Mapping[str, Any], secret: frozenset[str] = frozenset()) -> None:
        super().__init__(values)
        self.secret = secret


def _is_secret(value: Any) -> bool:
    return bool(_sync_await(pulumi.Output.from_input(value).is_secret()))


def _resolve(value: Any) -> Any:
    return _sync_await(pulumi.Output.from_input(value).future())


def _project_name(project_dir: Path) -> str:
    return yaml.safe_load((project_dir / "Pulumi.yaml").read_text())["name"]


def _qualified(key: str, project: str = PROJECT) -> str:
    return key if ":" in key else f"{project}:{key}"
