"""The CLI's project-config check, as tests/support/project_config.py ports it (messages from pkg/workspace/config.go)."""
from __future__ import annotations

import pytest

from tests.support.project_config import ProjectConfigError, apply_project_config


def project(**config) -> dict:
    return {"name": "proj", "config": config}


def test_every_declared_key_without_a_default_is_required() -> None:
    declared = project(a={"type": "string"}, b={"type": "string"}, c={"type": "string"}, d={"type": "string", "default": "x"})
    with pytest.raises(ProjectConfigError) as refused:
        apply_project_config(declared, "dev", {}, frozenset())
    assert str(refused.value) == "Stack 'dev' is missing configuration values 'a', 'b' and 'c'"
    with pytest.raises(ProjectConfigError, match=r"^Stack 'dev' is missing configuration value 'a'$"):
        apply_project_config(declared, "dev", {"proj:b": "1", "proj:c": "1"}, frozenset())


def test_defaults_fill_what_the_stack_leaves_out() -> None:
    declared = project(port={"type": "integer", "default": 8500}, flag={"type": "boolean", "default": False})
    merged = apply_project_config(declared, "dev", {"proj:port": "9000", "other:key": "kept"}, frozenset())
    assert merged == {"proj:port": "9000", "proj:flag": False, "other:key": "kept"}


@pytest.mark.parametrize(
    "spec, value, type_name",
    [
        ({"type": "integer", "default": 1}, "three", "integer"),
        ({"type": "boolean", "default": True}, "yes", "boolean"),
        ({"type": "array", "items": {"type": "string"}, "default": []}, "larry", "array<string>"),
        ({"type": "string", "default": ""}, ["a"], "string"),
    ],
)
def test_a_value_of_the_wrong_type_is_refused(spec: dict, value, type_name: str) -> None:
    with pytest.raises(ProjectConfigError) as refused:
        apply_project_config(project(key=spec), "dev", {"proj:key": value}, frozenset())
    assert str(refused.value) == f"Stack 'dev' with configuration key 'key' must be of type '{type_name}'"


def test_a_declared_secret_must_be_set_encrypted() -> None:
    declared = project(password={"type": "string", "secret": True, "default": "unused"})
    with pytest.raises(ProjectConfigError, match="must be encrypted as it's secret"):
        apply_project_config(declared, "dev", {"proj:password": "x"}, frozenset())
    assert apply_project_config(declared, "dev", {"proj:password": "x"}, frozenset({"proj:password"}))["proj:password"] == "x"


def test_a_default_of_the_wrong_type_is_refused() -> None:
    with pytest.raises(ProjectConfigError, match="The default value specified for configuration key 'n' is not of the expected type 'integer'"):
        apply_project_config(project(n={"type": "integer", "default": "many"}), "dev", {}, frozenset())
