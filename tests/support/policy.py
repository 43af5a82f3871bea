"""Runs the policy pack's rules (policy/rules.py) over recorded registrations, as the analyzer would.

The pack's analyzer hands each rule a resource's inputs behind pulumi-policy's unknown-checking
proxy, with that rule's config; this does the same for each registration of a run under mocks.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from pulumi_policy import PolicyCustomTimeouts, PolicyResourceOptions, ResourceValidationArgs
from pulumi_policy.proxy import unknown_checking_proxy

from policy.rules import POLICIES
from tests.support.program import PROJECT_DIR
from tests.support.recording import Registration

POLICY_DIR = PROJECT_DIR / "policy"


@dataclass(frozen=True)
class Violation:
    policy: str
    urn: str
    message: str


def stack_config(stack: str) -> dict[str, Any]:
    """What `--policy-pack-config policy/config/<stack>.json` gives the pack."""
    return json.loads((POLICY_DIR / "config" / f"{stack}.json").read_text())


def validation_args(
    typ: str, name: str, props: Mapping[str, Any], config: Mapping[str, Any] | None = None, urn: str | None = None
) -> ResourceValidationArgs:
    options = PolicyResourceOptions(
        protect=False,
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
    )
    return ResourceValidationArgs(
        typ,
        unknown_checking_proxy(dict(props)),
        urn or f"urn:pulumi:test::orchestration::{typ}::{name}",
        name,
        options,
        None,
        dict(config) if config else None,
    )


def validate(args: ResourceValidationArgs, policy_name: str) -> list[str]:
    """The messages one rule reports for one resource."""
    policy = next(policy for policy in POLICIES if policy.name == policy_name)
    messages: list[str] = []
    policy.validate(args, lambda message, urn=None: messages.append(message))
    return messages


def check(registrations: Iterable[Registration], config: Mapping[str, Any] | None = None) -> list[Violation]:
    """Every violation of every rule among `registrations`, each rule given its part of `config`."""
    config = config or {}
    violations = []
    for registration in registrations:
        if not registration.custom:
            continue
        for policy in POLICIES:
            args = validation_args(
                registration.type, registration.name, registration.inputs, config.get(policy.name), registration.urn
            )
            violations += [Violation(policy.name, registration.urn, message) for message in validate(args, policy.name)]
    return violations
