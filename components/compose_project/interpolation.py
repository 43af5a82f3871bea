"""Compose's variable interpolation: `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`,
`${VAR:?error}`, `${VAR?error}`, `${VAR:+alternative}`, `${VAR+alternative}` and `$$` for a literal `$`.

Applied to every string value (not to keys), before the schema check, as Compose does; values at the
paths Compose casts (numbers and booleans) are then cast the same way.
"""
from __future__ import annotations

import re
from typing import Any, Callable, Mapping

from components.compose_project.source import Path, Source

_NAME = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*")
_OPERATORS = (":-", ":?", ":+", "-", "?", "+")

# Compose's own type casts after interpolation (compose-go loader/interpolate.go), for the keys this
# package supports; "*" matches any key or list index.
_INT, _FLOAT, _BOOL = "int", "float", "bool"
_CASTS: dict[tuple[str, ...], str] = {
    ("services", "*", "cpus"): _FLOAT,
    ("services", "*", "deploy", "replicas"): _INT,
    ("services", "*", "deploy", "update_config", "parallelism"): _INT,
    ("services", "*", "deploy", "update_config", "max_failure_ratio"): _FLOAT,
    ("services", "*", "deploy", "rollback_config", "parallelism"): _INT,
    ("services", "*", "deploy", "rollback_config", "max_failure_ratio"): _FLOAT,
    ("services", "*", "scale"): _INT,
    ("services", "*", "init"): _BOOL,
    ("services", "*", "stdin_open"): _BOOL,
    ("services", "*", "tty"): _BOOL,
    ("services", "*", "privileged"): _BOOL,
    ("services", "*", "read_only"): _BOOL,
    ("services", "*", "cpu_shares"): _INT,
    ("services", "*", "ulimits", "*"): _INT,
    ("services", "*", "ulimits", "*", "soft"): _INT,
    ("services", "*", "ulimits", "*", "hard"): _INT,
    ("services", "*", "healthcheck", "retries"): _INT,
    ("services", "*", "healthcheck", "disable"): _BOOL,
    ("services", "*", "ports", "*", "target"): _INT,
    ("services", "*", "volumes", "*", "read_only"): _BOOL,
    ("networks", "*", "external"): _BOOL,
    ("networks", "*", "internal"): _BOOL,
    ("networks", "*", "attachable"): _BOOL,
    ("volumes", "*", "external"): _BOOL,
    ("secrets", "*", "external"): _BOOL,
    ("configs", "*", "external"): _BOOL,
}


class _Failure(Exception):
    pass


def interpolate(data: Any, variables: Mapping[str, str], source: Source, warn: Callable[[str], None]) -> Any:
    """`data` with every string interpolated from `variables`; an unset variable without a default is
    an empty string and a warning, as in Compose."""

    def walk(value: Any, path: Path) -> Any:
        if isinstance(value, dict):
            return {key: walk(item, path + (key,)) for key, item in value.items()}
        if isinstance(value, list):
            return [walk(item, path + (index,)) for index, item in enumerate(value)]
        if not isinstance(value, str):
            return value
        try:
            text = substitute(value, variables, lambda name: warn(
                f"{source.filename}:{source.line(path)}: the {name} variable is not set; defaulting to a blank string"
            ))
        except _Failure as failure:
            raise source.error(path, str(failure)) from None
        return _cast(text, path, source)

    return walk(data, ())


def substitute(text: str, variables: Mapping[str, str], unset: Callable[[str], None]) -> str:
    result, _ = _expand(text, 0, variables, unset, closing=False)
    return result


def _expand(text: str, index: int, variables: Mapping[str, str], unset: Callable[[str], None], closing: bool) -> tuple[str, int]:
    """Expands from `index` to the end, or (`closing`) to the `}` that ends a default; returns (text, next index)."""
    out: list[str] = []
    while index < len(text):
        char = text[index]
        if closing and char == "}":
            return "".join(out), index
        if char != "$":
            out.append(char)
            index += 1
            continue
        following = text[index + 1 : index + 2]
        if following == "$":
            out.append("$")
            index += 2
        elif following == "{":
            value, index = _braced(text, index + 2, variables, unset)
            out.append(value)
        else:
            name = _NAME.match(text, index + 1)
            if name is None:
                # A lone `$` before anything that cannot start a name stays as it is, as in Compose.
                out.append("$")
                index += 1
                continue
            out.append(_lookup(name.group(), variables, unset))
            index = name.end()
    if closing:
        raise _Failure(f"invalid interpolation format in {text!r}: a `${{` is never closed")
    return "".join(out), index


def _braced(text: str, index: int, variables: Mapping[str, str], unset: Callable[[str], None]) -> tuple[str, int]:
    name = _NAME.match(text, index)
    if name is None:
        raise _Failure(f"invalid interpolation format in {text!r}: `${{` must be followed by a variable name")
    index = name.end()
    key = name.group()
    if text[index : index + 1] == "}":
        return _lookup(key, variables, unset), index + 1
    operator = next((op for op in _OPERATORS if text.startswith(op, index)), None)
    if operator is None:
        raise _Failure(f"invalid interpolation format in {text!r}: unexpected {text[index:index + 1]!r} after ${{{key}")
    # The word after the operator is itself interpolated; its unset variables count only if it is used.
    missing: list[str] = []
    word, end = _expand(text, index + len(operator), variables, missing.append, closing=True)
    present = key in variables
    is_set = present and variables[key] != "" if operator.startswith(":") else present
    index = end + 1
    if operator in (":-", "-"):
        if is_set:
            return variables[key], index
        for name in missing:
            unset(name)
        return word, index
    if operator in (":?", "?"):
        if is_set:
            return variables[key], index
        raise _Failure(f"required variable {key} is missing a value" + (f": {word}" if word else ""))
    if is_set:
        for name in missing:
            unset(name)
        return word, index
    return "", index


def _lookup(name: str, variables: Mapping[str, str], unset: Callable[[str], None]) -> str:
    if name not in variables:
        unset(name)
        return ""
    return variables[name]


def _cast(text: str, path: Path, source: Source) -> Any:
    kind = next((kind for pattern, kind in _CASTS.items() if _matches(pattern, path)), None)
    if kind is None:
        return text
    try:
        if kind == _INT:
            return int(text)
        if kind == _FLOAT:
            return float(text)
    except ValueError:
        raise source.error(path, f"{text!r} is not a {'whole number' if kind == _INT else 'number'}") from None
    # compose-go's toBoolean: YAML 1.1's words, not 1 and 0.
    if text.lower() in ("true", "yes", "y", "on"):
        return True
    if text.lower() in ("false", "no", "n", "off"):
        return False
    raise source.error(path, f"{text!r} is not a boolean")


def _matches(pattern: tuple[str, ...], path: Path) -> bool:
    return len(pattern) == len(path) and all(want == "*" or want == part for want, part in zip(pattern, path))
