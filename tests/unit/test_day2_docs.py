"""Every command docs/day-2.md gives a user is one a test runs: each line of its shell blocks is listed
here with the test that runs it, and that test holds the command as written."""
from __future__ import annotations

import re

from tests.support.program import PROJECT_DIR

DOC = PROJECT_DIR / "docs" / "day-2.md"
# A documented command -> (the test that runs it, the text in that test that runs it).
RUN_BY = {
    "make recover": ("tests/e2e/test_killed_deploy_real_pulumi.py", 'make(project, "recover")'),
    "pulumi stack output --show-secrets swarmUnlockKey | docker swarm unlock": (
        "tests/e2e/test_dev_stack_three_servers_real_pulumi.py",
        'UNLOCK_COMMAND = "pulumi stack output --show-secrets swarmUnlockKey | docker swarm unlock"',
    ),
    # RealStack.apply(refresh=True) is `pulumi up --yes --skip-preview --refresh`.
    "pulumi up --refresh": ("tests/e2e/test_sandbox_cluster_real_pulumi.py", "refresh=True"),
}


def documented_commands() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    return [line.split("  #")[0].strip() for block in blocks for line in block.splitlines() if line.strip()]


def test_every_command_in_the_day_2_guide_is_run_by_a_test() -> None:
    commands = documented_commands()
    assert commands, "docs/day-2.md has no shell block"
    for command in commands:
        assert command in RUN_BY, f"docs/day-2.md: {command!r} is run by no test listed here"
        test, text = RUN_BY[command]
        assert text in (PROJECT_DIR / test).read_text(), f"{test} no longer runs {command!r}"
