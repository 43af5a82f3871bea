"""The package's public names: type checkers read them from the TYPE_CHECKING imports in
components/__init__.py, the program imports each on first use from `_MODULES`; the two and `__all__` agree."""
from __future__ import annotations

import ast
import importlib
import subprocess
import sys

import components
from tests.support.program import PROJECT_DIR


def type_checking_imports() -> dict[str, str]:
    tree = ast.parse((PROJECT_DIR / "components" / "__init__.py").read_text())
    guard = next(node for node in tree.body if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING")
    return {alias.name: node.module for node in guard.body if isinstance(node, ast.ImportFrom) for alias in node.names}


def test_type_checkers_and_the_program_see_the_same_names_from_the_same_modules() -> None:
    assert type_checking_imports() == components._MODULES
    assert sorted(components.__all__) == sorted(components._MODULES)


def test_each_public_name_is_its_modules() -> None:
    for name, module in components._MODULES.items():
        assert getattr(components, name) is getattr(importlib.import_module(module), name), name


def test_importing_one_component_module_imports_no_other() -> None:
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, components.consul_mesh; print(' '.join(sorted(m for m in sys.modules if m.startswith('components.'))))"],
        cwd=PROJECT_DIR, capture_output=True, text=True, check=True,
    ).stdout.split()
    assert "components.compose_project" not in loaded and "components.swarm_cluster" not in loaded, loaded
