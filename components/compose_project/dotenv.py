"""`env_file` contents: `KEY=VALUE` lines as Compose reads them (comments, `export`, quotes, interpolation)."""
from __future__ import annotations

import re
from typing import Callable, Mapping, Optional

_LINE = re.compile(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*(?:=(.*))?$")


Interpolate = Callable[[str, Mapping[str, str]], str]


def parse(text: str, interpolate: Interpolate) -> dict[str, Optional[str]]:
    """KEY -> value; a bare KEY maps to None (its value comes from the environment). Values are
    interpolated with the earlier lines' values at hand. Raises ValueError."""
    values: dict[str, Optional[str]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _LINE.match(stripped)
        if match is None:
            raise ValueError(f"line {number}: {stripped!r} is not KEY=VALUE")
        key, raw = match.group(1), match.group(2)
        earlier = {name: value for name, value in values.items() if value is not None}
        values[key] = None if raw is None else _value(raw.strip(), lambda value: interpolate(value, earlier))
    return values


def _value(raw: str, interpolate: Callable[[str], str]) -> str:
    if raw[:1] == "'" and raw.endswith("'") and len(raw) > 1:
        return raw[1:-1]  # single quotes: literal, as in a shell
    if raw[:1] == '"' and raw.endswith('"') and len(raw) > 1:
        return interpolate(raw[1:-1].replace("\\n", "\n").replace('\\"', '"'))
    return interpolate(re.sub(r"\s+#.*$", "", raw))
