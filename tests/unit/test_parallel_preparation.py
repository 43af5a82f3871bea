"""Work that only prepares (pulling an image, making a volume or a network) waits for nothing but its engine,
and workers wait for the KV settings they read, not for the whole catalog."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.unit.conftest import deploy

PROJECT_DIR = Path(__file__).resolve().parents[2]
PREPARATION = ("docker:index/remoteImage:RemoteImage", "docker:index/volume:Volume", "docker:index/network:Network")


def test_preparation_depends_on_no_other_resource() -> None:
    dev = deploy("dev", {"consulServers": 3})
    for registration in dev.registrations:
        if registration.type in PREPARATION:
            waited_for = [dev.by_urn(urn).name for urn in registration.dependencies if not urn.endswith("$pulumi:providers:docker::local-engine")]
            image_builds = [name for name in waited_for if name.endswith("-build") or name.endswith("-removal")]
            assert waited_for == image_builds, f"{registration.name} waits for {waited_for}"


def test_workers_wait_for_the_settings_not_the_catalogs_services() -> None:
    dev = deploy("dev")
    settings = dev.one("consul:index/keys:Keys", "catalog-kv").urn
    for worker in ("app-server1", "app-server2"):
        dependencies = dev.one("docker:index/container:Container", worker).dependencies
        assert settings in dependencies
        assert not any(name in urn for urn in dependencies for name in ("catalog-web", "catalog-redis", "catalog-node"))


def test_the_graph_benchmark_reports_a_real_chain(tmp_path: Path) -> None:
    out = tmp_path / "graph.json"
    subprocess.run([sys.executable, "-m", "benchmarks.graph_shape", "--out", str(out)], cwd=PROJECT_DIR, check=True, capture_output=True)
    rows = {row["scenario"]: row for row in json.loads(out.read_text())["rows"]}
    dev = deploy("dev")
    assert rows["dev"]["resources"] == sum(r.custom for r in dev.registrations)
    names = [step.split(" (")[0] for step in rows["dev"]["chain"]]
    by_name = {r.name: r for r in dev.registrations if r.custom}
    for before, after in zip(names, names[1:]):
        needed = by_name[after].dependencies | {by_name[after].provider_urn}
        assert by_name[before].urn in needed, f"{after} does not wait for {before}"
    assert rows["dev"]["longest_chain"] == len(names) >= rows["dev"]["needed_chain"]
