"""What the providers read back, and the next apply diffed against it (`pulumi refresh` included), so
that what the engine reports differently from what was declared shows in the harness as with the CLI.

The cases are the ones the real CLI met after the first day: a network's gateway that the engine
reports only after a restart (and `ipam_config` replaces), capabilities the engine renames, a
container stopped or removed behind Pulumi's back, the platforms a service's create takes from the
registry.
"""
from __future__ import annotations

import dataclasses

import pulumi_docker as pdocker
import pytest

from components.engine_forms import capability, ipam_pool
from tests.harness import ApplyHarness
from tests.harness.conftest import free_subnet
from tests.harness.docker_containers import Container
from tests.harness.docker_resources import Network
from tests.harness.docker_services import Service
from tests.harness.mocks import ignoring
from tests.harness.inline import run_inline
from tests.harness.local_images import BASE_IMAGE
from tests.harness.state import ResourceRecord

NETWORK = "docker:index/network:Network"
SERVICE = "docker:index/service:Service"
CONTAINER = "docker:index/container:Container"


def network_record(declared: list[dict], read_back: list[dict]) -> ResourceRecord:
    inputs = {"name": "n", "driver": "bridge", "ipamConfigs": declared}
    return ResourceRecord("urn", NETWORK, "n", "id", inputs, {**inputs, "ipamConfigs": read_back}, {})


@pytest.mark.parametrize(
    ("declared", "read_back", "plan"),
    [
        # What the engine says after a restart of a network made with a subnet only.
        ([{"subnet": "172.29.0.0/24"}], [{"subnet": "172.29.0.0/24", "gateway": "172.29.0.1"}], "replace"),
        ([{"subnet": "172.29.0.0/24", "gateway": "172.29.0.1"}], [{"subnet": "172.29.0.0/24", "gateway": "172.29.0.1"}], "same"),
        # Optional and Computed: left out, whatever the engine chose stands.
        (None, [{"subnet": "172.18.0.0/16", "gateway": "172.18.0.1"}], "same"),
    ],
    ids=["gateway-read-back", "gateway-declared", "pools-undeclared"],
)
def test_a_network_is_diffed_against_the_pools_read_back(declared, read_back, plan) -> None:
    record = network_record(declared, read_back)
    assert Network().plan(record, {**record.inputs}, {}) == plan



@pytest.mark.parametrize(("declared", "plan"), [(["SYS_RESOURCE"], "replace"), ([capability("SYS_RESOURCE")], "same")])
def test_a_container_is_diffed_against_the_capabilities_read_back(declared, plan) -> None:
    """Reported on a refresh of the sandbox's hosts: an engine that names the dropped one CAP_SYS_RESOURCE."""
    inputs = {"name": "c", "image": "i", "capabilities": {"drops": declared}}
    record = ResourceRecord("urn", CONTAINER, "c", "id", inputs, {**inputs, "capabilities": {"adds": [], "drops": ["CAP_SYS_RESOURCE"]}}, {})
    assert Container().plan(record, dict(inputs), {}) == plan


@pytest.mark.docker
def test_refresh_reads_capabilities_as_the_engine_stores_them(engine, harness: ApplyHarness, prefix) -> None:
    declared = [capability("SYS_RESOURCE")]

    def program() -> None:
        pdocker.Container(
            "box", name=f"{prefix}-box", image=BASE_IMAGE, command=["sleep", "600"], capabilities=pdocker.ContainerCapabilitiesArgs(drops=declared)
        )

    harness.apply(lambda: run_inline(harness, program))
    harness.apply(lambda: run_inline(harness, program), refresh=True)
    (box,) = [record for record in harness.state if record.name == "box"]
    assert box.outputs["capabilities"]["drops"] == engine.api.inspect_container(f"{prefix}-box")["HostConfig"]["CapDrop"]
    assert harness.last_run.changes() == []


@pytest.mark.docker
def test_refresh_of_a_network_with_its_gateway_declared_proposes_nothing(engine, harness: ApplyHarness, prefix) -> None:
    subnet = free_subnet(engine)

    def program() -> None:
        pdocker.Network("net", name=f"{prefix}-net", ipam_configs=[ipam_pool(subnet)])

    harness.apply(lambda: run_inline(harness, program))
    assert engine.api.inspect_network(f"{prefix}-net")["IPAM"]["Config"][0]["Gateway"] == subnet.replace(".0/24", ".1")
    harness.apply(lambda: run_inline(harness, program), refresh=True)
    assert harness.runs[-2].names("update", "delete") == []
    assert harness.last_run.changes() == []


@pytest.mark.docker
def test_refresh_drops_what_is_gone_and_deletes_a_stopped_container(engine, harness: ApplyHarness, prefix) -> None:
    """resourceDockerContainerRead: a container not running when refreshed is removed (mustRun)."""

    def program() -> None:
        pdocker.Container("stopped", name=f"{prefix}-stopped", image=BASE_IMAGE, command=["sleep", "600"])
        pdocker.Container("removed", name=f"{prefix}-removed", image=BASE_IMAGE, command=["sleep", "600"])
        pdocker.Container("kept", name=f"{prefix}-kept", image=BASE_IMAGE, command=["sleep", "600"])

    harness.apply(lambda: run_inline(harness, program))
    engine.api.stop(f"{prefix}-stopped", timeout=1)
    engine.api.remove_container(f"{prefix}-removed", force=True)

    refreshed = harness.refresh()
    assert sorted(refreshed.names("delete")) == [("delete", CONTAINER, f) for f in ("removed", "stopped")]
    assert [c["Names"] for c in engine.api.containers(all=True, filters={"name": f"{prefix}-stopped"})] == []
    harness.apply(lambda: run_inline(harness, program))
    assert sorted(harness.last_run.changes()) == [("create", CONTAINER, "removed"), ("create", CONTAINER, "stopped")]


@pytest.mark.docker
def test_after_a_failed_update_a_refresh_makes_the_next_apply_finish_it(engine, harness: ApplyHarness, prefix) -> None:
    """A memory update that failed (its host lost) is stored as the bridge hands it back: the new limit in
    inputs and outputs. The refresh reads the old limit back; the next apply must then change the
    container, diffing and updating against what was read, not against the inputs that failed."""

    def program(memory: int):
        return lambda: pdocker.Container("box", name=f"{prefix}-box", image=BASE_IMAGE, command=["sleep", "600"], memory=memory)

    harness.apply(lambda: run_inline(harness, program(96)))
    (box,) = [record for record in harness.state if record.name == "box"]
    failed_inputs = {**box.inputs, "memory": 64}
    harness.state.put(dataclasses.replace(box, inputs=failed_inputs, outputs={**box.outputs, **failed_inputs}), new_order=False)
    harness.refresh()
    harness.apply(lambda: run_inline(harness, program(64)))
    assert harness.last_run.changes() == [("update", CONTAINER, "box")]
    assert engine.api.inspect_container(f"{prefix}-box")["HostConfig"]["Memory"] == 64 * 2**20


@pytest.mark.parametrize(("ignored", "plan"), [((), "update"), (("taskSpec.placement.platforms",), "same")])
def test_a_service_created_from_a_registry_is_diffed_against_its_platforms(ignored, plan) -> None:
    """The create queried the registry and the engine placed the tasks on what it serves (seen with the
    real CLI on the sandbox cluster: the first preview after `up` proposed an update)."""
    task = {"containerSpec": {"image": "registry:5000/app@sha256:1"}, "placement": {"constraints": ["node.role==worker"]}}
    inputs = {"name": "s", "taskSpec": task}
    read = {**task, "placement": {**task["placement"], "platforms": [{"architecture": "amd64", "os": "linux"}]}}
    record = ResourceRecord("urn", SERVICE, "s", "id", inputs, {**inputs, "taskSpec": read}, {})
    diffed, planned = ignoring(record, dict(inputs), ignored)
    assert Service().plan(diffed, planned, {}) == plan
