"""The command blocks of README.md and docs/*.md, and how each is run.

A block a user would paste (```sh) carries a marker on the line before it:
`<!-- run: tests/e2e/<file>.py -->`, the test that runs each of its commands as written, against the
stack the doc names; or `<!-- not run: <reason> -->`, where it cannot run here (real remote hosts, a
cloud backend, another project). tests/unit/test_docs_run.py holds every block to that.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tests.support.program import PROJECT_DIR

SHELL_LANGUAGES = ("sh", "bash", "console")
_BLOCK = re.compile(r"^(?P<indent> *)```(?P<lang>[\w-]*)\n(?P<body>.*?)^(?P=indent)```", flags=re.MULTILINE | re.DOTALL)
_MARKER = re.compile(r"^ *<!-- (?P<kind>run|not run): (?P<what>.+?) -->$")


@dataclass(frozen=True)
class Command:
    text: str
    """The command as a user pastes it, without its comment."""
    comment: str
    """What the doc says beside it (after `#`): often the output it shows."""


@dataclass(frozen=True)
class Block:
    doc: Path
    line: int
    language: str
    body: str
    marker: tuple[str, str] | None
    """("run", test file) or ("not run", reason), from the line before the block."""

    @property
    def where(self) -> str:
        return f"{self.doc.relative_to(PROJECT_DIR)}:{self.line}"

    @property
    def commands(self) -> list[Command]:
        found = []
        for line in self.body.splitlines():
            text, _, comment = line.partition("  #")
            if text.strip():
                found.append(Command(text.strip(), comment.strip()))
        return found


def runners(marked: str) -> list[str]:
    """The files a `<!-- run: a.py, b.py -->` marker names."""
    return [name.strip() for name in marked.split(",")]


def user_docs() -> list[Path]:
    return [PROJECT_DIR / "README.md", *sorted((PROJECT_DIR / "docs").glob("*.md"))]


def blocks(doc: Path) -> list[Block]:
    text = doc.read_text()
    found = []
    for match in _BLOCK.finditer(text):
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        marker = _MARKER.match(before)
        found.append(
            Block(
                doc=doc,
                line=text[: match.start()].count("\n") + 1,
                language=match.group("lang"),
                body=match.group("body"),
                marker=(marker.group("kind"), marker.group("what")) if marker else None,
            )
        )
    return found


def shell_blocks() -> list[Block]:
    return [block for doc in user_docs() for block in blocks(doc) if block.language in SHELL_LANGUAGES]


def documented_command(doc: Path, command: str, runner: str) -> Command:
    """`command` as `doc` gives it, in a block it says `runner` (a test file, from the project folder) runs."""
    for block in blocks(doc):
        if block.marker and block.marker[0] == "run" and runner in runners(block.marker[1]):
            for candidate in block.commands:
                if candidate.text == command:
                    return candidate
    raise AssertionError(f"{doc.relative_to(PROJECT_DIR)} has no {command!r} in a block marked `<!-- run: {runner} -->`")
