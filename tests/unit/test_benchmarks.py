"""The benchmarks run once at their smallest size, so their code keeps working (no time is judged), and the setting plan time rests on."""
from __future__ import annotations

import gc
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
