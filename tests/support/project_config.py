"""What the Pulumi CLI does with a stack's config before the program runs, per `Pulumi.yaml`'s schema.

A port of pulumi/pulumi's `pkg/workspace/config.go` (mergeConfig and
validateStackConfigValues) and `Project.Validate`, so that a run under mocks
refuses the same stacks `pulumi preview` refuses, with the same messages:
every project key declared without a `default` is required in every stack; a
missing key gets its declared default; a set value must match its declared
type; a key declared `secret` must be set with `--secret`.
"""
from __future__ import annotations

import json
from typing import Any, Mapping


class ProjectConfigError(Exception):
    """The CLI would stop here: `error: validating stack config: <message>`."""


def apply_project_config(
    project: Mapping[str, Any], stack: str, stack_config: Mapping[str, Any], secret_keys: frozenset[str]
) -> dict[str, Any]:
    """The stack's config with the project's defaults merged in, or ProjectConfigError as the CLI says it.

    `stack_config` is keyed `namespace:key`; `secret_keys` are the keys set with `--secret`.
    """
    project_name = project["name"]
    declared = project.get("config") or {}
    validate_project(project_name, declared)
    merged = dict(stack_config)
    missing = []
    for key in sorted(declared):
        spec = _spec(declared[key])
        full_key = key if ":" in key else f"{project_name}:{key}"
        if full_key in merged:
            continue
        default = spec.get("default", spec.get("value"))
        if default is None:
            if full_key.split(":", 1)[0] == project_name:
                missing.append(key)
            continue
        merged[full_key] = default
    if missing:
        plural = "values" if len(missing) > 1 else "value"
        raise ProjectConfigError(f"Stack '{stack}' is missing configuration {plural} {_format_missing(missing)}")
    for key in sorted(declared):
        spec = _spec(declared[key])
        full_key = key if ":" in key else f"{project_name}:{key}"
        if "type" not in spec or full_key not in merged:
            continue
        if spec.get("secret") and full_key not in secret_keys:
            raise ProjectConfigError(f"Stack '{stack}' with configuration key '{key}' must be encrypted as it's secret")
        if not _valid(spec["type"], spec.get("items"), _as_cli_sees(merged[full_key])):
            raise ProjectConfigError(
                f"Stack '{stack}' with configuration key '{key}' must be of type '{_full_type_name(spec['type'], spec.get('items'))}'"
            )
    return merged


def validate_project(project_name: str, declared: Mapping[str, Any]) -> None:
    """Project.Validate: a declared default must have the declared type; arrays name their items."""
    for key, raw in declared.items():
        spec = _spec(raw)
        if "default" in spec and "value" in spec:
            raise ProjectConfigError(f"project config '{key}' cannot have both a 'default' and 'value' attribute")
        if ":" in key and not key.startswith(f"{project_name}:"):
            continue
        if spec.get("type") == "array" and "items" not in spec:
            raise ProjectConfigError(
                f"The configuration key '{key}' declares an array but does not specify the underlying type via the 'items' attribute"
            )
        if "type" in spec and spec.get("default") is not None and not _valid(spec["type"], spec.get("items"), spec["default"]):
            raise ProjectConfigError(
                f"The default value specified for configuration key '{key}' is not of the expected type "
                f"'{_full_type_name(spec['type'], spec.get('items'))}'"
            )


def _spec(raw: Any) -> dict[str, Any]:
    """`key: value` is shorthand for `key: {value: value}`."""
    return dict(raw) if isinstance(raw, Mapping) else {"value": raw}


def _as_cli_sees(value: Any) -> Any:
    """The CLI type-checks the decrypted text of a scalar, and the parsed JSON of an object or array."""
    if isinstance(value, (dict, list)):
        return json.loads(json.dumps(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _valid(type_name: str, items: Mapping[str, Any] | None, value: Any) -> bool:
    if type_name == "string":
        return isinstance(value, str)
    if type_name == "integer":
        if isinstance(value, bool):
            return False
        if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
            return True
        if isinstance(value, str):
            try:
                int(value)
            except ValueError:
                return False
            return True
        return False
    if type_name == "boolean":
        return value in ("true", "false") or isinstance(value, bool)
    if type_name == "object":
        return isinstance(value, dict)
    if not isinstance(value, list) or items is None:
        return False
    return all(_valid(items["type"], items.get("items"), item) for item in value)


def _full_type_name(type_name: str, items: Mapping[str, Any] | None) -> str:
    if items is not None:
        return f"array<{_full_type_name(items['type'], items.get('items'))}>"
    return type_name


def _format_missing(keys: list[str]) -> str:
    if len(keys) == 1:
        return f"'{keys[0]}'"
    quoted = [f"'{key}'" for key in sorted(keys)]
    return ", ".join(quoted[:-2] + [f"{quoted[-2]} and {quoted[-1]}"])
