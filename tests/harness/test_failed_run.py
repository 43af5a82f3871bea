"""A failed `pulumi up` ends its program: what it had not registered yet is never registered, in this run
or the next. The harness runs every program on one event loop, so it must end them as the CLI does."""
from __future__ import annotations

from pathlib import Path

import pulumi
import pulumi_command as command
import pytest

from tests.harness import ApplyHarness
from tests.harness.inline import run_inline


def failing_program() -> None:
    slow = command.local.Command("slow", create="sleep 1; echo slow")
    # Registered only once `slow` is created, after the program has already failed.
    command.local.Command("after-slow", create="echo after", opts=pulumi.ResourceOptions(depends_on=[slow]))
    command.local.Command("fails", create="exit 3")


def program_without_the_failure() -> None:
    slow = command.local.Command("slow", create="sleep 1; echo slow")
    command.local.Command("after-slow", create="echo after", opts=pulumi.ResourceOptions(depends_on=[slow]))


def test_what_a_failed_program_had_not_registered_never_reaches_the_next_up(tmp_path: Path) -> None:
    harness = ApplyHarness(project_dir=str(tmp_path), state_file=str(tmp_path / "state.json"))
    with pytest.raises(Exception, match="exit status 3|exit code 3|status 3"):
        harness.apply(lambda: run_inline(harness, failing_program), label="up that fails")
    assert "after-slow" not in {record.name for record in harness.state}

    harness.apply(lambda: run_inline(harness, program_without_the_failure), label="next up")
    assert [(op.op, op.name) for op in harness.last_run.operations if op.op == "create"] == [("create", "after-slow")]
