"""Small helpers that turn mock-monitor inputs into plain Python values.

The mock monitor hands `new_resource` the inputs exactly as they went over the
wire: secrets are still wrapped in Pulumi's signature maps and every number is a
float (protobuf has no integer type). Providers see plain values, so the harness
unwraps both before translating anything.
"""
from __future__ import annotations

import json
import re
from typing import Any, Iterable, Mapping

from pulumi.runtime import rpc

_SIG = rpc._special_sig_key  # pylint: disable=protected-access
_SECRET = rpc._special_secret_sig  # pylint: disable=protected-access


def plain(value: Any) -> Any:
    """Unwraps secrets and turns integral floats back into ints, recursively."""
    if isinstance(value, Mapping):
        if value.get(_SIG) == _SECRET:
            return plain(value.get("value"))
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def contains_secret(value: Any) -> bool:
    """Whether a wire value is, or holds, a secret."""
    if isinstance(value, Mapping):
        return value.get(_SIG) == _SECRET or any(contains_secret(item) for item in value.values())
    if isinstance(value, (list, tuple)):
        return any(contains_secret(item) for item in value)
    return False


# Provider inputs the Python SDKs send JSON-encoded (they call to_json on every non-string property).
JSON_ENCODED_PROVIDER_INPUTS = frozenset(
    {
        "registryAuth", "sshOpts", "disableDockerDaemonCheck",  # docker
        "headers", "authJwt", "authLoginAws", "insecureHttps",  # consul
    }
)


def provider_inputs(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """A provider's configuration as the provider sees it: JSON-encoded properties decoded."""
    return {
        key: json.loads(value) if key in JSON_ENCODED_PROVIDER_INPUTS and isinstance(value, str) else value
        for key, value in inputs.items()
    }


def labels(entries: Iterable[Mapping[str, Any]] | None) -> dict[str, str]:
    """pulumi-docker models labels as [{label, value}]; the Engine API wants a map."""
    return {entry["label"]: str(entry["value"]) for entry in entries or []}


def label_list(mapping: Mapping[str, str] | None) -> list[dict[str, str]]:
    return [{"label": key, "value": value} for key, value in sorted((mapping or {}).items())]


def drop_none(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """Leaves out unset fields, so the engine applies its own defaults."""
    return {key: value for key, value in mapping.items() if value is not None and value != [] and value != {}}


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_NANOS = {"ns": 1, "us": 10**3, "µs": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}


def duration_ns(text: str | None) -> int | None:
    """Parses Go durations ("5s", "1m30s", "500ms"), the format pulumi-docker documents."""
    if text is None or text == "":
        return None
    if text in ("0", 0):
        return 0
    position, total = 0, 0.0
    for match in _DURATION_PART.finditer(text):
        if match.start() != position:
            break
        total += float(match.group(1)) * _NANOS[match.group(2)]
        position = match.end()
    if position != len(text):
        raise ValueError(f"invalid duration {text!r} (expected Go syntax such as '5s' or '1m30s')")
    return int(total)


def duration_seconds(text: str | None, default: float) -> float:
    nanos = duration_ns(text)
    return default if nanos is None else nanos / 1e9


def go_duration(nanos: int) -> str:
    """Go's time.Duration.String(), how the provider writes the durations it reads back."""
    if nanos == 0:
        return "0s"
    if nanos < 10**9:
        for unit, size in (("ms", 10**6), ("us", 10**3), ("ns", 1)):
            if nanos >= size:
                return f"{nanos / size:g}{unit}"
    hours, rest = divmod(nanos, 3600 * 10**9)
    minutes, rest = divmod(rest, 60 * 10**9)
    seconds = f"{rest / 10**9:.9f}".rstrip("0").rstrip(".")
    return (f"{hours}h" if hours else "") + (f"{minutes}m" if hours or minutes else "") + f"{seconds}s"


def short_duration(nanos: int) -> str:
    """The provider's shortDur: Go's form without trailing zero minutes and seconds ("1m0s" -> "1m")."""
    text = go_duration(nanos)
    if text.endswith("m0s"):
        text = text[:-2]
    if text.endswith("h0m"):
        text = text[:-2]
    return text


def with_path(value: Mapping[str, Any], path: str, found: Any) -> dict[str, Any]:
    """A copy of `value` with the dotted property path (`taskSpec.placement.platforms`) set to `found`,
    or removed where `found` is None; a block the path needs but lacks is left as it is."""
    head, _, rest = path.partition(".")
    copy = dict(value)
    if rest:
        if isinstance(copy.get(head), Mapping):
            copy[head] = with_path(copy[head], rest, found)
    elif found is None:
        copy.pop(head, None)
    else:
        copy[head] = found
    return copy


def at_path(value: Mapping[str, Any], path: str) -> Any:
    for key in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value
