"""`retain_on_delete` through the harness, as the Pulumi engine treats it: replace and destroy leave the resource where it is."""
from __future__ import annotations

import contextlib
import secrets
from pathlib import Path

import docker
import docker.errors
import pulumi
import pulumi_docker as pdocker
import pytest

from tests.harness import ApplyHarness
from tests.harness.inline import run_inline

pytestmark = pytest.mark.docker

VOLUME = "docker:index/volume:Volume"


def test_a_retained_volume_outlives_replace_and_destroy_and_is_taken_up_again(tmp_path: Path) -> None:
    engine = docker.from_env()
    prefix = f"rx{secrets.token_hex(3)}"
    declared = {"name": f"{prefix}-data"}

    def program() -> None:
        pdocker.Volume("data", name=declared["name"], opts=pulumi.ResourceOptions(retain_on_delete=True))

    harness = ApplyHarness(project_dir=tmp_path, state_file=tmp_path / "state.json")
    try:
        harness.apply(lambda: run_inline(harness, program))
        created = engine.volumes.get(f"{prefix}-data").attrs["CreatedAt"]

        declared["name"] = f"{prefix}-renamed"  # a new name replaces it: the old one stays
        harness.apply(lambda: run_inline(harness, program))
        assert harness.last_run.changes() == [("replace", VOLUME, "data")]
        assert engine.volumes.get(f"{prefix}-data")

        harness.destroy()
        assert len(harness.state) == 0
        assert engine.volumes.get(f"{prefix}-renamed")

        declared["name"] = f"{prefix}-data"  # declared again, the volume of that name is taken up as it is
        harness.apply(lambda: run_inline(harness, program))
        assert engine.volumes.get(f"{prefix}-data").attrs["CreatedAt"] == created
        harness.destroy()
    finally:
        harness.close()
        for name in (f"{prefix}-data", f"{prefix}-renamed"):
            with contextlib.suppress(docker.errors.NotFound):
                engine.volumes.get(name).remove(force=True)
        engine.close()
