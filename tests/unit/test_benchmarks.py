"""The benchmarks run once at their smallest size, so their code keeps working (no time is judged), and the setting plan time rests on."""
from __future__ import annotations

import gc
import importlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Optional

import pulumi

from benchmarks.plan_program import plan, plan_bare_inputs
from stacks import collector
from tests.support.program import run_program
from tests.support.recording import ComputedOutputs
from tests.unit.conftest import deploy

PROJECT_DIR = Path(__file__).resolve().parents[2]


def test_plan_time_plans_what_the_program_declares(tmp_path: Path) -> None:
    out = tmp_path / "plan_time.json"
    subprocess.run([sys.executable, "-m", "benchmarks.plan_time", "--smallest", "--out", str(out)], cwd=PROJECT_DIR, check=True, capture_output=True, text=True)
    results = json.loads(out.read_text())
    rows = {row["scenario"]: row for row in results["rows"]}
    assert rows["dev"]["resources"] == len(deploy("dev").registrations)
    assert rows["hosts-10"]["resources"] > rows["dev"]["resources"]
    for row in rows.values():
        assert row["seconds"] > 0 and row["bare_seconds"] > 0 and row["same_inputs_seconds"] > 0 and row["peak_rss_mib"] > 0
    assert results["machine"]["cores"] >= 1


def test_the_same_inputs_floor_registers_what_the_program_does_through_as_many_properties(tmp_path: Path) -> None:
    capture = tmp_path / "registrations.json"
    program = plan("dev", capture)
    captured = json.loads(capture.read_text())
    # A Container passes every property its SDK class declares, set or not.
    assert min(properties for kind, _, _, properties in captured if kind == "docker:index/container:Container") > 50
    floor = plan_bare_inputs(captured)
    assert _by_name(floor) == _by_name(program)


def _by_name(registrations: list) -> dict:
    return {(r.type, r.name): r.inputs for r in registrations}


class _SeesTheCollector(ComputedOutputs):
    def __init__(self) -> None:
        super().__init__()
        self.thresholds: set[tuple[int, int, int]] = set()
        self.frozen: list[int] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[Optional[str], dict]:
        self.thresholds.add(gc.get_threshold())
        self.frozen.append(gc.get_freeze_count())
        return super().new_resource(args)


def test_the_program_registers_with_the_relaxed_collector_past_what_it_declared_and_gives_the_tests_theirs_back() -> None:
    before = gc.get_threshold()
    mocks = _SeesTheCollector()
    run_program(mocks, "dev")
    assert mocks.thresholds == {collector.THRESHOLDS}
    # Registrations run once the program has declared everything, so every one sees it frozen.
    assert min(mocks.frozen) > 0
    assert gc.get_threshold() == before != collector.THRESHOLDS
    assert gc.get_freeze_count() == 0


def test_the_runner_lists_every_benchmark_and_no_helper() -> None:
    listed = subprocess.run([sys.executable, "-m", "benchmarks", "--list"], cwd=PROJECT_DIR, check=True, capture_output=True, text=True).stdout.split()
    assert {"plan_time", "graph_shape", "discovery", "converge"} <= set(listed)
    assert listed[:2] == ["plan_time", "graph_shape"]  # the ones under mocks first
    assert not {"plan_program", "plots", "__main__", "__init__"} & set(listed)
    for name in listed:
        assert callable(importlib.import_module(f"benchmarks.{name}").main), name


def test_the_runner_refuses_a_benchmark_that_does_not_exist() -> None:
    completed = subprocess.run([sys.executable, "-m", "benchmarks", "--only", "nonesuch"], cwd=PROJECT_DIR, capture_output=True, text=True)
    assert completed.returncode == 2
    assert "no such benchmark: nonesuch" in completed.stderr


def test_plots_are_drawn_from_the_results_json(tmp_path: Path) -> None:
    results = tmp_path / "results"
    results.mkdir()
    (results / "plan_time.json").write_text((PROJECT_DIR / "benchmarks" / "results" / "plan_time.json").read_text())
    (results / "converge.json").write_text(json.dumps({
        "rounds": 1,
        "results": {"harness": {"up": 19.3, "no-change up": 0.3, "down": 3.5}, "docker compose": {"up": 20.1, "no-change up": 4.0, "down": 2.5}},
        "ratio_harness_to_compose": {"up": 0.96, "no-change up": 0.07, "down": 1.36},
    }))
    subprocess.run([sys.executable, "-m", "benchmarks.plots", "--results", str(results), "--out-dir", str(tmp_path)], cwd=PROJECT_DIR, check=True, capture_output=True)
    for name in ("plan_time.png", "converge.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name


def test_a_plot_without_its_results_is_left_out(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "benchmarks.plots", "--results", str(tmp_path), "--out-dir", str(tmp_path)], cwd=PROJECT_DIR, check=True, capture_output=True)
    assert list(tmp_path.glob("*.png")) == []


def test_converge_compares_dev_without_its_swarm_and_nothing_else_left_out() -> None:
    from benchmarks.without_swarm import without_swarm
    from benchmarks.graph_shape import registrations

    whole = {(r.type, r.name) for r in registrations("dev", {})}
    with without_swarm():
        compared = {(r.type, r.name) for r in registrations("dev", {})}
    left_out = whole - compared
    assert compared < whole
    assert {name for kind, name in left_out if kind == "docker:index/service:Service"} == {"heyworld-service", "heyworld-global-service"}
    # Besides the services, only the swarm's own commands and the services' image.
    assert {name for kind, name in left_out if kind == "command:local:Command"} == {"swarm-init", "swarm-worker-token"}
    assert {kind for kind, _ in left_out} == {"docker:index/service:Service", "command:local:Command", "docker:index/remoteImage:RemoteImage"}


def test_docker_timestamps_are_read_to_the_nanosecond_and_in_utc() -> None:
    from benchmarks.converge import wall_time

    assert wall_time("1970-01-01T00:00:01.250000000Z") == 1.25
    assert wall_time("1970-01-01T00:01:00Z") == 60.0


def test_the_edit_loop_times_each_command_of_make_up_and_splits_pulumi_ups_preview_off() -> None:
    from benchmarks.edit_loop import phases

    log = (
        "100.00\t100.25\tpulumi stack select --create dev --secrets-provider passphrase\n"
        "100.25\t100.50\tvenv/bin/python -m scripts.recover --stack dev\n"
        "100.50\t109.00\tpulumi up --yes --stack dev\n"
    )
    assert phases(log, update_began=103.5) == {
        "pulumi stack select": 0.25, "python -m scripts.recover": 0.25, "pulumi up --yes": 8.5, "  of which the preview": 3.0,
    }
    assert phases(log, update_began=None) == {"pulumi stack select": 0.25, "python -m scripts.recover": 0.25, "pulumi up --yes": 8.5}


def test_the_edit_loops_timing_shell_runs_the_command_and_logs_it(tmp_path: Path) -> None:
    from benchmarks.edit_loop import TIMING_SHELL, phases

    shell, log = tmp_path / "shell", tmp_path / "log"
    shell.write_text(TIMING_SHELL)
    shell.chmod(0o755)
    (tmp_path / "Makefile").write_text("up:\n\t@echo made > made.txt\n\texit 3\n")
    completed = subprocess.run(["make", "up", f"SHELL={shell}"], cwd=tmp_path, env={"PATH": "/usr/bin:/bin", "MAKE_PHASES_LOG": str(log)}, capture_output=True, text=True)
    assert completed.returncode != 0 and (tmp_path / "made.txt").read_text() == "made\n"
    assert list(phases(log.read_text(), None)) == ["echo made >", "exit 3"]


def test_the_preview_benchmark_compares_each_stack_with_the_empty_program_run_beside_it() -> None:
    from benchmarks.preview import THREE_SERVERS, ratios

    assert ratios({"dev": 3.0, "empty program": 1.5}) == {"dev / empty program": 2.0}
    best = {"dev": 3.0, "empty program": 1.5, THREE_SERVERS: 4.0, f"empty program, beside {THREE_SERVERS}": 1.6}
    assert ratios(best) == {"dev / empty program": 2.0, "three servers / empty program": 2.5}
