"""`make up` starts the CLI for `stack select --create` only where the stack is missing or not selected
(scripts/before_up.py): what it reads of the CLI's workspace file must say what the real CLI says. The
oracle is the CLI itself (`pulumi stack select`, `stack init`, `stack ls`); no engine is needed."""
from __future__ import annotations

import subprocess
import sys

from .real_pulumi import RealProject, skip_without_toolchain

READY = "from scripts.before_up import stack_is_ready, working_directory; print(stack_is_ready({stack!r}, working_directory()))"


def ready(project: RealProject, stack: str) -> bool:
    """stack_is_ready in the copy, as `make up` runs it there (its own process, cwd and $PWD)."""
    environment = {**project.environment, "PWD": str(project.dir)}
    completed = subprocess.run(
        [sys.executable, "-c", READY.format(stack=stack)], cwd=project.dir, env=environment, capture_output=True, text=True, check=True
    )
    return completed.stdout.strip() == "True"


def current(project: RealProject) -> str:
    """The stack the CLI marks current in `pulumi stack ls` (`dev*`)."""
    listed = subprocess.run(["pulumi", "stack", "ls"], cwd=project.dir, env=project.environment, capture_output=True, text=True, check=True)
    return next(line.split()[0].rstrip("*") for line in listed.stdout.splitlines()[1:] if line.split()[0].endswith("*"))


def before_up(project: RealProject) -> subprocess.CompletedProcess:
    """`make up`'s first step, as it runs it in the project."""
    environment = {**project.environment, "PWD": str(project.dir)}
    return subprocess.run(
        [sys.executable, "-m", "scripts.before_up", "--stack", "dev"], cwd=project.dir, env=environment, capture_output=True, text=True, check=True
    )


def test_a_stack_counts_as_ready_exactly_when_the_cli_has_it_and_selects_it() -> None:
    skip_without_toolchain()
    project = RealProject("dev")
    try:
        assert not ready(project, "dev"), "no stack yet"
        # A fresh clone: the CLI creates and selects the stack; the next time nothing is started or said.
        assert before_up(project).stdout.startswith("pulumi stack select --create dev --secrets-provider passphrase\n")
        assert current(project) == "dev" and ready(project, "dev")
        assert before_up(project).stdout == ""
        subprocess.run(["pulumi", "stack", "init", "other", "--non-interactive"], cwd=project.dir, env=project.environment, check=True, capture_output=True)
        assert current(project) == "other" and not ready(project, "dev") and ready(project, "other")
        subprocess.run(["pulumi", "stack", "select", "dev", "--non-interactive"], cwd=project.dir, env=project.environment, check=True, capture_output=True)
        assert current(project) == "dev" and ready(project, "dev")
    finally:
        project.close()
