"""The component provider through the real Pulumi CLI, where this machine has it (see real_pulumi.py):
`pulumi package get-schema provider/`, what `pulumi package add` starts with, builds the provider's own
virtualenv (pip, from PyPI), runs it through the Python language host and must get the committed schema."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from tests.support.program import PROJECT_DIR

from .real_pulumi import skip_without_toolchain


def comparable(schema: Any) -> Any:
    """The schema without what the CLI leaves out when it re-encodes one: empty values, and the
    descriptions of array items and of map values."""
    if isinstance(schema, dict):
        kept = {key: comparable(value) for key, value in schema.items() if value not in ({}, [], None)}
        for element in ("items", "additionalProperties"):
            if isinstance(kept.get(element), dict):
                kept[element].pop("description", None)
        return kept
    if isinstance(schema, list):
        return [comparable(item) for item in schema]
    return schema


def test_the_cli_gets_the_committed_schema_from_the_provider(tmp_path: Path) -> None:
    skip_without_toolchain()
    # The package and the provider, copied: the provider's virtualenv and pip's build stay out of the tree.
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(PROJECT_DIR / name, tmp_path / name)
    for folder in ("components", "provider"):
        shutil.copytree(PROJECT_DIR / folder, tmp_path / folder, ignore=shutil.ignore_patterns("venv", "__pycache__"))
    environment = {**os.environ, "PULUMI_SKIP_UPDATE_CHECK": "true", "PULUMI_IGNORE_AMBIENT_PLUGINS": "true"}
    result = subprocess.run(
        ["pulumi", "package", "get-schema", str(tmp_path / "provider")],
        cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=600, check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    served = json.loads(result.stdout)
    committed = json.loads((PROJECT_DIR / "provider" / "schema.json").read_text())
    assert comparable(served) == comparable(committed)
