"""The sandbox stack under mocks: three Docker-in-Docker hosts and a registry, and a cluster stack fed by its outputs."""
from __future__ import annotations

from typing import Any, Mapping

import pytest

from components.docker_in_docker_host import dockerd_command
from stacks.config_values import ConfigError
from tests.support.program import run_program
from tests.support.recording import ComputedOutputs, RecordingMonitor, Registration
from tests.unit.conftest import Deployment, deploy, deploy_rejected

CONTAINER = "docker:index/container:Container"
VOLUME = "docker:index/volume:Volume"
SANDBOX = "organization/orchestration/sandbox"
ADDRESSES = {"larry": "10.77.0.11", "curly": "10.77.0.12", "moe": "10.77.0.13"}
# The chapter's: workers on larry and curly, the client on moe, a Consul server on each.
CHAPTER_ROLES = {"larry": ["consul-server", "app"], "curly": ["consul-server", "app"], "moe": ["consul-server", "client"]}


@pytest.fixture(scope="module")
def sandbox() -> Deployment:
    return deploy("sandbox")


def deploy_with_stacks(stack: str, overrides: dict[str, Any], stack_outputs: Mapping[str, Mapping[str, Any]]) -> Deployment:
    """Like `deploy`, with other stacks' outputs for StackReferences to read."""
    mocks = ComputedOutputs(stack_outputs)
    monitor = RecordingMonitor(mocks)
    outputs = run_program(mocks, stack, overrides, monitor=monitor)
    return Deployment(outputs, list(monitor.registrations))


def host_container(deployment: Deployment, host: str) -> dict[str, Any]:
    return deployment.one(CONTAINER, f"{host}-container").inputs


def test_one_host_container_per_host_on_its_fixed_address(sandbox: Deployment) -> None:
    network = sandbox.one("docker:index/network:Network", "hosts-network").inputs
    assert (network["name"], network["ipamConfigs"]) == ("sandbox-hosts", [{"subnet": "10.77.0.0/24", "gateway": "10.77.0.1"}])
    containers = {r.name for r in sandbox.of_type(CONTAINER)}
    assert containers == {"larry-container", "curly-container", "moe-container", "registry-container"}
    for host, address in ADDRESSES.items():
        container = host_container(sandbox, host)
        assert (container["name"], container["hostname"]) == (f"sandbox-{host}", host)
        assert container["networksAdvanced"] == [{"name": "sandbox-hosts", "ipv4Address": address}], host
        assert container["restart"] == "unless-stopped"


def test_each_host_runs_its_own_engine_trusting_the_registry(sandbox: Deployment) -> None:
    for host in ADDRESSES:
        container = host_container(sandbox, host)
        assert container["command"] == [
            "dockerd",
            "--host=unix:///var/run/docker.sock",
            "--host=tcp://0.0.0.0:2375",
            "--tls=false",
            f"--cgroup-parent=/nested-sandbox-{host}",
            "--insecure-registry=10.77.0.10:5000",
        ], host
        # `pulumi up` finishes only once every nested engine answers.
        assert container["healthcheck"]["tests"] == ["CMD", "docker", "info"]
        assert container["wait"] is True
        image = sandbox.one("docker:index/remoteImage:RemoteImage", f"{host}-image")
        assert image.inputs["name"] == "orchestration/dind-host:bookworm"
        assert image.urn in sandbox.one(CONTAINER, f"{host}-container").dependencies


def test_dockerd_command_lists_every_insecure_registry() -> None:
    command = dockerd_command("/nested-x", ["10.0.0.5:5000", "mirror:5000"])
    assert command[-3:] == ["--cgroup-parent=/nested-x", "--insecure-registry=10.0.0.5:5000", "--insecure-registry=mirror:5000"]
    assert not [flag for flag in dockerd_command("/nested-x", []) if flag.startswith("--insecure-registry")]


def test_hosts_run_privileged_by_default(sandbox: Deployment) -> None:
    for host in ADDRESSES:
        container = host_container(sandbox, host)
        assert container["privileged"] is True, host
        assert "capabilities" not in container and "securityOpts" not in container, host


def test_capability_list_instead_of_privileged_by_config(sandbox: Deployment) -> None:
    unprivileged = deploy("sandbox", {"sandboxPrivileged": False})
    for host in ADDRESSES:
        container = host_container(unprivileged, host)
        assert container["privileged"] is False, host
        assert container["capabilities"] == {"adds": ["ALL"], "drops": ["CAP_SYS_RESOURCE"]}, host
        # No `systempaths=unconfined`: the engine API refuses it (it is a docker CLI flag).
        assert container["securityOpts"] == ["seccomp=unconfined", "apparmor=unconfined"], host
        # Nothing else changes.
        same = {key: value for key, value in host_container(sandbox, host).items() if key != "privileged"}
        assert {key: value for key, value in container.items() if key not in ("privileged", "capabilities", "securityOpts")} == same


def test_engine_data_on_a_volume_cgroups_shared_run_on_tmpfs(sandbox: Deployment) -> None:
    for host in ADDRESSES:
        volume = sandbox.one(VOLUME, f"{host}-data")
        assert volume.inputs["name"] == f"sandbox-{host}-data"
        container = sandbox.one(CONTAINER, f"{host}-container")
        assert volume.urn in container.dependencies
        assert container.inputs["volumes"] == [
            {"volumeName": f"sandbox-{host}-data", "containerPath": "/var/lib/docker"},
            {"hostPath": "/sys/fs/cgroup", "containerPath": "/sys/fs/cgroup"},
        ]
        assert container.inputs["tmpfs"] == {"/run": ""}


def test_registry_on_its_fixed_address_from_the_configured_image() -> None:
    custom = deploy("sandbox", {"sandboxRegistryImage": "local/registry:test", "sandboxHostImage": "local/dind-host"})
    registry = custom.one(CONTAINER, "registry-container").inputs
    assert registry["name"] == "sandbox-registry"
    assert registry["networksAdvanced"] == [{"name": "sandbox-hosts", "ipv4Address": "10.77.0.10"}]
    assert registry["volumes"] == [{"volumeName": "sandbox-registry-data", "containerPath": "/var/lib/registry"}]
    assert custom.one("docker:index/remoteImage:RemoteImage", "registry-image").inputs["name"] == "local/registry:test"
    assert custom.one("docker:index/remoteImage:RemoteImage", "moe-image").inputs["name"] == "local/dind-host"
    assert custom.outputs["registry"] == "10.77.0.10:5000"


def test_children_are_named_after_their_component_and_parented_to_it(sandbox: Deployment) -> None:
    for component_type, name in [("orchestration:sandbox:DockerInDockerHost", host) for host in ADDRESSES] + [
        ("orchestration:sandbox:ImageRegistry", "registry")
    ]:
        component = sandbox.one(component_type, name)
        children = sandbox.children(component)
        assert sorted(child.name for child in children) == [f"{name}-container", f"{name}-data", f"{name}-image"]


def test_outputs_take_the_shape_of_the_cluster_hosts_config(sandbox: Deployment) -> None:
    assert sandbox.outputs == {
        "hosts": [
            {"name": host, "docker": f"tcp://{address}:2375", "address": address, "roles": CHAPTER_ROLES[host]}
            for host, address in ADDRESSES.items()
        ],
        "registry": "10.77.0.10:5000",
        "buildDockerHost": "tcp://10.77.0.11:2375",
        "dockerHosts": {host: f"tcp://{address}:2375" for host, address in ADDRESSES.items()},
        "addresses": ADDRESSES,
    }


def test_host_names_and_subnet_come_from_config() -> None:
    two = deploy("sandbox", {"sandboxHosts": ["shemp", "joe"], "sandboxSubnet": "192.168.50.0/28"})
    assert [(h["name"], h["address"]) for h in two.outputs["hosts"]] == [("shemp", "192.168.50.11"), ("joe", "192.168.50.12")]
    assert two.outputs["registry"] == "192.168.50.10:5000"
    assert {r.name for r in two.of_type(CONTAINER)} == {"shemp-container", "joe-container", "registry-container"}


def test_roles_are_the_chapters_at_any_size_or_set_per_host() -> None:
    five = ["larry", "curly", "moe", "shemp", "joe"]
    chapter = deploy("sandbox", {"sandboxHosts": five})
    assert {h["name"]: h["roles"] for h in chapter.outputs["hosts"]} == {
        "larry": ["consul-server", "app"], "curly": ["consul-server", "app"], "moe": ["consul-server", "app"],
        "shemp": ["app"], "joe": ["client"],
    }
    two = deploy("sandbox", {"sandboxHosts": ["shemp", "joe"]})
    assert [h["roles"] for h in two.outputs["hosts"]] == [["consul-server", "app"], ["client"]]
    chosen = deploy("sandbox", {"sandboxHosts": five, "sandboxRoles": {"curly": ["consul-server"], "moe": ["consul-server"]}})
    assert [h["roles"] for h in chosen.outputs["hosts"]] == [["consul-server", "app"], ["consul-server"], ["consul-server"], ["app"], ["client"]]
    # A cluster on it runs a client agent on the two hosts without a server.
    cluster = deploy_with_stacks("trial", {"environment": "cluster", "hostsFromStack": SANDBOX}, {SANDBOX: chosen.outputs})
    assert cluster.outputs["consulClientAgents"] == ["shemp", "joe"]


def registrations_shape(deployment: Deployment) -> list[tuple]:
    def shape(r: Registration) -> tuple:
        return (r.urn, r.parent, r.provider, sorted(r.dependencies), sorted(r.secret_inputs), repr(sorted(r.inputs.items())))

    return sorted(shape(r) for r in deployment.registrations)


def test_cluster_on_the_sandbox_outputs_is_the_cluster_on_hand_written_hosts(sandbox: Deployment) -> None:
    referenced = deploy_with_stacks("trial", {"environment": "cluster", "hostsFromStack": SANDBOX}, {SANDBOX: sandbox.outputs})
    hand_written = deploy(
        "trial",
        {
            "environment": "cluster",
            "hosts": sandbox.outputs["hosts"],
            "registry": "10.77.0.10:5000",
            "buildDockerHost": "tcp://10.77.0.11:2375",
        },
    )
    assert registrations_shape(referenced) == registrations_shape(hand_written)
    assert referenced.outputs == hand_written.outputs
    assert referenced.outputs["hosts"] == list(ADDRESSES)
    agent = referenced.one(CONTAINER, "consul-curly-agent").inputs
    assert "-advertise=10.77.0.12" in agent["command"]
    build = referenced.one("docker:index/image:Image", "distributed_app-image-build").inputs
    assert build["imageName"] == "10.77.0.10:5000/orchestration/distributed_app:trial"
    assert referenced.one("pulumi:providers:docker", "build-engine").inputs["host"] == "tcp://10.77.0.11:2375"


def test_a_registry_set_in_config_wins_over_the_stacks(sandbox: Deployment) -> None:
    overrides = {"environment": "cluster", "hostsFromStack": SANDBOX, "registry": "registry.example.com:5000"}
    cluster = deploy_with_stacks("trial", overrides, {SANDBOX: sandbox.outputs})
    build = cluster.one("docker:index/image:Image", "distributed_app-image-build").inputs
    assert build["imageName"] == "registry.example.com:5000/orchestration/distributed_app:trial"


BAD_SANDBOX_CONFIGS = {
    # Pulumi.yaml types these two keys, so the CLI refuses them before the program runs.
    "host names not a list": ({"sandboxHosts": "larry"}, "Stack 'sandbox' with configuration key 'sandboxHosts' must be of type 'array<string>'"),
    "no hosts": ({"sandboxHosts": []}, "config `orchestration:sandboxHosts`: []: expected a non-empty list of host names"),
    "host name not a DNS label": (
        {"sandboxHosts": ["larry", "Curly_1"]},
        "config `orchestration:sandboxHosts`: 'Curly_1' is not a lowercase DNS label",
    ),
    "the same host twice": ({"sandboxHosts": ["moe", "moe"]}, "config `orchestration:sandboxHosts`: duplicate host name ['moe']"),
    "subnet not CIDR": ({"sandboxSubnet": "10.77.0.0"}, "config `orchestration:sandboxSubnet`: '10.77.0.0': expected an IPv4 subnet"),
    "subnet too small for the hosts": (
        {"sandboxSubnet": "10.77.0.0/28", "sandboxHosts": ["a", "b", "c", "d", "e"]},
        "config `orchestration:sandboxSubnet`: '10.77.0.0/28' has no room for 5 hosts from .11 on",
    ),
    "a role for a host the sandbox has not": (
        {"sandboxRoles": {"shemp": ["app"]}},
        "config `orchestration:sandboxRoles.shemp`: is not a sandbox host; `orchestration:sandboxHosts` names ['larry', 'curly', 'moe']",
    ),
    "an unknown role": (
        {"sandboxRoles": {"moe": ["consul-client"]}},
        "config `orchestration:sandboxRoles.moe`: ['consul-client']: expected a list of ['consul-server', 'app', 'client']",
    ),
    "two Consul servers": (
        {"sandboxRoles": {"moe": ["client"]}},
        "config `orchestration:sandboxRoles`: 2 hosts have the role 'consul-server' (larry, curly); Consul needs an odd quorum: one of [1, 3, 5]",
    ),
    "no client anywhere": (
        {"sandboxRoles": {"moe": ["consul-server", "app"]}},
        "config `orchestration:sandboxRoles`: no host has the role 'client'",
    ),
    "privileged not a boolean": ({"sandboxPrivileged": "maybe"}, "Stack 'sandbox' with configuration key 'sandboxPrivileged' must be of type 'boolean'"),
    "empty host image": ({"sandboxHostImage": " "}, "config `orchestration:sandboxHostImage`: must not be empty"),
}


@pytest.mark.parametrize("overrides, message", BAD_SANDBOX_CONFIGS.values(), ids=BAD_SANDBOX_CONFIGS.keys())
def test_bad_sandbox_config_is_refused_before_anything_is_registered(overrides: dict, message: str) -> None:
    error, registered = deploy_rejected("sandbox", overrides)
    assert error.startswith(message), error
    assert registered == []


def test_hosts_and_hosts_from_stack_together_are_refused() -> None:
    error, registered = deploy_rejected("cluster", {"hostsFromStack": SANDBOX})
    assert error == "config `orchestration:hostsFromStack`: set either it or `orchestration:hosts`, not both"
    assert registered == []


def referenced_rejected(stack_outputs: Mapping[str, Any], **overrides: Any) -> tuple[str, list[Registration]]:
    mocks = ComputedOutputs({SANDBOX: stack_outputs})
    monitor = RecordingMonitor(mocks)
    with pytest.raises(ConfigError) as refused:
        run_program(mocks, "trial", {"environment": "cluster", "hostsFromStack": SANDBOX, **overrides}, monitor=monitor)
    # The stack reference is read, not registered: nothing is.
    return str(refused.value), list(monitor.registrations)


def test_referenced_hosts_get_the_checks_hand_written_ones_do(sandbox: Deployment) -> None:
    two_servers = [dict(host) for host in sandbox.outputs["hosts"]]
    two_servers[2]["roles"] = ["client"]
    bad_address = [dict(host) for host in sandbox.outputs["hosts"]]
    bad_address[1]["address"] = "curly"
    cases = {
        "config `orchestration:hostsFromStack`: 2 hosts have the role 'consul-server'": {**sandbox.outputs, "hosts": two_servers},
        "config `orchestration:hostsFromStack[1].address`: 'curly' is not an IP address": {**sandbox.outputs, "hosts": bad_address},
        f"config `orchestration:hostsFromStack`: stack '{SANDBOX}' has no `hosts` output": {"registry": "10.77.0.10:5000"},
        "config `orchestration:registry`: required for the cluster environment": {"hosts": sandbox.outputs["hosts"]},
    }
    for message, outputs in cases.items():
        error, registered = referenced_rejected(outputs)
        assert error.startswith(message), error
        assert registered == []
