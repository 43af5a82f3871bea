"""The harness's `pulumi` takes a doc's stack commands as the CLI does (no engine needed for these):
init, select, config set, stack output over what an `up` left, a prompt nobody answers, and what it
does not serve, refused saying so."""
from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tests.support.program import PROJECT_DIR

from .cli import NOT_CONFIRMED, Backend, Refused, find_project, install, run


@pytest.fixture
def backend(tmp_path) -> Backend:
    install(tmp_path / "bin", tmp_path / "backend", tmp_path / "state", {"dev2": {"redisImage": "local/redis"}})
    return Backend(tmp_path / "backend", tmp_path / "state")


def test_init_selects_and_config_set_writes_the_selected_stack(backend: Backend) -> None:
    assert run(backend, ["stack", "init", "dev2"]) == ("", "Created stack 'dev2'\n")
    run(backend, ["config", "set", "webPort", "5001"])
    run(backend, ["stack", "select", "--create", "other", "--secrets-provider", "passphrase"])
    run(backend, ["config", "set", "--stack", "dev2", "consulDnsPort", "8601"])
    assert backend.config("dev2") == {"webPort": "5001", "consulDnsPort": "8601"}
    assert backend.config("other") == {} and backend.current == "other"
    assert backend.machine("dev2") == {"redisImage": "local/redis"} and backend.machine("other") == {}
    with pytest.raises(Refused, match="stack 'organization/orchestration/dev2' already exists"):
        run(backend, ["stack", "init", "dev2"])
    with pytest.raises(Refused, match="no stack named 'nope' found") as refused:
        run(backend, ["stack", "select", "nope"])
    assert refused.value.code == 6


def test_stack_output_reads_what_the_last_up_left(backend: Backend) -> None:
    run(backend, ["stack", "init", "dev2"])
    backend.set_outputs("dev2", {"webUrl": "http://localhost:5001", "nodes": ["consul-1"]}, frozenset())
    assert run(backend, ["stack", "output", "webUrl"]) == ("http://localhost:5001\n", "")
    assert json.loads(run(backend, ["stack", "output", "--stack", "dev2", "--json"])[0])["nodes"] == ["consul-1"]


def test_what_make_up_asks_before_its_up_finds_nothing_to_recover(backend: Backend) -> None:
    run(backend, ["stack", "select", "--create", "dev2", "--secrets-provider", "passphrase"])
    exported = json.loads(run(backend, ["stack", "export", "--show-secrets"])[0])
    assert exported == {"version": 3, "deployment": {"resources": [], "pending_operations": []}}
    assert run(backend, ["stack", "history", "--json", "--page-size", "1"]) == ("[]\n", "")


def test_an_up_nobody_confirms_and_what_is_not_served_are_refused(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PULUMI_SKIP_CONFIRMATIONS", raising=False)
    run(backend, ["stack", "init", "dev2"])
    with pytest.raises(Refused) as refused:
        run(backend, ["up"])
    assert (str(refused.value), refused.value.code) == (NOT_CONFIRMED, 2)
    for arguments in (["preview"], ["config", "set", "--secret", "token", "x"], ["up", "--yes", "--target", "x"]):
        with pytest.raises(Refused, match="the harness does not serve this"):
            run(backend, arguments)


def test_the_installed_pulumi_runs_in_a_shell(tmp_path) -> None:
    environment = install(tmp_path / "bin", tmp_path / "backend", tmp_path / "state", {})
    completed = subprocess.run(
        ["bash", "-c", "pulumi stack init dev2 && pulumi config set webPort 5001 && pulumi stack output webUrl"],
        env=environment, capture_output=True, text=True, check=False,
    )
    assert (completed.returncode, completed.stdout) == (1, "")
    assert completed.stderr == "Created stack 'dev2'\nerror: current stack does not have output property 'webUrl'\n"


def test_up_reads_the_stack_file_of_the_project_it_runs_in(tmp_path) -> None:
    """As the CLI does: a user's edit of Pulumi.<stack>.yaml in the project folder is what `up` deploys (here a
    count the config check refuses before anything is made, so no engine is needed)."""
    project = tmp_path / "project"
    (project / "sub").mkdir(parents=True)
    shutil.copy(PROJECT_DIR / "Pulumi.yaml", project / "Pulumi.yaml")
    (project / "Pulumi.dev2.yaml").write_text("config:\n  orchestration:consulServers: 2\n")
    environment = {**install(tmp_path / "bin", tmp_path / "backend", tmp_path / "state", {}), "PULUMI_SKIP_CONFIRMATIONS": "true"}
    completed = subprocess.run(
        ["bash", "-c", "pulumi stack init dev2 && cd sub && pulumi up"],
        cwd=project, env=environment, capture_output=True, text=True, check=False,
    )
    assert completed.returncode == 1, completed.stderr
    assert "orchestration:consulServers" in completed.stderr and "'2' is not one of [1, 3, 5]" in completed.stderr, completed.stderr


def test_the_program_is_the_project_found_from_where_pulumi_runs(tmp_path) -> None:
    """As the CLI finds Pulumi.yaml upward; this checkout's program where none is found or it is a copy of it."""
    other = tmp_path / "five-servers"
    (other / "tests").mkdir(parents=True)
    (other / "Pulumi.yaml").write_text("name: five-servers\nruntime: python\n")
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / "Pulumi.yaml").write_text((PROJECT_DIR / "Pulumi.yaml").read_text())
    assert [find_project(folder) for folder in (other, other / "tests", copy, tmp_path)] == [other, other, PROJECT_DIR, PROJECT_DIR]
    backend = Backend(tmp_path / "backend", tmp_path / "state", find_project(other / "tests"))
    backend.folder.mkdir()
    run(backend, ["stack", "init", "demo"])
    with pytest.raises(Refused, match="stack 'organization/five-servers/demo' already exists"):
        run(backend, ["stack", "init", "demo"])
