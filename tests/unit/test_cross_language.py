"""The components as other languages get them: the schema the SDK's analyzer infers, and a component
built by the provider from what a caller in another language sends."""
from __future__ import annotations

import dataclasses
import inspect
import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pulumi
import pulumi_docker as docker
import pytest
import yaml
from pulumi.provider.experimental.component import ComponentProvider
from pulumi.provider.experimental.util import camel_case
from pulumi.provider.server import ProviderServicer
from pulumi.runtime.sync_await import _sync_await

import components
from components.cross_language import COMPONENTS, PACKAGE
from scripts.provider_schema import SCHEMA_FILE, schema
from tests.harness.inline import run_inline
from tests.support.recording import ComputedOutputs, RecordingMonitor, Registration

PROJECT_DIR = Path(__file__).resolve().parents[2]
EXPORTED = [
    value for value in map(components.__dict__.get, components.__all__) if inspect.isclass(value) and issubclass(value, pulumi.ComponentResource)
]


@pytest.fixture(scope="module")
def generated() -> dict[str, Any]:
    return schema()


def resource(generated: dict[str, Any], name: str) -> dict[str, Any]:
    return generated["resources"][f"{PACKAGE}:index:{name}"]


def plugin_version(package: str) -> str:
    return json.loads((Path(__import__(package).__file__).parent / "pulumi-plugin.json").read_text())["version"]


@pytest.mark.parametrize("component", EXPORTED, ids=lambda c: c.__name__)
def test_every_exported_component_is_in_the_schema_with_its_args_and_outputs(generated: dict[str, Any], component: type) -> None:
    spec = resource(generated, component.__name__)
    args_class = inspect.get_annotations(component.__init__, eval_str=True)["args"]
    fields = dataclasses.fields(args_class)
    assert spec["isComponent"] is True
    assert set(spec["inputProperties"]) == {camel_case(field.name) for field in fields}
    with_default = {f.name for f in fields if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING}
    assert set(spec.get("requiredInputs", [])) == {camel_case(f.name) for f in fields if f.name not in with_default}
    assert set(spec["properties"]) == {camel_case(name) for name in inspect.get_annotations(component)}
    assert spec["description"]


def property_specs(generated: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every property of every component (inputs and outputs) and type, array items and map values included."""

    def walk(where: str, spec: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
        yield where, spec
        for nested in ("items", "additionalProperties"):
            if nested in spec:
                yield from walk(f"{where}.{nested}", spec[nested])

    for token, spec in {**generated["resources"], **generated["types"]}.items():
        for group in ("inputProperties", "properties"):
            for name, prop in spec.get(group, {}).items():
                yield from walk(f"{token}.{group}.{name}", prop)


def test_every_property_has_a_type_and_none_is_any(generated: dict[str, Any]) -> None:
    specs = list(property_specs(generated))
    assert len(specs) > 100
    untyped = [where for where, spec in specs if "type" not in spec and "$ref" not in spec]
    anys = [where for where, spec in specs if spec.get("$ref") == "pulumi.json#/Any"]
    assert untyped == [] and anys == []


def test_what_the_python_api_takes_plain_is_plain_and_inputs_stay_inputs(generated: dict[str, Any]) -> None:
    cluster = resource(generated, "ConsulCluster")["inputProperties"]
    assert cluster["namePrefix"] == {"type": "string", "plain": True}
    assert cluster["readyTimeoutSeconds"] == {"type": "integer", "plain": True}
    assert {key: cluster["acl"][key] for key in ("type", "plain")} == {"type": "boolean", "plain": True}
    assert cluster["nodes"]["items"]["$ref"] == f"#/types/{PACKAGE}:index:ConsulNodeSpec"
    node = generated["types"][f"{PACKAGE}:index:ConsulNodeSpec"]["properties"]
    assert node["networkName"] == {"type": "string"}
    assert node["publishedPorts"]["items"]["$ref"] == f"#/types/{PACKAGE}:index:PublishedPort"
    port = generated["types"][f"{PACKAGE}:index:PublishedPort"]
    assert port["properties"]["external"] == {"type": "integer", "plain": True}
    assert port["required"] == ["external", "internal", "ip"]


def test_resources_cross_as_references_to_their_own_packages(generated: dict[str, Any]) -> None:
    docker_schema, consul_schema, command_schema = (
        f"/{name}/v{plugin_version(f'pulumi_{name}')}/schema.json" for name in ("docker", "consul", "command")
    )
    node = generated["types"][f"{PACKAGE}:index:ConsulNodeSpec"]["properties"]
    assert node["provider"]["$ref"] == f"{docker_schema}#/resources/pulumi:providers:docker"
    assert resource(generated, "DockerHost")["properties"]["provider"]["$ref"] == f"{docker_schema}#/resources/pulumi:providers:docker"
    assert resource(generated, "ConsulCluster")["properties"]["provider"]["$ref"] == f"{consul_schema}#/resources/pulumi:providers:consul"
    assert resource(generated, "SwarmCluster")["properties"]["ready"]["items"]["$ref"] == f"{command_schema}#/resources/command:local:Command"
    assert {dependency["name"] for dependency in generated["dependencies"]} == {"docker", "consul", "command"}


def test_the_committed_schema_is_the_one_the_components_give() -> None:
    # In a process of its own, as `make schema` and the provider make it: the analyzer reads field docstrings
    # from source and silently drops them when that fails, which other tests' module juggling can cause here.
    fresh = subprocess.run(
        [sys.executable, "-c", "from scripts.provider_schema import schema_text; print(schema_text(), end='')"],
        cwd=PROJECT_DIR, capture_output=True, text=True, check=True,
    ).stdout
    assert SCHEMA_FILE.read_text() == fresh, "provider/schema.json is stale: run `make schema`"


def test_the_plugin_runs_the_provider_on_python_with_every_component() -> None:
    plugin = yaml.safe_load((PROJECT_DIR / "provider" / "PulumiPlugin.yaml").read_text())
    assert plugin["runtime"]["name"] == "python"
    assert [component.__name__ for component in COMPONENTS] == [component.__name__ for component in EXPORTED]
    assert "main(component_provider(version(\"orchestration-components\")), sys.argv[1:])" in (PROJECT_DIR / "provider" / "__main__.py").read_text()


def construct_as_sent(
    resource_type: str, inputs: dict[str, Any], dependencies: dict[str, set[str]], wrapped: set[str]
) -> list[Registration]:
    """Runs the provider's construct under mocks on inputs wrapped as its server wraps what it receives;
    `wrapped` names the inputs that must come out of that wrapped in an output."""
    mocks = ComputedOutputs()
    monitor = RecordingMonitor(mocks)
    provider = ComponentProvider(COMPONENTS, PACKAGE)

    def program() -> None:
        engine = docker.Provider("engine", host="unix:///var/run/docker.sock")
        sent = {key: value(engine) if callable(value) else value for key, value in inputs.items()}
        received = {key: _sync_await(ProviderServicer._select_value(value, deps=dependencies.get(key, set()))) for key, value in sent.items()}
        assert {key for key, value in received.items() if isinstance(value, pulumi.Output)} == wrapped
        provider.construct("consul", resource_type, received, pulumi.ResourceOptions())

    run_inline(mocks, program, project="consumer", monitor=monitor)
    return list(monitor.registrations)


@pytest.mark.parametrize("wrapped", [True, False], ids=["nodes-wrapped-in-an-output", "outputs-inside-the-nodes"])
def test_a_cluster_sent_from_another_language_is_the_python_component(wrapped: bool) -> None:
    """Numbers come as floats and node specs as dicts. The provider's server wraps the whole list in an
    output when it depends on a resource (the provider it names) and holds no output itself; an output
    inside (a network name another component gives) leaves it a list the provider maps to Python names."""
    network = "xl-net" if wrapped else pulumi.Output.from_input("xl-net")
    registrations = construct_as_sent(
        f"{PACKAGE}:index:ConsulCluster",
        {
            "namePrefix": "xl",
            "datacenter": "dc1",
            "image": "consul:1.16",
            "nodes": lambda engine: [
                {
                    "nodeName": "consul-1",
                    "provider": engine,
                    "networkName": network,
                    "joinAddress": "consul-1",
                    "publishedPorts": [{"internal": 8500.0, "external": 18500.0, "ip": "127.0.0.1"}],
                }
            ],
            "httpAddress": "127.0.0.1:18500",
            "dnsAddress": "127.0.0.1:18600",
            "readyTimeoutSeconds": 60.0,
        },
        dependencies={"nodes": {"urn:pulumi:test::consumer::pulumi:providers:docker::engine"}},
        wrapped={"nodes"} if wrapped else set(),
    )
    by_name = {registration.name: registration for registration in registrations}
    assert by_name["consul"].type == f"{PACKAGE}:index:ConsulCluster"
    assert by_name["consul-consul-1"].type == "orchestration:consul:ConsulServer"
    agent = by_name["consul-consul-1-agent"]
    assert agent.provider_urn == by_name["engine"].urn
    assert agent.inputs["ports"] == [{"internal": 8500, "external": 18500, "ip": "127.0.0.1", "protocol": "tcp"}]
    assert agent.inputs["networksAdvanced"][0]["name"] == "xl-net"
    assert agent.inputs["name"] == "xl-consul-1"
    assert by_name["consul-ready"].inputs["environment"]["CONSUL_READY_TIMEOUT"] == "60"
    # Defaults of the Python args apply to what the caller left out (`ui`, `recursors`).
    assert "-ui" in agent.inputs["command"] and not any(arg.startswith("-recursor") for arg in agent.inputs["command"])
