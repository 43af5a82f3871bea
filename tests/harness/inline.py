"""Runs a Python function as a Pulumi program under given mocks (the harness's own tests).

Same mechanics as tests/support/program.py::run_program, but for an inline
function instead of the project's __main__.py, so the translation of each
resource type can be tested with tiny throwaway resources.
"""
from __future__ import annotations

import json
from typing import Any, Callable, Mapping

import pulumi
from pulumi.runtime import settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await


def run_inline(
    mocks: pulumi.runtime.Mocks,
    program: Callable[[], None],
    project: str = "harness",
    stack: str = "test",
    config: Mapping[str, Any] | None = None,
    monitor: Any = None,
) -> dict[str, Any]:
    settings.set_root_resource(None)  # type: ignore[arg-type]
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False, monitor=monitor or getattr(mocks, "monitor", None))
    pulumi.runtime.set_all_config(
        {key: value if isinstance(value, str) else json.dumps(value) for key, value in (config or {}).items()}, secret_keys=[]
    )
    root = settings.get_root_resource()
    settings.SETTINGS.rpc_manager.clear()
    settings.SETTINGS.outputs.clear()
    _sync_await(run_pulumi_func(program))
    return {name: _sync_await(pulumi.Output.from_input(value).future()) for name, value in root.outputs.items()}  # type: ignore[union-attr]
