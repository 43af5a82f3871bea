"""Recovery after a killed `pulumi up` (scripts/recover), against exported states shaped as Pulumi's
DeploymentV3, a file backend laid out as pulumi/pulumi's diy backend, and a stand-in engine."""
from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

import pytest

from scripts.recover.__main__ import main
from scripts.recover.backend import FileBackend, file_backend
from scripts.recover.deployment import Deployment
from scripts.recover.plan import decide
from scripts.recover.pulumi_cli import PulumiCli
from scripts.recover.recovery import recover
from tests.unit.recovery_support import (
    CONSUL_IMAGE_ID,
    PREFIX,
    FakeCli,
    FakeEngine,
    consul_container,
    consul_volume,
    export,
    resource,
    swarm_init,
)

STACK = "dev"


def backend_with(tmp_path: Path, document: dict, locks: tuple[dict, ...] = (), history: tuple[dict, ...] = ()) -> FileBackend:
    """A project-scoped file backend holding dev's checkpoint (`document`'s deployment), `locks`, and
    `history` (UpdateInfo records, oldest first)."""
    root = tmp_path / "state"
    (root / ".pulumi").mkdir(parents=True)
    (root / ".pulumi" / "meta.yaml").write_text("version: 1\n")
    stacks = root / ".pulumi" / "stacks" / "orchestration"
    stacks.mkdir(parents=True)
    checkpoint = {"version": 3, "checkpoint": {"stack": "organization/orchestration/dev", "latest": document["deployment"]}}
    (stacks / "dev.json").write_text(json.dumps(checkpoint))
    lock_dir = root / ".pulumi" / "locks" / "organization" / "orchestration" / STACK
    lock_dir.mkdir(parents=True)
    for index, content in enumerate(locks):
        (lock_dir / f"{index:08d}-0000-4000-8000-000000000000.json").write_text(json.dumps(content))
    history_dir = root / ".pulumi" / "history" / "orchestration" / STACK
    history_dir.mkdir(parents=True)
    for index, record in enumerate(history):
        # Named by their unix nanoseconds, which sort otherwise as text: 9... before 10...
        (history_dir / f"{STACK}-{(9 + index) * 10**17}.history.json").write_text(json.dumps(record))
    return FileBackend(root, "orchestration")


def lock(pid: int, hostname: str | None = None) -> dict:
    return {"pid": pid, "username": "dev", "hostname": hostname or socket.gethostname(), "timestamp": "2025-01-01T10:00:00Z"}


def test_a_clean_stack_is_left_alone_without_starting_the_cli(tmp_path: Path) -> None:
    document = export()
    cli, engine = FakeCli(document), FakeEngine()
    started = time.perf_counter()
    outcome = recover(STACK, backend_with(tmp_path, document), cli, lambda inputs: engine)
    assert time.perf_counter() - started < 0.1
    assert cli.calls == [] and outcome.done == [] and outcome.refused == []


def test_a_lock_left_by_a_dead_process_on_this_machine_is_cancelled(tmp_path: Path) -> None:
    document = export()
    cli = FakeCli(document)
    outcome = recover(STACK, backend_with(tmp_path, document, (lock(4242),)), cli, lambda inputs: FakeEngine(), runs=lambda pid: False)
    assert cli.calls == [("cancel",)]
    assert outcome.done == ["cleared the stale lock taken by dev@" + socket.gethostname() + " (pid 4242) at 2025-01-01T10:00:00Z"]


@pytest.mark.parametrize(
    ("holder", "runs", "says"),
    [(lock(4242), True, "which is still running"), (lock(4242, "build-server"), False, "on another machine")],
)
def test_a_lock_still_held_is_refused_naming_the_holder(tmp_path: Path, holder: dict, runs: bool, says: str) -> None:
    document = export([("creating", consul_container())])
    cli = FakeCli(document)
    outcome = recover(STACK, backend_with(tmp_path, document, (holder,)), cli, lambda inputs: FakeEngine(), runs=lambda pid: runs)
    assert cli.calls == []
    assert len(outcome.refused) == 1 and f"dev@{holder['hostname']} (pid 4242)" in outcome.refused[0] and says in outcome.refused[0]


def test_the_lock_of_a_pid_reused_by_another_program_is_stale(tmp_path: Path) -> None:
    """This test's own pid runs, but it is python, not pulumi."""
    document = export()
    cli = FakeCli(document)
    recover(STACK, backend_with(tmp_path, document, (lock(os.getpid()),)), cli, lambda inputs: FakeEngine())
    assert cli.calls == [("cancel",)]


def test_a_container_created_as_declared_is_adopted_with_its_id(tmp_path: Path) -> None:
    container = consul_container()
    document = export([("creating", container)])
    engine = FakeEngine()
    container_id = engine.run_container("dev-consul-1")
    cli = FakeCli(document)
    outcome = recover(STACK, backend_with(tmp_path, document), cli, lambda inputs: engine)
    assert cli.calls == [("export",), ("stack import", f"{container['urn']} {container_id}"), ("refresh", container["urn"]), ("export",)]
    assert outcome.refused == [] and outcome.done == [f"import: {container['urn']}: container dev-consul-1 on {engine.host} is the declared one: adopted"]
    recorded = Deployment.from_export(cli.document).recorded(container["urn"])
    assert recorded["id"] == container_id and recorded["inputs"] == container["inputs"]
    # With what the provider's create stores and its Read never reads (an undeclared `envs` would be
    # planned unknown next time, and replace the container).
    assert recorded["outputs"] == {
        "name": "dev-consul-1", "image": CONSUL_IMAGE_ID, "mustRun": True, "wait": True, "id": container_id,
        "attach": False, "logs": False, "envs": [],
    }
    assert recorded["provider"] == container["provider"] and cli.document["deployment"]["pending_operations"] == []


def test_a_container_of_another_image_under_the_name_is_refused_and_nothing_changes(tmp_path: Path) -> None:
    document = export([("creating", consul_container()), ("creating", swarm_init())])
    engine = FakeEngine()
    engine.run_container("dev-consul-1", image_id="sha256:" + "d" * 64)
    engine.containers["dev-consul-1"]["Config"]["Image"] = "someone/else:1"
    cli = FakeCli(document)
    outcome = recover(STACK, backend_with(tmp_path, document), cli, lambda inputs: engine)
    assert cli.calls == [("export",)] and engine.removed == []
    refusal = "\n".join(outcome.refused)
    assert "container dev-consul-1" in refusal and "someone/else:1" in refusal and CONSUL_IMAGE_ID in refusal
    assert "docker rm -f dev-consul-1" in refusal


def test_a_missing_container_and_a_pending_command_are_cleared_to_run_again(tmp_path: Path) -> None:
    container, init = consul_container(), swarm_init()
    document = export([("creating", container), ("creating", init)])
    cli = FakeCli(document)
    outcome = recover(STACK, backend_with(tmp_path, document), cli, lambda inputs: FakeEngine())
    assert cli.calls == [("export",), ("stack import",), ("export",)]  # nothing to read again
    assert [line.split(":", 1)[0] for line in outcome.done] == ["rerun", "rerun"] and outcome.refused == []
    assert "idempotent" in outcome.done[1]


def test_a_container_never_started_is_removed_and_made_again(tmp_path: Path) -> None:
    document = export([("creating", consul_container())])
    engine = FakeEngine()
    container_id = engine.run_container("dev-consul-1", status="created")
    outcome = recover(STACK, backend_with(tmp_path, document), FakeCli(document), lambda inputs: engine)
    assert engine.removed == [container_id] and outcome.done[0].startswith("remove:")


def test_a_volume_is_adopted_by_name_and_never_removed(tmp_path: Path) -> None:
    volume = consul_volume()
    engine = FakeEngine()
    engine.volumes["dev-consul-1-data"] = {"Name": "dev-consul-1-data", "Driver": "local"}
    decisions = decide(Deployment.from_export(export([("creating", volume)])), lambda operation: engine)
    assert [(d.action, d.object_id) for d in decisions] == [("import", "dev-consul-1-data")]
    engine.volumes["dev-consul-1-data"]["Driver"] = "nfs-plugin"
    refused = decide(Deployment.from_export(export([("creating", volume)])), lambda operation: engine)[0]
    assert refused.action == "refuse" and refused.user_command == "docker volume inspect dev-consul-1-data"
    assert engine.removed == []


def test_the_engine_is_the_one_the_resources_provider_names(tmp_path: Path) -> None:
    document = export([("creating", consul_container())], host="tcp://10.0.0.11:2376")
    seen = []
    recover(STACK, backend_with(tmp_path, document), FakeCli(document), lambda inputs: seen.append(inputs["host"]) or FakeEngine(inputs["host"]))
    assert seen == ["tcp://10.0.0.11:2376"]


def test_a_pending_update_is_read_again_and_an_unknown_create_refused() -> None:
    update = ("updating", consul_container())
    unknown = ("creating", {**swarm_init(), "type": "consul:index/aclPolicy:AclPolicy", "urn": "urn:pulumi:dev::orchestration::consul:index/aclPolicy:AclPolicy::reader"})
    decisions = decide(Deployment.from_export(export([update, unknown])), lambda operation: FakeEngine())
    assert [d.action for d in decisions] == ["reread", "refuse"]
    assert "consul:index/aclPolicy:AclPolicy" in decisions[1].reason


def test_the_projects_backend_url_is_found_where_the_cli_finds_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: orchestration\nruntime: python\nbackend:\n  url: file://~\n")
    monkeypatch.delenv("PULUMI_BACKEND_URL", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert file_backend(tmp_path) == FileBackend(tmp_path / "home", "orchestration")
    monkeypatch.setenv("PULUMI_BACKEND_URL", "file:///srv/pulumi-state")
    assert file_backend(tmp_path) == FileBackend(Path("/srv/pulumi-state"), "orchestration")
    monkeypatch.setenv("PULUMI_BACKEND_URL", "s3://bucket")
    assert file_backend(tmp_path) is None


def update_record(kind: str, result: str) -> dict:
    """An apitype.UpdateInfo as the file backend writes it after each update, refresh or destroy."""
    return {"kind": kind, "startTime": 1796526479, "result": result, "endTime": 1796526481, "resourceChanges": {"update": 1}}


@pytest.mark.parametrize(
    "history, reread",
    [
        ((update_record("update", "succeeded"), update_record("update", "failed")), True),
        ((update_record("update", "failed"), update_record("refresh", "succeeded")), False),
        ((update_record("update", "failed"), update_record("update", "succeeded")), False),
        ((), False),
    ],
    ids=["last update failed", "refreshed since", "succeeded since", "no update yet"],
)
def test_after_a_failed_update_the_whole_stack_is_read_again_once(tmp_path: Path, history: tuple[dict, ...], reread: bool) -> None:
    """A host lost while its containers changed: the failed update recorded the new values as made."""
    document = export()
    cli = FakeCli(document)
    outcome = recover(STACK, backend_with(tmp_path, document, history=history), cli, lambda inputs: FakeEngine())
    assert cli.calls == ([("refresh everything",)] if reread else [])
    assert outcome.done == (["the last update failed: read the whole stack again, so this up finishes what it left"] if reread else [])


def test_without_a_file_backend_the_last_update_comes_from_the_cli() -> None:
    cli = FakeCli(export(), history=update_record("update", "failed"))
    outcome = recover(STACK, None, cli, lambda inputs: FakeEngine())
    assert cli.calls == [("export",), ("stack history",), ("refresh everything",)]
    assert outcome.refused == []


FAKE_PULUMI = """#!/bin/sh
echo "$*" >> "$PULUMI_CALLS"
case "$1 $2" in
  "stack export") cat "$PULUMI_EXPORT" ;;
  "stack import") cat > "$PULUMI_CALLS.stdin" ;;
  "stack history") echo '[{"kind": "update", "result": "failed"}]' ;;
esac
"""


def fake_pulumi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, document: dict) -> Path:
    """A `pulumi` on PATH that records its arguments and exports `document`."""
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "pulumi").write_text(FAKE_PULUMI)
    (tmp_path / "bin" / "pulumi").chmod(0o755)
    (tmp_path / "export.json").write_text(json.dumps(document))
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    monkeypatch.setenv("PULUMI_CALLS", str(tmp_path / "calls"))
    monkeypatch.setenv("PULUMI_EXPORT", str(tmp_path / "export.json"))
    return tmp_path / "calls"


def test_the_state_goes_in_on_stdin_and_the_refresh_reads_only_its_targets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = fake_pulumi(tmp_path, monkeypatch, export())
    cli = PulumiCli("dev", tmp_path)
    cli.replace_state(export())
    cli.refresh(["urn:a", "urn:b"])
    assert cli.last_update() == {"kind": "update", "result": "failed"}
    cli.refresh_everything()
    assert calls.read_text().splitlines() == [
        "stack import --stack dev --non-interactive",
        "refresh --yes --skip-preview --target=urn:a --target=urn:b --stack dev --non-interactive",
        "stack history --json --page-size 1 --stack dev --non-interactive",
        "refresh --yes --skip-preview --stack dev --non-interactive",
    ]
    assert json.loads((tmp_path / "calls.stdin").read_text()) == export()


def test_make_recover_exits_0_when_recovered_and_1_naming_a_live_holder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    document = export()
    backend = backend_with(tmp_path, document, (lock(999_999),))  # no such pid
    calls = fake_pulumi(tmp_path, monkeypatch, document)
    (tmp_path / "Pulumi.yaml").write_text(f"name: orchestration\nruntime: python\nbackend:\n  url: file://{backend.root}\n")
    monkeypatch.delenv("PULUMI_BACKEND_URL", raising=False)
    assert main(["--stack", "dev", "--cwd", str(tmp_path)]) == 0
    assert calls.read_text().splitlines() == ["cancel --yes --stack dev --non-interactive"]
    assert "cleared the stale lock" in capsys.readouterr().out
    (backend.lock_dir("dev") / "live.json").write_text(json.dumps(lock(os.getppid(), "build-server")))
    assert main(["--stack", "dev", "--cwd", str(tmp_path)]) == 1
    assert "dev@build-server" in capsys.readouterr().err


def test_secrets_in_an_export_with_show_secrets_read_as_their_values() -> None:
    secret = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "plaintext": json.dumps("-----BEGIN CERTIFICATE-----")}
    document = export()
    document["deployment"]["resources"][1]["inputs"]["caMaterial"] = secret
    deployment = Deployment.from_export(document)
    assert deployment.provider_inputs(f"{deployment.resources[1]['urn']}::{deployment.resources[1]['id']}")["caMaterial"] == "-----BEGIN CERTIFICATE-----"


def test_a_pending_create_of_a_provider_runs_again() -> None:
    """Seen with the real CLI: a kill while the first images build left the default command provider pending."""
    provider = {**swarm_init(), "type": "pulumi:providers:command", "urn": "urn:pulumi:dev::orchestration::pulumi:providers:command::default_1_2_1"}
    (decision,) = decide(Deployment.from_export(export([("creating", provider)])), lambda operation: FakeEngine())
    assert decision.action == "rerun" and "provider" in decision.reason


def test_a_pending_create_of_a_component_resource_runs_again() -> None:
    """Seen with the real CLI (3.277): a kill while the images build left the AppImage components pending."""
    component = {**swarm_init(), "type": "orchestration:images:AppImage", "custom": False, "urn": "urn:pulumi:dev::orchestration::orchestration:images:AppImage::distributed_app-image"}
    (decision,) = decide(Deployment.from_export(export([("creating", component)])), lambda operation: FakeEngine())
    assert decision.action == "rerun" and "component" in decision.reason


def test_a_replacement_made_after_its_original_was_deleted_takes_the_originals_place(tmp_path: Path) -> None:
    """An up killed while a server is replaced delete-before-replace: the original, deleted, stays recorded
    as `pendingReplacement` before what depends on it; the replacement found running takes its place."""
    original = {**consul_container(), "id": "0" * 64, "pendingReplacement": True}
    readiness = resource(f"{PREFIX}command:local:Command::consul-1-ready", "command:local:Command", {"create": "wait"}, "ready")
    readiness["dependencies"] = [original["urn"]]
    replacement = consul_container("sha256:" + "d" * 64)
    document = export([("creating", replacement)])
    document["deployment"]["resources"] += [original, readiness]
    engine = FakeEngine()
    container_id = engine.run_container("dev-consul-1", "sha256:" + "d" * 64)
    cli = FakeCli(document)
    outcome = recover(STACK, backend_with(tmp_path, document), cli, lambda inputs: engine)
    assert outcome.refused == []
    resources = cli.document["deployment"]["resources"]
    assert [(r["urn"], r.get("id"), r.get("pendingReplacement")) for r in resources[2:]] == [
        (original["urn"], container_id, None), (readiness["urn"], "ready", None)
    ]
    assert cli.document["deployment"]["pending_operations"] == []


def test_an_adopted_object_is_recorded_after_what_it_needs_and_before_what_needs_it(tmp_path: Path) -> None:
    """As the engine records a create: after its provider and dependencies, before anything depending on
    it (a state holding a dependent first is one `pulumi stack import` refuses)."""
    container = {**consul_container(), "dependencies": [swarm_init()["urn"]]}
    init = {**swarm_init(), "id": "init"}
    ready = resource(f"{PREFIX}command:local:Command::consul-1-ready", "command:local:Command", {"create": "wait"}, "ready")
    ready["dependencies"] = [container["urn"]]
    document = export([("creating", container)])
    document["deployment"]["resources"] += [init, ready]
    engine = FakeEngine()
    engine.run_container("dev-consul-1")
    cli = FakeCli(document)
    assert recover(STACK, backend_with(tmp_path, document), cli, lambda inputs: engine).refused == []
    order = [r["urn"].rsplit("::", 1)[-1] for r in cli.document["deployment"]["resources"]]
    assert order == ["orchestration-dev", "local-engine", "swarm-init", "consul-consul-1-agent", "consul-1-ready"]
