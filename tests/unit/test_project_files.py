"""Pulumi.yaml documents every key the program reads, with the defaults the program uses."""
from __future__ import annotations

import re
from pathlib import Path

import pulumi.config
import pytest
import yaml

from stacks import config
from tests.support.graph import resource_tree
from tests.unit.conftest import deploy

PROJECT_DIR = Path(__file__).resolve().parents[2]
PROJECT_FILE = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())
PROJECT_TEXT = (PROJECT_DIR / "Pulumi.yaml").read_text()


@pytest.fixture(scope="module")
def keys_read() -> set[str]:
    """Every project key the program asks for, over the dev, cluster and sandbox stacks."""
    read: set[str] = set()
    original = pulumi.config.get_config

    def spy(full_key: str):
        read.add(full_key.split(":", 1)[1])
        return original(full_key)

    pulumi.config.get_config = spy
    try:
        deploy("dev")
        deploy("cluster")
        deploy("sandbox")
    finally:
        pulumi.config.get_config = original
    return read


def documented_optional_keys() -> dict[str, str]:
    """The keys Pulumi.yaml documents in its comment on keys without a default, with their kind."""
    rows = re.findall(r"^  #   (\w+) +(string|list|object|secret|boolean|integer)\b", PROJECT_TEXT, flags=re.MULTILINE)
    return dict(rows)


def test_every_key_the_program_reads_is_declared_or_documented(keys_read: set[str]) -> None:
    undeclared = keys_read - set(PROJECT_FILE["config"])
    assert undeclared == set(documented_optional_keys())
    assert "#     - name: larry" in PROJECT_TEXT


def test_every_declared_key_is_read(keys_read: set[str]) -> None:
    assert set(PROJECT_FILE["config"]) - keys_read == set()


def test_the_keys_the_program_knows_are_those_it_reads(keys_read: set[str]) -> None:
    """Any other key in the project's namespace is refused as unknown (a typo), so the list must be whole."""
    assert config.KNOWN_KEYS == keys_read


def test_declared_defaults_are_the_programs_defaults() -> None:
    with_declared_defaults = deploy("dev")
    without = deploy("dev", project_defaults=False)
    assert with_declared_defaults.outputs == without.outputs
    def inputs(deployment):
        return sorted((r.urn, repr(sorted(r.inputs.items()))) for r in deployment.registrations)

    assert inputs(with_declared_defaults) == inputs(without)


def test_every_declaration_has_a_type_a_description_and_a_default() -> None:
    """The CLI requires a declared key without a default in every stack, so each has one."""
    for key, spec in PROJECT_FILE["config"].items():
        # The CLI's own list of config types (simpleConfigType in its project schema).
        assert spec["type"] in ("string", "integer", "boolean", "array", "object"), key
        assert spec["description"], key
        kinds = {"string": str, "integer": int, "boolean": bool, "array": list, "object": dict}
        assert isinstance(spec["default"], kinds[spec["type"]]), key


def test_credentials_are_documented_as_secrets() -> None:
    secrets = {key for key, kind in documented_optional_keys().items() if kind == "secret"}
    assert secrets == {"registryPassword", "dockerTlsCa", "dockerTlsCert", "dockerTlsKey"}


def test_environments_match_the_builders() -> None:
    main = (PROJECT_DIR / "__main__.py").read_text()
    for environment in config.ENVIRONMENTS:
        assert f'"{environment}": ' in main, environment


def test_the_design_notes_show_the_dev_stacks_real_resource_tree() -> None:
    design = (PROJECT_DIR / "docs" / "design.md").read_text()
    shown = design.split("<!-- resource-tree:dev -->\n```\n", 1)[1].split("\n```\n<!-- /resource-tree:dev -->", 1)[0]
    assert shown == resource_tree("dev")


def test_the_readme_starts_with_the_two_commands_the_makefile_defines() -> None:
    readme = (PROJECT_DIR / "README.md").read_text()
    first_block = readme.split("```sh\n", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in first_block.splitlines()]
    assert commands == ["make up", "make test"]
    makefile = (PROJECT_DIR / "Makefile").read_text()
    assert "\nup: " in makefile and "\ntest: " in makefile
    assert "make test" in (PROJECT_DIR / ".ci" / "run").read_text()


@pytest.mark.parametrize("stack", ["dev", "cluster", "sandbox"])
def test_a_fresh_stack_needs_no_config_beyond_its_stack_file(stack: str) -> None:
    """`pulumi preview` on a new stack: the CLI's schema check passes with only Pulumi.<stack>.yaml."""
    deployment = deploy(stack)
    assert deployment.registrations
