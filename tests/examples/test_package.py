"""The components as another project gets them: built and installed into a clean virtualenv, where the
example consumer's own tests run with nothing of this repository on their path."""
from __future__ import annotations

import shutil
import subprocess
import tomllib
import venv
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]
EXAMPLE = PROJECT_DIR / "examples" / "five-servers"


@pytest.fixture(scope="module")
def clean_python(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("consumer")
    # What the package is made of, copied: pip builds in the source tree, which must stay clean.
    source = folder / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(PROJECT_DIR / name, source / name)
    shutil.copytree(PROJECT_DIR / "components", source / "components", ignore=shutil.ignore_patterns("__pycache__"))
    venv.create(folder / "venv", with_pip=True)
    python = folder / "venv" / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "--quiet", str(source), "pytest"], check=True, capture_output=True, text=True)
    return python


def test_the_package_installs_typed_with_its_public_api(clean_python: Path) -> None:
    probe = "import components, pathlib; print(pathlib.Path(components.__file__).parent / 'py.typed'); print(len(components.__all__))"
    typed, exported = subprocess.run([clean_python, "-c", probe], cwd="/", check=True, capture_output=True, text=True).stdout.split()
    assert Path(typed).is_file()
    assert int(exported) == len(__import__("components").__all__)


def test_the_example_consumer_runs_on_the_installed_package_alone(clean_python: Path, tmp_path: Path) -> None:
    copy = tmp_path / "five-servers"
    shutil.copytree(EXAMPLE, copy, ignore=shutil.ignore_patterns("venv", "__pycache__"))
    result = subprocess.run([clean_python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], cwd=copy, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout


def test_the_package_asks_for_what_the_program_runs_on() -> None:
    declared = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())["project"]["dependencies"]
    required = [
        line for line in (PROJECT_DIR / "requirements.txt").read_text().splitlines() if line.startswith(("pulumi", "pyyaml"))
    ]
    assert sorted(declared) == sorted(required)


def test_nothing_in_the_package_imports_the_stacks() -> None:
    for module in (PROJECT_DIR / "components").rglob("*.py"):
        assert "stacks" not in {line.split()[1].split(".")[0] for line in module.read_text().splitlines() if line.startswith(("import ", "from "))}, module
