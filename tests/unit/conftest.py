from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from stacks.config_values import ConfigError
from tests.support.program import run_program
from tests.support.project_config import ProjectConfigError
from tests.support.recording import ComputedOutputs, RecordingMonitor, Registration


@dataclass
class Deployment:
    """One run of the program under mocks: its stack outputs and every registration."""

    outputs: dict[str, Any]
    registrations: list[Registration]

    def of_type(self, typ: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == typ]

    def one(self, typ: str, name: str) -> Registration:
        matches = [r for r in self.registrations if r.type == typ and r.name == name]
        assert len(matches) == 1, f"expected one {typ} named {name}, found {[r.urn for r in matches]}"
        return matches[0]

    def by_urn(self, urn: str) -> Registration:
        return next(r for r in self.registrations if r.urn == urn)

    def children(self, parent: Registration) -> list[Registration]:
        return [r for r in self.registrations if r.parent == parent.urn]

    def ancestors(self, registration: Registration) -> list[Registration]:
        chain = []
        while registration.parent and any(r.urn == registration.parent for r in self.registrations):
            registration = self.by_urn(registration.parent)
            chain.append(registration)
        return chain


def deploy(
    stack: str,
    overrides: dict[str, Any] | None = None,
    secret_keys: tuple[str, ...] = (),
    project_defaults: bool = True,
    preview: bool = False,
) -> Deployment:
    mocks = ComputedOutputs()
    monitor = RecordingMonitor(mocks)
    outputs = run_program(
        mocks, stack, overrides, secret_keys, monitor=monitor, project_defaults=project_defaults, preview=preview
    )
    return Deployment(outputs, list(monitor.registrations))


def deploy_rejected(
    stack: str, overrides: dict[str, Any], secret_keys: tuple[str, ...] = (), preview: bool = False
) -> tuple[str, list[Registration]]:
    """Runs a config the CLI or the program must refuse: the error's message, and what was registered anyway."""
    mocks = ComputedOutputs()
    monitor = RecordingMonitor(mocks)
    with pytest.raises((ProjectConfigError, ConfigError)) as refused:
        run_program(mocks, stack, overrides, secret_keys, monitor=monitor, preview=preview)
    return str(refused.value), list(monitor.registrations)
