"""The README's checks on `dev`, as a user pastes them the moment `make up` returns, with what each prints
checked against what the README shows beside it. test_dev_stack.py runs them through the harness,
test_dev_stack_real_pulumi.py through the real CLI."""
from __future__ import annotations

import re

from tests.support.docs import Command
from tests.support.program import PROJECT_DIR

README = PROJECT_DIR / "README.md"
RUNNER = "tests/e2e/doc_checks.py"


def _prints_what_is_shown(output: str, command: Command) -> None:
    assert output.strip() == command.comment, f"{command.text}: printed {output.strip()!r}, the README shows {command.comment!r}"


def _a_count_as_shown(output: str, command: Command) -> None:
    shown = command.comment.split(" (")[0]
    pattern = re.escape(shown).replace(re.escape("<host>"), r"\S+").replace("1", r"\d+")
    assert re.fullmatch(pattern, output.strip()), f"{command.text}: printed {output.strip()!r}, the README shows {shown!r}"


def _both_workers_in_dns(output: str, command: Command) -> None:
    assert "status: NOERROR" in output and "ANSWER: 2," in output, output


def _the_clients_report(output: str, command: Command) -> None:
    assert "HTTP API: 2 healthy instance(s)" in output, output
    assert "server1" in output and "server2" in output, output


def _services_as_shown(output: str, command: Command) -> None:
    shown = dict(pair.split() for pair in command.comment.split(", "))
    rows = [line.split() for line in output.splitlines()[1:]]
    replicas = {row[1]: row[3] for row in rows if len(row) > 3}
    assert {name: replicas.get(name) for name in shown} == shown, output


DEV_CHECKS = {
    "pulumi stack output webUrl": _prints_what_is_shown,
    "curl -s http://localhost:5000/": _a_count_as_shown,
    "pulumi stack output consulUiUrl": _prints_what_is_shown,
    "dig @127.0.0.1 -p 8600 distributed_app.service.consul SRV": _both_workers_in_dns,
    "docker logs -f dev-client": _the_clients_report,
    "docker service ls": _services_as_shown,
}
