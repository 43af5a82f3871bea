"""Every command block a user would paste from README.md or docs/*.md is run by a test, or marked as not run
here with the reason: the marker on the line before the block (tests/support/docs.py) names the test, and
that test holds each command as written (or, for the few listed in HELD_AS, in the form it runs it).
The blocks not run here are listed below, so a new one is a decision, not an accident."""
from __future__ import annotations

import json
import re

import pytest

from tests.support.docs import SHELL_LANGUAGES, blocks, runners, shell_blocks, user_docs
from tests.support.program import PROJECT_DIR

# A documented command -> the text its runner holds, where the runner does not hold the command itself.
HELD_AS = {
    "make up": 'make(project, "up")',
    "make recover": 'make(project, "recover")',
    # RealStack.apply(refresh=True) is `pulumi up --yes --skip-preview --refresh`.
    "pulumi up --refresh": "refresh=True",
}

# (doc, first command) of each block marked `<!-- not run: ... -->`.
NOT_RUN = {
    ("docs/cluster.md", "dig @10.0.0.11 consul.service.consul"),
    ("docs/compose.md", "pulumi config set webPort 5001"),
    ("docs/reuse.md", "orchestration-components @ git+https://github.com/<you>/<this repository>"),
}

# Blocks that show output rather than commands, by their first line: tests/unit/test_doc_outputs.py and
# tests/unit/test_project_files.py make each again from the program and compare.
SHOWN_OUTPUTS = {
    ("docs/configuration.md", "error: config `orchestration:consulServers`: '2' is not one of [1, 3, 5]"),
    ("docs/compose.md", "error: config `orchestration:composeFile`: compose.yaml:7: `services.web.ports`: services.web.ports must be a array (Docker Compose)"),
    ("docs/previews.md", "error: cannot reach these Docker engines, so nothing can be planned on them:"),
    ("docs/design.md", "dev stack"),
}


def where(block) -> tuple[str, str]:
    first = block.commands[0].text if block.commands else ""
    return str(block.doc.relative_to(PROJECT_DIR)), first


def test_every_command_block_is_run_or_says_why_not() -> None:
    unmarked = [block.where for block in shell_blocks() if block.marker is None]
    assert not unmarked, f"command blocks with neither `<!-- run: <test> -->` nor `<!-- not run: <reason> -->`: {unmarked}"


@pytest.mark.parametrize("block", [b for b in shell_blocks() if b.marker and b.marker[0] == "run"], ids=lambda b: b.where)
def test_each_command_of_a_run_block_is_held_by_its_runner(block) -> None:
    files = runners(block.marker[1])
    texts = {}
    for name in files:
        path = PROJECT_DIR / name
        assert path.is_file(), f"{block.where}: its runner {name} does not exist"
        texts[name] = path.read_text()
    for command in block.commands:
        forms = {command.text, json.dumps(command.text)[1:-1], HELD_AS.get(command.text)} - {None}
        assert any(form in text for form in forms for text in texts.values()), (
            f"{block.where}: {command.text!r} is run by none of {files}"
        )


def test_the_blocks_not_run_here_are_these() -> None:
    marked = {where(block): block.marker[1] for block in shell_blocks() if block.marker and block.marker[0] == "not run"}
    for other in (b for doc in user_docs() for b in blocks(doc) if b.language not in SHELL_LANGUAGES and b.marker and b.marker[0] == "not run"):
        marked[where(other)] = other.marker[1]
    assert set(marked) == NOT_RUN
    assert all(len(reason) > 10 for reason in marked.values()), marked


def test_every_block_shown_as_output_is_made_again_by_a_test() -> None:
    shown = {where(block) for doc in user_docs() for block in blocks(doc) if block.language == "" and not block.marker}
    assert shown == SHOWN_OUTPUTS


def test_every_other_block_is_settings_a_test_takes_or_says_why_not() -> None:
    """Stack-file settings (```yaml) are deployed under mocks by test_doc_outputs.py; code is marked."""
    others = [b for doc in user_docs() for b in blocks(doc) if b.language not in (*SHELL_LANGUAGES, "")]
    settings = sorted(b.where for b in others if b.language == "yaml" and not b.marker)
    assert [where.split(":")[0] for where in settings] == ["docs/sandbox.md", "docs/swarm.md", "docs/swarm.md"]
    assert [b.where for b in others if b.language != "yaml" and not b.marker] == []


def test_the_readme_links_to_every_guide() -> None:
    readme = (PROJECT_DIR / "README.md").read_text()
    guides = {path.name for path in (PROJECT_DIR / "docs").glob("*.md")}
    assert {name for name in guides if f"(docs/{name}" not in readme} == set()


def test_relative_links_in_the_docs_lead_somewhere() -> None:
    broken = []
    for doc in user_docs():
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", doc.read_text()):
            if "://" not in target and not (doc.parent / target).exists():
                broken.append(f"{doc.relative_to(PROJECT_DIR)}: {target}")
    assert broken == []
