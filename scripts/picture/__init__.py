"""The system each stack deploys, drawn as SVG from the program's own registrations (`make picture`)."""
from __future__ import annotations

from pathlib import Path

from scripts.picture.model import system
from scripts.picture.svg import render

DOCS = Path(__file__).resolve().parents[2] / "docs"
PICTURED_STACKS = ("dev", "cluster")


def picture(stack: str) -> str:
    return render(system(stack))


def picture_path(stack: str) -> Path:
    return DOCS / f"{stack}.svg"
