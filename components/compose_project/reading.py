"""What every part of reading a compose file shares: its errors and warnings at a line, Compose's units."""
from __future__ import annotations

import re
from pathlib import Path as FilePath
from typing import Any, Mapping, Optional, TypeVar

from components.compose_project.source import Path, Source, dotted
from components.container_resources import Minimum

_Amount = TypeVar("_Amount", int, float)
_MEMORY = re.compile(r"^(\d+(?:\.\d+)?)\s*([bkmg]?)b?$", re.IGNORECASE)
_MEMORY_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
# Go's time.ParseDuration, which Compose reads durations with.
_DURATION = re.compile(r"^(0|((\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h))+)$")
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_DURATION_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


class Reading:
    """The interpolated, schema-checked file, and how to point at a place in it."""

    def __init__(self, data: dict, source: Source, path: FilePath, variables: Mapping[str, str], warnings: list[str]) -> None:
        self.data = data
        self.source = source
        self.directory = path.parent
        self.path = path
        self.variables = variables
        self.warnings = warnings

    def warn(self, path: Path, message: str) -> None:
        self.warnings.append(f"{self.source.filename}:{self.source.line(path)}: `{dotted(path)}`: {message}")

    def mapping(self, raw: Any) -> dict[str, str]:
        """A Compose map or `KEY=VALUE` list; a null value (a variable left unset) is left out."""
        if raw is None:
            return {}
        items = raw.items() if isinstance(raw, dict) else (split_assignment(item) for item in raw)
        result = {}
        for key, value in items:
            # A list may give a key twice; as in Compose, the later entry wins, a bare one too.
            result.pop(key, None)
            if value is None:
                continue
            result[key] = scalar_text(value)
        return result

    def duration(self, at: Path, raw: Optional[str]) -> Optional[str]:
        if raw is not None and not _DURATION.match(str(raw)):
            raise self.source.error(at, f"{raw!r} is not a duration (e.g. 1m30s, 500ms)")
        return raw

    def seconds(self, at: Path, raw: str) -> float:
        # Compose truncates to whole seconds where Docker takes seconds (stop_grace_period).
        duration = self.duration(at, raw)
        return sum(float(number) * _DURATION_SECONDS[unit] for number, unit in _DURATION_PART.findall(str(duration)))

    def at_least(self, at: Path, amount: _Amount, minimum: Minimum) -> _Amount:
        problem = minimum.refuses(amount)
        if problem:
            raise self.source.error(at, problem)
        return amount

    def megabytes(self, at: Path, raw: Any) -> int:
        amount = self.bytes(at, raw)
        if amount % (1024**2):
            raise self.source.error(at, f"{raw!r} is not a whole number of megabytes, the unit pulumi-docker takes")
        return amount // (1024**2)

    def bytes(self, at: Path, raw: Any) -> int:
        if isinstance(raw, int):
            return raw
        match = _MEMORY.match(str(raw).strip())
        if match is None:
            raise self.source.error(at, f"{raw!r} is not a size (e.g. 512m, 1g)")
        return int(float(match.group(1)) * _MEMORY_UNITS[match.group(2).lower()])

    def not_negative(self, at: Path, raw: Any) -> int:
        # The schema lets a number through as text, which interpolation leaves it as.
        if not str(raw).isdigit():
            raise self.source.error(at, f"{raw!r} is not a whole number of 0 or more")
        return int(raw)


def split_assignment(item: str) -> tuple[str, Optional[str]]:
    key, equals, value = str(item).partition("=")
    return key, value if equals else None


def scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return number_text(value) if isinstance(value, float) else str(value)


def number_text(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
