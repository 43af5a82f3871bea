"""The example under Pulumi mocks, importing nothing but the installed package and Pulumi."""
from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path

import pulumi
import pytest
import yaml
from pulumi.runtime import settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

EXAMPLE = Path(__file__).resolve().parents[1]
CONTAINER = "docker:index/container:Container"


class Recording(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.resources: list[tuple[str, str, dict]] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        self.resources.append((args.typ, args.name, dict(args.inputs)))
        outputs = dict(args.inputs)
        if args.typ == "docker:index/remoteImage:RemoteImage":
            outputs.update(imageId=f"sha256:{args.name}", repoDigest="")
        if args.typ.startswith("command:"):
            outputs.update(stdout=f"{args.name}-out", stderr="")
        return f"{args.name}-id", outputs

    def call(self, args):
        raise NotImplementedError(args.token)

    def named(self, typ: str) -> dict[str, dict]:
        return {name: inputs for found, name, inputs in self.resources if found == typ}


@pytest.fixture(scope="module")
def program() -> Recording:
    mocks = Recording()
    project = yaml.safe_load((EXAMPLE / "Pulumi.yaml").read_text())
    config = {f"{project['name']}:{key}": spec["default"] for key, spec in project["config"].items()}
    settings.set_root_resource(None)
    pulumi.runtime.set_mocks(mocks, project=project["name"], stack="test", preview=False)
    pulumi.runtime.set_all_config({key: value if isinstance(value, str) else json.dumps(value) for key, value in config.items()})
    _sync_await(run_pulumi_func(lambda: runpy.run_path(str(EXAMPLE / "__main__.py"), run_name="__main__")))
    return mocks


def test_it_runs_on_the_installed_package() -> None:
    import components

    assert Path(components.__file__).is_relative_to(sys.prefix), components.__file__


def test_five_servers_expect_five_and_join_the_others(program: Recording) -> None:
    containers = program.named(CONTAINER)
    servers = {name: inputs for name, inputs in containers.items() if name.startswith("consul-") and name.endswith("-agent")}
    assert sorted(servers) == [f"consul-consul-{index}-agent" for index in range(1, 6)]
    for name, inputs in servers.items():
        assert "-bootstrap-expect=5" in inputs["command"], name
        assert len([flag for flag in inputs["command"] if flag.startswith("-retry-join=")]) == 4, name
    assert [p["external"] for p in servers["consul-consul-1-agent"]["ports"]] == [18500]


def test_one_worker_beside_each_server_registers_with_it(program: Recording) -> None:
    containers = program.named(CONTAINER)
    for index in range(1, 6):
        worker = containers[f"worker-consul-{index}-worker-consul-{index}"]
        assert f"CONSUL_HTTP_ADDR=http://consul-{index}:8500" in worker["envs"]
        assert worker["name"] == f"five-test-worker-consul-{index}"


def test_a_replicated_swarm_service(program: Recording) -> None:
    service = program.named("docker:index/service:Service")["hello-service"]
    assert service["name"] == "five-test-hello"
    assert service["mode"] == {"replicated": {"replicas": 2}}
