"""What `make up` does before `pulumi up` (scripts/before_up.py): the CLI runs `stack select --create`
only for a stack that is missing or not selected, as its workspace file and the file backend say;
recovery runs every time. (tests/e2e/test_before_up_real_pulumi.py checks the file against the CLI's.)"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from scripts import before_up
from tests.unit.recovery_support import export
from tests.unit.test_recover import backend_with, fake_pulumi, lock


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project on a file backend holding dev, its CLI workspace under a PULUMI_HOME of its own."""
    backend = backend_with(tmp_path, export())
    project_dir = tmp_path / "project"
    project_dir.mkdir()
    (project_dir / "Pulumi.yaml").write_text(f"name: orchestration\nruntime: python\nbackend:\n  url: file://{backend.root}\n")
    monkeypatch.setenv("PULUMI_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PULUMI_BACKEND_URL", raising=False)
    monkeypatch.delenv("PULUMI_STACK", raising=False)
    monkeypatch.chdir(project_dir)
    monkeypatch.setenv("PWD", str(project_dir))
    return project_dir


def select(project_dir: Path, settings: dict) -> None:
    path = before_up.workspace_file(project_dir, "orchestration")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(settings))


def url(project_dir: Path) -> str:
    return (project_dir / "Pulumi.yaml").read_text().split("url: ", 1)[1].strip()


def test_the_workspace_file_is_named_as_the_cli_names_it(project: Path) -> None:
    digest = hashlib.sha1(f"{project}/Pulumi.yaml".encode()).hexdigest()
    assert before_up.workspace_file(project, "orchestration") == project.parent / "home" / "workspaces" / f"orchestration-{digest}-workspace.json"


def test_the_selected_stack_is_this_backends_entry_else_the_legacy_one(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert before_up.selected_stack(project, "orchestration", url(project)) is None
    select(project, {"stacks": {"file://elsewhere": "organization/orchestration/dev", url(project): "organization/orchestration/cluster"}})
    assert before_up.selected_stack(project, "orchestration", url(project)) == "organization/orchestration/cluster"
    select(project, {"stack": "dev"})
    assert before_up.selected_stack(project, "orchestration", url(project)) == "dev"
    monkeypatch.setenv("PULUMI_STACK", "sandbox")
    assert before_up.selected_stack(project, "orchestration", url(project)) == "sandbox"


def test_a_stack_is_ready_only_when_it_exists_and_is_selected(project: Path) -> None:
    assert not before_up.stack_is_ready("dev", project)
    select(project, {"stacks": {url(project): "organization/orchestration/dev"}})
    assert before_up.stack_is_ready("dev", project)
    assert not before_up.stack_is_ready("cluster", project), "cluster has no checkpoint: it is created"
    select(project, {"stacks": {url(project): "organization/orchestration/cluster"}})
    assert not before_up.stack_is_ready("dev", project)


def test_on_another_backend_the_cli_always_selects(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    select(project, {"stacks": {"https://api.pulumi.com": "acme/orchestration/dev"}})
    monkeypatch.setenv("PULUMI_BACKEND_URL", "https://api.pulumi.com")
    assert not before_up.stack_is_ready("dev", project)


def test_a_ready_stack_starts_no_cli_and_is_still_recovered(project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    calls = fake_pulumi(tmp_path, monkeypatch, export())
    select(project, {"stacks": {url(project): "organization/orchestration/dev"}})
    assert before_up.main(["--stack", "dev"]) == 0
    assert not calls.exists()
    lock_dir = tmp_path / "state" / ".pulumi" / "locks" / "organization" / "orchestration" / "dev"
    (lock_dir / "stale.json").write_text(json.dumps(lock(999_999)))  # no such pid
    assert before_up.main(["--stack", "dev"]) == 0
    assert calls.read_text().splitlines() == ["cancel --yes --stack dev --non-interactive"]
    assert "cleared the stale lock" in capsys.readouterr().out


def test_a_missing_or_unselected_stack_goes_through_the_cli(project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    calls = fake_pulumi(tmp_path, monkeypatch, export())
    assert before_up.main(["--stack", "cluster"]) == 0
    assert calls.read_text().splitlines()[0] == "stack select --create cluster --secrets-provider passphrase"
    assert "pulumi stack select --create cluster --secrets-provider passphrase" in capsys.readouterr().out
