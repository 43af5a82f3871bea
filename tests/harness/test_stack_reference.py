"""StackReference under the apply harness: another stack's outputs, read without an engine or state."""
from __future__ import annotations

from pathlib import Path

import pulumi
import pytest

from tests.harness import ApplyHarness
from tests.harness.inline import run_inline

SANDBOX = "organization/orchestration/sandbox"
SANDBOX_OUTPUTS = {"registry": "10.0.0.10:5000", "hosts": [{"name": "larry", "address": "10.0.0.11", "roles": []}]}


def reading(key: str):
    def program() -> None:
        pulumi.export(key, pulumi.StackReference(SANDBOX).get_output(key))

    return program


def test_a_stack_reference_reads_the_outputs_served_for_its_name(tmp_path: Path) -> None:
    stacks = {SANDBOX: SANDBOX_OUTPUTS}
    harness = ApplyHarness(project_dir=tmp_path, stack_outputs=stacks)
    assert harness.apply(lambda: run_inline(harness, reading("hosts"))) == {"hosts": SANDBOX_OUTPUTS["hosts"]}
    assert harness.last_run.changes() == [] and len(harness.state) == 0  # a read manages nothing
    # Looked up at each read: a later apply sees the other stack's new outputs.
    stacks[SANDBOX] = {**SANDBOX_OUTPUTS, "registry": "10.0.0.10:5001"}
    assert harness.apply(lambda: run_inline(harness, reading("registry"))) == {"registry": "10.0.0.10:5001"}


def test_an_unknown_stack_fails_the_run_with_its_name(tmp_path: Path) -> None:
    harness = ApplyHarness(project_dir=tmp_path, stack_outputs={})
    with pytest.raises(Exception, match="StackReference 'organization/orchestration/sandbox': no such stack"):
        harness.apply(lambda: run_inline(harness, reading("hosts")))
