"""Writes provider/schema.json: the schema the component provider serves, inferred in-process by the SDK.

`make schema` runs it after a change to a component's args or outputs; a unit test keeps the committed
file equal to what the components give.
"""
import json
import sys
import tomllib
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
SCHEMA_FILE = PROJECT_DIR / "provider" / "schema.json"
sys.path.insert(0, str(PROJECT_DIR))

from components.cross_language import component_provider  # noqa: E402 (from this checkout, installed or not)


def schema() -> dict:
    version = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())["project"]["version"]
    return json.loads(component_provider(version).schema)


def schema_text() -> str:
    return json.dumps(schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    SCHEMA_FILE.write_text(schema_text())
    print(SCHEMA_FILE.relative_to(PROJECT_DIR))
