"""The apply harness's translation, checked against a real Docker engine.

Each test declares tiny throwaway resources in an inline Pulumi program, applies
it through ApplyHarness, and reads the result back with `docker inspect` (via
docker-py) to show that every property landed the way pulumi-docker documents.
All names carry a per-session random prefix; every test destroys what it made.
"""
from __future__ import annotations

import contextlib
import io
import json
import socket
import subprocess
import tarfile
import threading
import time
import urllib.parse
import urllib.request

import docker
import docker.errors
import pulumi
import pulumi_command as command
import pulumi_consul as consulp
import pulumi_docker as pdocker
import pytest

from tests.harness import ApplyHarness, HarnessError
from tests.harness.inline import run_inline
from tests.harness.conftest import free_subnet
from tests.harness.engine import objects_named_with as leftovers
from tests.harness.local_images import BASE_IMAGE, build_consul_image

pytestmark = pytest.mark.docker

HTTP_SERVER = ["python3", "-m", "http.server", "8000"]
HTTP_CHECK = ["CMD", "python3", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/', timeout=2)"]


def exec_text(engine: docker.DockerClient, container: str, *argv: str) -> str:
    result = engine.containers.get(container).exec_run(list(argv))
    assert result.exit_code == 0, result.output.decode()
    return result.output.decode()


# --------------------------------------------------------------------------- network and volume


def test_network_and_volume_land_as_declared(engine, harness, prefix) -> None:
    subnet = free_subnet(engine)
    gateway = subnet.replace(".0/24", ".1")

    def program() -> None:
        network = pdocker.Network(
            "net",
            name=f"{prefix}-net",
            driver="bridge",
            ipam_configs=[pdocker.NetworkIpamConfigArgs(subnet=subnet, gateway=gateway)],
            attachable=True,
            internal=True,
            labels=[pdocker.NetworkLabelArgs(label="suite", value="harness")],
        )
        volume = pdocker.Volume("vol", name=f"{prefix}-vol", labels=[pdocker.VolumeLabelArgs(label="suite", value="harness")])
        pulumi.export("network_id", network.id)
        pulumi.export("scope", network.scope)
        pulumi.export("looked_up", pdocker.get_network_output(name=network.name).id)  # the getNetwork invoke
        pulumi.export("volume", volume.name)

    outputs = harness.apply(lambda: run_inline(harness, program))

    found = engine.api.inspect_network(f"{prefix}-net")
    assert found["Id"] == outputs["network_id"]
    assert found["IPAM"]["Config"] == [{"Subnet": subnet, "Gateway": gateway}]
    assert (found["Driver"], found["Attachable"], found["Internal"]) == ("bridge", True, True)
    assert found["Labels"] == {"suite": "harness"}
    assert outputs["scope"] == "local"
    assert outputs["looked_up"] == found["Id"]
    volume = engine.api.inspect_volume(f"{prefix}-vol")
    assert (volume["Driver"], volume["Labels"]) == ("local", {"suite": "harness"})
    assert outputs["volume"] == f"{prefix}-vol"


# --------------------------------------------------------------------------- container


def test_container_properties_land_as_pulumi_docker_documents(engine, harness, prefix, tmp_path) -> None:
    subnet = free_subnet(engine)
    fixed_ip = subnet.replace(".0/24", ".50")
    host_dir = tmp_path / "shared"
    host_dir.mkdir()
    (host_dir / "note.txt").write_text("from the host")

    def program() -> None:
        network = pdocker.Network("net", name=f"{prefix}-net", ipam_configs=[pdocker.NetworkIpamConfigArgs(subnet=subnet)])
        volume = pdocker.Volume("vol", name=f"{prefix}-vol")
        image = pdocker.RemoteImage("base", name=BASE_IMAGE, keep_locally=True)
        web = pdocker.Container(
            "web",
            name=f"{prefix}-web",
            image=image.image_id,
            command=HTTP_SERVER,
            working_dir="/srv",
            hostname="webhost",
            envs=["GREETING=hello world", "EMPTY="],
            ports=[
                pdocker.ContainerPortArgs(internal=8000),  # documented defaults: ip 0.0.0.0, tcp, random external
                pdocker.ContainerPortArgs(internal=8000, ip="127.0.0.1", protocol="udp"),
            ],
            networks_advanced=[pdocker.ContainerNetworksAdvancedArgs(name=network.name, aliases=["web", "www"], ipv4_address=fixed_ip)],
            volumes=[
                pdocker.ContainerVolumeArgs(volume_name=volume.name, container_path="/data"),
                pdocker.ContainerVolumeArgs(host_path=str(host_dir), container_path="/host", read_only=True),
            ],
            healthcheck=pdocker.ContainerHealthcheckArgs(tests=HTTP_CHECK, interval="1s", timeout="2s", start_period="500ms", retries=3),
            wait=True,
            wait_timeout=30,
            labels=[pdocker.ContainerLabelArgs(label="role", value="web")],
            uploads=[
                pdocker.ContainerUploadArgs(file="/srv/index.html", content="uploaded page"),
                pdocker.ContainerUploadArgs(file="/usr/local/bin/hello", content="#!/bin/sh\necho hello\n", executable=True),
            ],
            dns=["10.213.9.9"],
            dns_searches=["example.internal"],
            restart="on-failure",
            max_retry_count=3,
            capabilities=pdocker.ContainerCapabilitiesArgs(drops=["NET_RAW"]),
            tmpfs={"/scratch": "size=1m"},
            init=True,
            stop_signal="SIGINT",
        )
        plain = pdocker.Container("plain", name=f"{prefix}-plain", image=image.image_id, command=["sleep", "600"])
        pulumi.export("network_datas", web.network_datas)
        pulumi.export("ports", web.ports)
        pulumi.export("web_id", web.id)
        pulumi.export("plain_name", plain.name)

    outputs = harness.apply(lambda: run_inline(harness, program))
    web = engine.api.inspect_container(f"{prefix}-web")
    config, host = web["Config"], web["HostConfig"]

    assert web["Id"] == outputs["web_id"]
    assert config["Cmd"] == HTTP_SERVER and config["WorkingDir"] == "/srv" and config["Hostname"] == "webhost"
    assert {"GREETING=hello world", "EMPTY="} <= set(config["Env"])
    assert config["Labels"] == {"role": "web"}
    assert config["StopSignal"] == "SIGINT"
    assert config["Healthcheck"] == {"Test": HTTP_CHECK, "Interval": 10**9, "Timeout": 2 * 10**9, "StartPeriod": 5 * 10**8, "Retries": 3}
    assert web["State"]["Health"]["Status"] == "healthy"  # wait=True returned only once healthy
    # Ports: defaults ip 0.0.0.0 / tcp / random external; explicit ip and protocol kept.
    bindings = host["PortBindings"]
    assert bindings["8000/tcp"] == [{"HostIp": "0.0.0.0", "HostPort": ""}]
    assert bindings["8000/udp"] == [{"HostIp": "127.0.0.1", "HostPort": ""}]
    tcp = next(p for p in outputs["ports"] if p["protocol"] == "tcp")
    assert tcp["ip"] == "0.0.0.0" and tcp["external"] >= 1024
    assert urllib.request.urlopen(f"http://127.0.0.1:{tcp['external']}/index.html", timeout=5).read() == b"uploaded page"
    # Networks: off the default bridge, on ours with the aliases and the fixed address.
    networks = web["NetworkSettings"]["Networks"]
    assert set(networks) == {f"{prefix}-net"}
    assert {"web", "www"} <= set(networks[f"{prefix}-net"]["Aliases"])
    assert networks[f"{prefix}-net"]["IPAMConfig"]["IPv4Address"] == fixed_ip
    assert outputs["network_datas"] == [
        {
            "network_name": f"{prefix}-net",
            "ip_address": fixed_ip,
            "ip_prefix_length": 24,
            "gateway": subnet.replace(".0/24", ".1"),
            "mac_address": networks[f"{prefix}-net"]["MacAddress"],
            "global_ipv6_address": "",
            "global_ipv6_prefix_length": 0,
            "ipv6_gateway": "",
        }
    ]
    # Volumes: named volume read-write, host path read-only.
    mounts = {m["Destination"]: m for m in web["Mounts"]}
    assert (mounts["/data"]["Type"], mounts["/data"]["Name"], mounts["/data"]["RW"]) == ("volume", f"{prefix}-vol", True)
    assert (mounts["/host"]["Type"], mounts["/host"]["Source"], mounts["/host"]["RW"]) == ("bind", str(host_dir), False)
    assert exec_text(engine, f"{prefix}-web", "cat", "/host/note.txt") == "from the host"
    # Uploads: content and the executable bit (0744), as the provider writes them.
    assert exec_text(engine, f"{prefix}-web", "stat", "-c", "%a", "/srv/index.html").strip() == "644"
    assert exec_text(engine, f"{prefix}-web", "stat", "-c", "%a", "/usr/local/bin/hello").strip() == "744"
    assert exec_text(engine, f"{prefix}-web", "hello") == "hello\n"
    # DNS, restart policy, capabilities, tmpfs, init.
    assert (host["Dns"], host["DnsSearch"]) == (["10.213.9.9"], ["example.internal"])
    assert "nameserver 10.213.9.9" not in exec_text(engine, f"{prefix}-web", "cat", "/etc/resolv.conf")  # embedded DNS fronts it
    assert "search example.internal" in exec_text(engine, f"{prefix}-web", "cat", "/etc/resolv.conf")
    assert host["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    assert host["CapDrop"] == ["NET_RAW"] and host["Tmpfs"] == {"/scratch": "size=1m"} and host["Init"] is True
    # Defaults of an unadorned container: restart "no", default bridge, daemon's init default.
    plain = engine.api.inspect_container(f"{prefix}-plain")
    assert plain["HostConfig"]["RestartPolicy"]["Name"] in ("no", "")
    assert set(plain["NetworkSettings"]["Networks"]) == {"bridge"}
    assert plain["HostConfig"].get("Init") is None


def test_network_aliases_resolve_for_other_containers(engine, harness, prefix) -> None:
    def program() -> None:
        network = pdocker.Network("net", name=f"{prefix}-net")
        for name, aliases in (("a", ["alpha"]), ("b", [])):
            pdocker.Container(
                name,
                name=f"{prefix}-{name}",
                image=BASE_IMAGE,
                command=["sleep", "600"],
                networks_advanced=[pdocker.ContainerNetworksAdvancedArgs(name=network.name, aliases=aliases)],
            )

    harness.apply(lambda: run_inline(harness, program))
    address = engine.api.inspect_container(f"{prefix}-a")["NetworkSettings"]["Networks"][f"{prefix}-net"]["IPAddress"]
    assert exec_text(engine, f"{prefix}-b", "getent", "hosts", "alpha").split()[0] == address


def test_must_run_fails_loudly_when_the_container_exits(harness, prefix, engine) -> None:
    def program() -> None:
        pdocker.Container("dies", name=f"{prefix}-dies", image=BASE_IMAGE, command=["sh", "-c", "echo bye >&2; exit 3"])

    with pytest.raises(HarnessError, match=r"exited immediately \(exit code 3[\s\S]*bye"):
        harness.apply(lambda: run_inline(harness, program))
    with pytest.raises(docker.errors.NotFound):  # the provider removes what failed
        engine.api.inspect_container(f"{prefix}-dies")


def test_attach_and_logs_capture_a_one_shot_container(harness, prefix) -> None:
    def program() -> None:
        job = pdocker.Container(
            "job", name=f"{prefix}-job", image=BASE_IMAGE, command=["sh", "-c", "echo done; exit 0"], attach=True, logs=True, must_run=False
        )
        pulumi.export("exit_code", job.exit_code)
        pulumi.export("logs", job.container_logs)

    outputs = harness.apply(lambda: run_inline(harness, program))
    assert outputs == {"exit_code": 0, "logs": "done\n"}


def test_second_apply_is_a_no_op_and_changes_update_or_replace(engine, harness, prefix) -> None:
    settings = {"restart": "no", "env": "V=1"}

    def program() -> None:
        container = pdocker.Container(
            "svc", name=f"{prefix}-svc", image=BASE_IMAGE, command=["sleep", "600"], restart=settings["restart"], envs=[settings["env"]]
        )
        pulumi.export("id", container.id)

    first = harness.apply(lambda: run_inline(harness, program))
    harness.apply(lambda: run_inline(harness, program))
    assert harness.last_run.changes() == []
    assert harness.last_run.names("same") == [("same", "docker:index/container:Container", "svc")]

    settings["restart"] = "always"  # updated in place by the provider (ContainerUpdate)
    second = harness.apply(lambda: run_inline(harness, program))
    assert harness.last_run.changes() == [("update", "docker:index/container:Container", "svc")]
    assert second["id"] == first["id"]
    assert engine.api.inspect_container(first["id"])["HostConfig"]["RestartPolicy"]["Name"] == "always"

    settings["env"] = "V=2"  # ForceNew: replaced (deleted, then created)
    third = harness.apply(lambda: run_inline(harness, program))
    assert harness.last_run.changes() == [("replace", "docker:index/container:Container", "svc")]
    assert third["id"] != first["id"]
    assert "V=2" in engine.api.inspect_container(third["id"])["Config"]["Env"]
    with pytest.raises(docker.errors.NotFound):
        engine.api.inspect_container(first["id"])


def test_resources_dropped_from_the_program_are_deleted(engine, harness, prefix) -> None:
    keep_second = {"value": True}

    def program() -> None:
        pdocker.Volume("one", name=f"{prefix}-one")
        if keep_second["value"]:
            pdocker.Volume("two", name=f"{prefix}-two")

    harness.apply(lambda: run_inline(harness, program))
    keep_second["value"] = False
    harness.apply(lambda: run_inline(harness, program))
    assert harness.last_run.changes() == [("delete", "docker:index/volume:Volume", "two")]
    assert leftovers(engine, prefix)["volumes"] == [f"{prefix}-one"]


def test_destroy_removes_everything_in_reverse_order(engine, harness, prefix, tmp_path) -> None:
    def program() -> None:
        network = pdocker.Network("net", name=f"{prefix}-net")
        volume = pdocker.Volume("vol", name=f"{prefix}-vol")
        pdocker.Container(
            "box",
            name=f"{prefix}-box",
            image=BASE_IMAGE,
            command=["sleep", "600"],
            networks_advanced=[pdocker.ContainerNetworksAdvancedArgs(name=network.name)],
            volumes=[pdocker.ContainerVolumeArgs(volume_name=volume.name, container_path="/data")],
        )

    harness.apply(lambda: run_inline(harness, program))
    # A fresh harness reading the persisted state can destroy it (as `pulumi destroy` would later).
    again = ApplyHarness(project_dir=tmp_path, state_file=tmp_path / "state.json", keep_images=(BASE_IMAGE,))
    destroyed = again.destroy()
    again.close()
    ops = destroyed.names("delete")
    assert ops[0] == ("delete", "docker:index/container:Container", "box")
    assert {op[2] for op in ops} == {"box", "net", "vol"}
    assert leftovers(engine, prefix) == {"services": [], "containers": [], "networks": [], "volumes": []}
    assert json.loads((tmp_path / "state.json").read_text())["resources"] == []
    assert engine.images.get(BASE_IMAGE)  # kept


# --------------------------------------------------------------------------- providers


class RecordingEngineProxy:
    """tcp://127.0.0.1:<port> in front of the local engine's socket, keeping every byte sent to it.

    A second engine reachable under a different URL: what a resource sends through
    it proves the resource used that provider's engine.
    """

    def __init__(self, socket_path: str = "/var/run/docker.sock") -> None:
        self.sent = bytearray()
        self._socket_path = socket_path
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"tcp://127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX)
            upstream.connect(self._socket_path)
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _pipe(self, source: socket.socket, target: socket.socket, record: bool) -> None:
        try:
            while data := source.recv(65536):
                if record:
                    self.sent.extend(data)
                target.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, target):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._listener.close()


def test_each_resource_goes_to_its_providers_engine(harness, prefix, engine) -> None:
    proxy = RecordingEngineProxy()
    try:
        def program() -> None:
            proxied = pdocker.Provider("proxied", host=proxy.url)
            pdocker.Volume("via-proxy", name=f"{prefix}-via-proxy", opts=pulumi.ResourceOptions(provider=proxied))
            pdocker.Volume("via-default", name=f"{prefix}-via-default")

        harness.apply(lambda: run_inline(harness, program))
        assert f'"Name": "{prefix}-via-proxy"'.encode() in proxy.sent
        assert f"{prefix}-via-default".encode() not in proxy.sent
        harness.destroy()
        assert f"DELETE /v1.41/volumes/{prefix}-via-proxy".encode() in proxy.sent
        assert f"{prefix}-via-default".encode() not in proxy.sent
    finally:
        proxy.close()


def test_an_unreachable_provider_engine_fails_loudly(harness, prefix) -> None:
    def program() -> None:
        nowhere = pdocker.Provider("nowhere", host="tcp://127.0.0.1:1")
        pdocker.Volume("lost", name=f"{prefix}-lost", opts=pulumi.ResourceOptions(provider=nowhere))

    with pytest.raises(HarnessError, match=r"pulumi:providers:docker \(nowhere\): .* failed to connect to any docker daemon \(tcp://127\.0\.0\.1:1"):
        harness.apply(lambda: run_inline(harness, program))


def test_unknown_resource_type_fails_loudly(harness) -> None:
    def program() -> None:
        pulumi.CustomResource("acme:index/widget:Widget", "widget", {"size": 3})

    with pytest.raises(HarnessError, match=r"'acme:index/widget:Widget'.*not implemented"):
        harness.apply(lambda: run_inline(harness, program))


# --------------------------------------------------------------------------- image builds


def file_in_image(engine: docker.DockerClient, image: str, path: str) -> str:
    """Reads a file from an image through a created (never started) container: no log timing involved."""
    container = engine.api.create_container(image, command=["true"])
    try:
        chunks, _ = engine.api.get_archive(container["Id"], path)
        with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as archive:
            return archive.extractfile(archive.getmembers()[0]).read().decode()
    finally:
        engine.api.remove_container(container["Id"], force=True)


def test_image_builds_locally_and_rebuilds_when_its_context_changes(harness, engine, prefix, tmp_path) -> None:
    context = tmp_path / "app"
    context.mkdir()
    (context / "Dockerfile").write_text(
        "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nARG FLAVOUR\nCOPY message.txt /message.txt\nRUN echo $FLAVOUR > /flavour\n"
    )
    (context / "message.txt").write_text("v1")
    tag = f"{prefix}/app:test"

    def program() -> None:
        image = pdocker.Image(
            "app",
            image_name=tag,
            build=pdocker.DockerBuildArgs(context="app", args={"BASE_IMAGE": BASE_IMAGE, "FLAVOUR": "vanilla"}),
            skip_push=True,
        )
        pulumi.export("repo_digest", image.repo_digest)
        pulumi.export("image_name", image.image_name)

    try:
        first = harness.apply(lambda: run_inline(harness, program))
        built = engine.images.get(tag)
        assert first == {"repo_digest": built.id, "image_name": tag}  # local-only: the image id
        assert (file_in_image(engine, tag, "/message.txt"), file_in_image(engine, tag, "/flavour")) == ("v1", "vanilla\n")

        harness.apply(lambda: run_inline(harness, program))
        assert harness.last_run.changes() == []

        (context / "message.txt").write_text("v2")
        second = harness.apply(lambda: run_inline(harness, program))
        assert harness.last_run.changes() == [("update", "docker:index/image:Image", "app")]
        assert second["repo_digest"] != first["repo_digest"]
        assert file_in_image(engine, tag, "/message.txt") == "v2"
    finally:
        harness.destroy()
        with contextlib.suppress(docker.errors.ImageNotFound):
            engine.images.remove(tag, force=True)


# --------------------------------------------------------------------------- commands


def test_local_command_create_update_replace_delete(harness, tmp_path) -> None:
    marker = tmp_path / "marker.txt"
    deleted = tmp_path / "deleted.txt"
    inputs = {"environment": {"WHAT": "first"}, "triggers": ["a"]}

    def program() -> None:
        cmd = command.local.Command(
            "write",
            create=f"printf '%s' \"$WHAT\" > {marker}; echo made $WHAT; echo note >&2",
            delete=f"echo \"$PULUMI_COMMAND_STDOUT\" > {deleted}",
            environment=inputs["environment"],
            triggers=inputs["triggers"],
            dir=str(tmp_path),
        )
        pulumi.export("stdout", cmd.stdout)
        pulumi.export("stderr", cmd.stderr)

    outputs = harness.apply(lambda: run_inline(harness, program))
    assert outputs == {"stdout": "made first", "stderr": "note"}  # one trailing newline dropped
    assert marker.read_text() == "first"

    inputs["environment"] = {"WHAT": "second"}  # no `update` command: create runs again, in place
    harness.apply(lambda: run_inline(harness, program))
    assert harness.last_run.changes() == [("update", "command:local:Command", "write")]
    assert marker.read_text() == "second" and not deleted.exists()

    inputs["triggers"] = ["b"]  # a trigger without `update`: replaced, delete sees the old stdout
    harness.apply(lambda: run_inline(harness, program))
    assert harness.last_run.changes() == [("replace", "command:local:Command", "write")]
    assert deleted.read_text() == "made second\n"

    deleted.unlink()
    harness.destroy()
    assert deleted.read_text() == "made second\n"


def test_local_command_failure_reports_its_stderr(harness) -> None:
    def program() -> None:
        command.local.Command("broken", create="echo something went wrong >&2; exit 4")

    with pytest.raises(HarnessError, match=r"exit status 4[\s\S]*something went wrong"):
        harness.apply(lambda: run_inline(harness, program))


def test_local_command_stdin_interpreter_and_the_run_invoke(harness) -> None:
    def program() -> None:
        cmd = command.local.Command("py", create="-", interpreter=["python3"], stdin="print(6 * 7)")
        pulumi.export("stdout", cmd.stdout)
        pulumi.export("invoked", command.local.run(command="echo $WHO", environment={"WHO": "invoke"}).stdout)

    assert harness.apply(lambda: run_inline(harness, program)) == {"stdout": "42", "invoked": "invoke"}


def test_remote_command_runs_in_the_container_named_by_the_connection(harness, engine, prefix) -> None:
    host = engine.containers.run(BASE_IMAGE, ["sleep", "600"], name=f"{prefix}-larry", hostname="larry", detach=True)
    address = engine.api.inspect_container(host.id)["NetworkSettings"]["Networks"]["bridge"]["IPAddress"]

    def program() -> None:
        by_name = command.remote.Command(
            "by-name",
            connection=command.remote.ConnectionArgs(host=f"{prefix}-larry", user="root"),
            create="echo $(hostname) $GREETING > /tmp/created; cat /tmp/created",
            delete="rm /tmp/created",
            environment={"GREETING": "hi"},
        )
        by_ip = command.remote.Command("by-ip", connection=command.remote.ConnectionArgs(host=address), create="hostname")
        pulumi.export("by_name", by_name.stdout)
        pulumi.export("by_ip", by_ip.stdout)

    assert harness.apply(lambda: run_inline(harness, program)) == {"by_name": "larry hi", "by_ip": "larry"}
    harness.destroy()
    assert host.exec_run(["test", "-e", "/tmp/created"]).exit_code == 1


# --------------------------------------------------------------------------- swarm services


@pytest.fixture
def swarm(engine: docker.DockerClient):
    """A one-node swarm on the engine; left again afterwards only if this fixture made it."""
    state = engine.info()["Swarm"]["LocalNodeState"]
    if state != "active":
        subprocess.run(["docker", "swarm", "init", "--advertise-addr", "127.0.0.1"], check=True, capture_output=True)
    yield
    if state != "active":
        subprocess.run(["docker", "swarm", "leave", "--force"], check=True, capture_output=True)


def running_tasks(engine: docker.DockerClient, service: str, expected: int, timeout: float = 90) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        tasks = engine.api.tasks(filters={"service": service, "desired-state": "running"})
        running = [t for t in tasks if t["Status"]["State"] == "running"]
        if len(running) == expected or time.monotonic() > deadline:
            return running
        time.sleep(1)


def test_service_replicas_update_in_place_and_global_runs_per_node(swarm, harness, engine, prefix) -> None:
    replicas = {"value": 2}

    def program() -> None:
        replicated = pdocker.Service(
            "rep",
            name=f"{prefix}-rep",
            task_spec=pdocker.ServiceTaskSpecArgs(
                container_spec=pdocker.ServiceTaskSpecContainerSpecArgs(
                    image=BASE_IMAGE, args=["sleep", "600"], env={"ROLE": "replica"}, labels=[pdocker.ServiceTaskSpecContainerSpecLabelArgs(label="x", value="y")]
                ),
                restart_policy=pdocker.ServiceTaskSpecRestartPolicyArgs(condition="any", delay="5s", window="0s"),
            ),
            mode=pdocker.ServiceModeArgs(replicated=pdocker.ServiceModeReplicatedArgs(replicas=replicas["value"])),
            update_config=pdocker.ServiceUpdateConfigArgs(parallelism=1, delay="10s", failure_action="rollback", order="start-first"),
            converge_config=pdocker.ServiceConvergeConfigArgs(delay="1s", timeout="90s"),
        )
        per_node = pdocker.Service(
            "glob",
            name=f"{prefix}-glob",
            task_spec=pdocker.ServiceTaskSpecArgs(container_spec=pdocker.ServiceTaskSpecContainerSpecArgs(image=BASE_IMAGE, args=["sleep", "600"])),
            mode=pdocker.ServiceModeArgs(global_=True),
        )
        pulumi.export("rep_id", replicated.id)
        pulumi.export("glob_id", per_node.id)

    first = harness.apply(lambda: run_inline(harness, program))
    spec = engine.api.inspect_service(first["rep_id"])["Spec"]
    assert spec["Mode"] == {"Replicated": {"Replicas": 2}}
    container_spec = spec["TaskTemplate"]["ContainerSpec"]
    assert (container_spec["Image"], container_spec["Args"], container_spec["Env"], container_spec["Labels"]) == (
        BASE_IMAGE,
        ["sleep", "600"],
        ["ROLE=replica"],
        {"x": "y"},
    )
    assert spec["TaskTemplate"]["RestartPolicy"] == {"Condition": "any", "Delay": 5 * 10**9, "MaxAttempts": 0, "Window": 0}
    assert spec["UpdateConfig"] == {
        "Parallelism": 1,
        "Delay": 10 * 10**9,
        "FailureAction": "rollback",
        "Monitor": 5 * 10**9,
        "MaxFailureRatio": 0,
        "Order": "start-first",
    }
    assert len(running_tasks(engine, first["rep_id"], 2)) == 2  # convergeConfig waited for them
    nodes = len(engine.nodes.list())
    assert engine.api.inspect_service(first["glob_id"])["Spec"]["Mode"] == {"Global": {}}
    assert len(running_tasks(engine, first["glob_id"], nodes)) == nodes

    harness.apply(lambda: run_inline(harness, program))
    assert harness.last_run.changes() == []

    replicas["value"] = 3
    second = harness.apply(lambda: run_inline(harness, program))
    assert harness.last_run.changes() == [("update", "docker:index/service:Service", "rep")]
    assert second["rep_id"] == first["rep_id"]
    assert engine.api.inspect_service(first["rep_id"])["Spec"]["Mode"] == {"Replicated": {"Replicas": 3}}
    assert len(running_tasks(engine, first["rep_id"], 3, timeout=5)) == 3

    harness.destroy()
    assert leftovers(engine, prefix)["services"] == []
    # Without a stopGracePeriod the provider returns at once; Swarm removes the task containers after.
    deadline = time.monotonic() + 30
    while engine.api.containers(all=True, filters={"label": f"com.docker.swarm.service.id={first['rep_id']}"}):
        assert time.monotonic() < deadline, "task containers still there 30 s after the service went"
        time.sleep(0.5)


def test_a_restart_policy_without_a_window_differs_from_what_the_provider_reads_back(swarm, harness, engine, prefix) -> None:
    """pulumi/pulumi-docker#1285: the provider sends an unset window as 0 and stores "0s", so every `up` updates."""

    def program() -> None:
        pdocker.Service(
            "nowindow",
            name=f"{prefix}-nowindow",
            task_spec=pdocker.ServiceTaskSpecArgs(
                container_spec=pdocker.ServiceTaskSpecContainerSpecArgs(image=BASE_IMAGE, args=["sleep", "600"]),
                restart_policy=pdocker.ServiceTaskSpecRestartPolicyArgs(condition="any"),
            ),
        )

    harness.apply(lambda: run_inline(harness, program))
    harness.apply(lambda: run_inline(harness, program))
    assert harness.last_run.changes() == [("update", "docker:index/service:Service", "nowindow")]


def test_a_service_no_node_can_take_fails_as_the_provider_fails_it_and_is_removed(swarm, harness, engine, prefix) -> None:
    """pulumi-docker's create waits the convergeConfig timeout, removes the service and says only that."""

    def program() -> None:
        pdocker.Service(
            "unplaceable",
            name=f"{prefix}-unplaceable",
            task_spec=pdocker.ServiceTaskSpecArgs(
                container_spec=pdocker.ServiceTaskSpecContainerSpecArgs(image=BASE_IMAGE, args=["sleep", "600"]),
                resources=pdocker.ServiceTaskSpecResourcesArgs(
                    reservation=pdocker.ServiceTaskSpecResourcesReservationArgs(nano_cpus=1000 * 10**9)
                ),
            ),
            converge_config=pdocker.ServiceConvergeConfigArgs(delay="1s", timeout="4s"),
        )

    with pytest.raises(HarnessError, match=r"Service with ID \(\w+\) did not converge after 4s"):
        harness.apply(lambda: run_inline(harness, program))
    assert leftovers(engine, prefix)["services"] == []


# --------------------------------------------------------------------------- consul


def consul_raw(address: str, path: str, **params) -> str:
    with urllib.request.urlopen(f"http://{address}{path}?{urllib.parse.urlencode(params)}", timeout=10) as response:
        return response.read().decode()


def consul_api(address: str, path: str, **params) -> object:
    return json.loads(consul_raw(address, path, **params))


def test_consul_keys_node_and_service_go_through_the_http_api(harness, engine, prefix) -> None:
    image = build_consul_image(engine)
    declared = {"keys": True, "service": True, "greeting": "hello"}

    def program() -> None:
        agent = pdocker.Container(  # the image's default command: a -dev agent (server and client)
            "agent",
            name=f"{prefix}-consul",
            image=image,
            ports=[pdocker.ContainerPortArgs(internal=8500, ip="127.0.0.1")],
        )
        address = agent.ports.apply(lambda ports: f"127.0.0.1:{ports[0]['external']}")
        api = consulp.Provider("api", address=address)
        on_api = pulumi.ResourceOptions(provider=api)
        node = consulp.Node("node", name=f"{prefix}-ext", address="10.213.1.7", meta={"rack": "r1"}, opts=on_api)
        if declared["keys"]:
            consulp.Keys(
                "kv",
                keys=[
                    consulp.KeysKeyArgs(path=f"{prefix}/greeting", value=declared["greeting"], delete=True),
                    consulp.KeysKeyArgs(path=f"{prefix}/kept", value="stays"),
                ],
                opts=on_api,
            )
        if declared["service"]:
            consulp.Service(
                "svc",
                name="cache",
                node=node.name,
                address="10.213.1.8",
                port=6379,
                tags=["primary"],
                checks=[consulp.ServiceCheckArgs(check_id="cache-tcp", name="tcp", tcp="10.213.1.8:6379", interval="10s", timeout="2s")],
                opts=on_api,
            )
        pulumi.export("address", address)

    address = harness.apply(lambda: run_inline(harness, program))["address"]
    assert consul_raw(address, f"/v1/kv/{prefix}/greeting", raw="true") == "hello"
    node = consul_api(address, f"/v1/catalog/node/{prefix}-ext")
    assert (node["Node"]["Address"], node["Node"]["Meta"]) == ("10.213.1.7", {"rack": "r1"})
    [service] = consul_api(address, "/v1/catalog/service/cache")
    assert (service["Node"], service["ServiceAddress"], service["ServicePort"], service["ServiceTags"]) == (f"{prefix}-ext", "10.213.1.8", 6379, ["primary"])
    [check] = consul_api(address, "/v1/health/checks/cache")
    assert (check["CheckID"], check["Status"], check["Definition"]["TCP"]) == ("cache-tcp", "critical", "10.213.1.8:6379")

    declared["greeting"] = "hi again"  # a changed value is written in place
    harness.apply(lambda: run_inline(harness, program))
    assert harness.last_run.changes() == [("update", "consul:index/keys:Keys", "kv")]
    assert consul_raw(address, f"/v1/kv/{prefix}/greeting", raw="true") == "hi again"

    declared.update(keys=False, service=False)  # dropped: `delete = true` keys go, others stay; the service is deregistered
    harness.apply(lambda: run_inline(harness, program))
    assert sorted(harness.last_run.changes()) == [("delete", "consul:index/keys:Keys", "kv"), ("delete", "consul:index/service:Service", "svc")]
    assert consul_api(address, "/v1/kv/", keys="true") == [f"{prefix}/kept"]
    assert consul_api(address, "/v1/catalog/service/cache") == []


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def sleeping_container(prefix: str, name: str, **container_args):
    """A program of one container from the base image that sleeps, with `container_args` added."""

    def run() -> None:
        image = pdocker.RemoteImage("base", name=BASE_IMAGE, keep_locally=True)
        pdocker.Container(name, name=f"{prefix}-{name}", image=image.image_id, command=["sleep", "600"], **container_args)

    return run


def test_ports_are_diffed_as_the_provider_reads_them_back(harness, prefix) -> None:
    """pulumi-docker matches each stored binding with the first declared one of its container port:
    two bindings of one port and protocol never match and replace the container on every `pulumi up`,
    tcp and udp of one port compare fine, and a real change of a published port still replaces."""
    ports = {"tcp": free_port(), "udp": free_port(), "second": free_port()}

    def program(bindings):
        published = [pdocker.ContainerPortArgs(internal=53, external=external, ip=ip, protocol=protocol) for external, ip, protocol in bindings]
        return sleeping_container(prefix, "published", ports=published)

    once_each = [(ports["tcp"], "127.0.0.1", "tcp"), (ports["udp"], "127.0.0.1", "udp")]
    harness.apply(lambda: run_inline(harness, program(once_each)))
    harness.apply(lambda: run_inline(harness, program(once_each)))
    assert harness.last_run.changes() == []

    moved = [(ports["second"], "127.0.0.1", "tcp"), (ports["udp"], "127.0.0.1", "udp")]
    harness.apply(lambda: run_inline(harness, program(moved)))
    assert harness.last_run.changes() == [("replace", "docker:index/container:Container", "published")]

    twice_over_udp = [*moved, (ports["tcp"], "127.0.0.2", "udp")]
    harness.apply(lambda: run_inline(harness, program(twice_over_udp)))
    harness.apply(lambda: run_inline(harness, program(twice_over_udp)))
    assert harness.last_run.changes() == [("replace", "docker:index/container:Container", "published")]


def test_a_port_on_every_address_cannot_be_declared_without_a_replacement_at_every_up(engine, harness, prefix) -> None:
    """What Compose's port without `host_ip` binds (0.0.0.0 and ::), declared either way pulumi-docker can, is
    replaced at every `pulumi up` (as the real CLI showed): an empty `ip` binds both but is read back as two
    bindings; the two bindings given apart are read back in the reverse order (the engine sorts a TCP port's
    bindings so), which the provider's diff finds changed."""
    for name, addresses in (("empty-ip", [""]), ("both-addresses", ["0.0.0.0", "::"])):
        external = free_port()
        published = [pdocker.ContainerPortArgs(internal=80, external=external, ip=ip) for ip in addresses]
        program = sleeping_container(prefix, name, ports=published)
        harness.apply(lambda: run_inline(harness, program))
        bound = engine.api.inspect_container(f"{prefix}-{name}")["NetworkSettings"]["Ports"]["80/tcp"]
        assert sorted(b["HostIp"] for b in bound) == ["0.0.0.0", "::"], name
        harness.apply(lambda: run_inline(harness, program))
        assert harness.last_run.changes() == [("replace", "docker:index/container:Container", name)], name


def test_a_memory_limit_without_a_swap_limit_is_diffed_against_the_swap_the_engine_gave(harness, prefix) -> None:
    """The engine gives twice the memory limit as swap when none is set, and the provider reads it back:
    without `memory_swap` every `pulumi up` proposes an in-place update (as the real CLI does); with
    the engine's own value, nothing."""
    for memory_swap, second_run in ((None, [("update", "docker:index/container:Container", "limited")]), (128, [])):
        program = sleeping_container(prefix, "limited", memory=64, **({"memory_swap": memory_swap} if memory_swap else {}))
        harness.apply(lambda: run_inline(harness, program))
        harness.apply(lambda: run_inline(harness, program))
        assert harness.last_run.changes() == second_run, memory_swap


def test_healthcheck_durations_are_diffed_as_go_prints_them(harness, prefix) -> None:
    """The provider stores each healthcheck duration as Go prints it: "60s" is read back as "1m0s"."""

    def program(start_period: str):
        healthcheck = pdocker.ContainerHealthcheckArgs(tests=["CMD", "true"], interval="2s", start_period=start_period)
        return sleeping_container(prefix, "checked", healthcheck=healthcheck)

    for start_period, second_run in (("1m0s", []), ("60s", [("update", "docker:index/container:Container", "checked")])):
        harness.apply(lambda: run_inline(harness, program(start_period)))
        harness.apply(lambda: run_inline(harness, program(start_period)))
        assert harness.last_run.changes() == second_run, start_period
