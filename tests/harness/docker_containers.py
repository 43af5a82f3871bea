"""pulumi-docker `Container`: create, leave the default bridge for `networks_advanced`, upload, start, wait.

Defaults as documented: port ip 0.0.0.0 / protocol tcp / random external,
restart "no", network_mode bridge, must_run true, wait false (60 s timeout).
"""
from __future__ import annotations

import base64
import io
import tarfile
import time
from pathlib import Path
from typing import Any, Mapping

import docker.errors

from .base import HarnessError, ResourceContext, ResourceHandler, changed_keys
from .docker_common import autoname, ensure_image, ignore_missing
from .state import ResourceRecord
from .values import drop_none, duration_ns, go_duration, labels

CONTAINER_RUNNING_TIMEOUT_SECONDS = 15  # the provider's containerReadRefreshTimeout
DEFAULT_WAIT_TIMEOUT_SECONDS = 60  # documented default of `waitTimeout`
RUNNING_SETTLE_SECONDS = 1.0  # see Container._wait_running
# What an attached container's create stored, which no later read gives back.
ATTACHED_OUTPUTS = ("exitCode", "containerLogs")
HEALTHCHECK_DURATIONS = {"interval": "Interval", "timeout": "Timeout", "startPeriod": "StartPeriod", "startInterval": "StartInterval"}

# --------------------------------------------------------------------------- container


class Container(ResourceHandler):
    type_token = "docker:index/container:Container"
    # What resourceDockerContainerUpdate changes in place (ContainerUpdate), plus
    # arguments that only steer the provider itself. Every other argument is ForceNew.
    live_update = frozenset({"restart", "maxRetryCount", "cpuShares", "memory", "memoryReservation", "cpuSet", "memorySwap"})
    in_place = live_update | frozenset(
        {"mustRun", "wait", "waitTimeout", "destroyGraceSeconds", "removeVolumes", "containerReadRefreshTimeoutMilliseconds"}
        # Not ForceNew, and nothing the engine can change on a container: the provider only stores it.
        | {"healthcheck"}
    )

    def changed(self, old: ResourceRecord, new_inputs: Mapping[str, Any]) -> set[str]:
        """As the provider diffs: `ports`, `healthcheck`, `memory` and `memorySwap` against what it read back from the engine."""
        read_back = {"ports": None, "healthcheck": None, "memory": None, "memorySwap": None, "capabilities": None}
        changed = changed_keys({**old.inputs, **read_back}, {**new_inputs, **read_back})
        # The engine gives a container with a memory limit and no swap limit twice the limit as swap;
        # the provider reads that back, so leaving memorySwap unset proposes an update (seen with the real CLI).
        if (new_inputs.get("memorySwap") or 0) != (old.outputs.get("memorySwap", old.inputs.get("memorySwap")) or 0):
            changed.add("memorySwap")
        if (new_inputs.get("memory") or 0) != (old.outputs.get("memory", old.inputs.get("memory")) or 0):
            changed.add("memory")
        if not ports_diff_suppressed(old.outputs.get("ports") or [], with_port_defaults(new_inputs.get("ports") or [])):
            changed.add("ports")
        if with_healthcheck_defaults(new_inputs.get("healthcheck")) != old.outputs.get("healthcheck"):
            changed.add("healthcheck")
        if capability_sets(new_inputs.get("capabilities")) != capability_sets(old.outputs.get("capabilities", old.inputs.get("capabilities"))):
            changed.add("capabilities")
        return changed

    def create(self, ctx: ResourceContext) -> tuple[str, dict[str, Any]]:
        i = ctx.inputs
        api = ctx.docker().api
        ensure_image(ctx, i["image"])
        name = i.get("name") or autoname(ctx.name)
        created = api.create_container_from_config(container_config(i), name=name, platform=i.get("platform"))
        container_id = created["Id"]
        try:
            self._attach_networks(api, container_id, i)
            self._upload(api, container_id, i.get("uploads") or [])
            if i.get("start", True):
                api.start(container_id)
                if i.get("attach"):
                    return container_id, self._run_attached(ctx, container_id, name)
                self._wait_running(ctx, container_id)
                if i.get("wait"):
                    self._wait_healthy(ctx, container_id)
        except Exception:
            ignore_missing(api.remove_container, container_id, force=True, v=True)
            raise
        return container_id, self.read(ctx, container_id)

    def read(self, ctx: ResourceContext, container_id: str, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        found = ctx.docker().api.inspect_container(container_id)
        settings = found.get("NetworkSettings") or {}
        networks = settings.get("Networks") or {}
        first = next(iter(networks.values()), {})
        return {
            **ctx.inputs,
            **(extra or {}),
            "name": found["Name"].lstrip("/"),
            "hostname": found["Config"]["Hostname"],
            "networkMode": found["HostConfig"]["NetworkMode"],
            "restart": found["HostConfig"]["RestartPolicy"]["Name"] or "no",
            "ports": published_ports(settings.get("Ports") or {}),
            "healthcheck": read_healthcheck(found["Config"].get("Healthcheck")),
            "memory": read_megabytes(found["HostConfig"].get("Memory") or 0),
            "memorySwap": read_megabytes(found["HostConfig"].get("MemorySwap") or 0),
            "ipAddress": first.get("IPAddress"),
            "ipPrefixLength": first.get("IPPrefixLen"),
            "gateway": first.get("Gateway"),
            "bridge": settings.get("Bridge", ""),
            "networkDatas": [
                {
                    "networkName": network_name,
                    "ipAddress": data.get("IPAddress"),
                    "ipPrefixLength": data.get("IPPrefixLen"),
                    "gateway": data.get("Gateway"),
                    "macAddress": data.get("MacAddress"),
                    "globalIpv6Address": data.get("GlobalIPv6Address"),
                    "globalIpv6PrefixLength": data.get("GlobalIPv6PrefixLen"),
                    "ipv6Gateway": data.get("IPv6Gateway"),
                }
                for network_name, data in networks.items()
            ],
        }

    def refresh(self, ctx: ResourceContext, record: ResourceRecord) -> dict[str, Any] | None:
        """resourceDockerContainerRead outside a create looks once: a container that is not running,
        unless `mustRun` is false, it deletes, and the next `up` creates it anew."""
        found = ignore_missing(ctx.docker().api.inspect_container, record.id)
        if found is None:
            return None
        if not found["State"]["Running"] and record.inputs.get("mustRun", True):
            self.delete(ctx, record)
            return None
        # A create stores `capabilities` as declared, a refresh as the engine reports them (some rename them CAP_*).
        kept = {key: record.outputs[key] for key in ATTACHED_OUTPUTS if key in record.outputs}
        return {**self.read(ctx, record.id, kept), **read_capabilities(found["HostConfig"])}

    def update(self, ctx: ResourceContext, old: ResourceRecord) -> tuple[str, dict[str, Any]]:
        i = ctx.inputs
        # As the provider's HasChange: against the state as last read back (a refresh after a failed
        # update holds the engine's values there, while the inputs hold the ones that failed).
        if self.changed(old, i) & self.live_update:
            ctx.docker().api.update_container(
                old.id,
                restart_policy={"Name": i.get("restart", "no"), "MaximumRetryCount": i.get("maxRetryCount", 0)},
                cpu_shares=i.get("cpuShares"),
                cpuset_cpus=i.get("cpuSet"),
                mem_limit=mebibytes(i.get("memory")),
                mem_reservation=mebibytes(i.get("memoryReservation")),
                memswap_limit=mebibytes(i.get("memorySwap")),
            )
        return old.id, self.read(ctx, old.id)

    def delete(self, ctx: ResourceContext, record: ResourceRecord) -> None:
        api = ctx.docker().api
        grace = record.inputs.get("destroyGraceSeconds")
        try:
            if grace and not record.inputs.get("attach"):
                api.stop(record.id, timeout=int(grace))
            api.remove_container(record.id, force=True, v=record.inputs.get("removeVolumes", True))
        except docker.errors.NotFound:
            return
        except docker.errors.APIError as error:
            if "already in progress" not in str(error):  # `rm` containers remove themselves
                raise
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                api.inspect_container(record.id)
            except docker.errors.NotFound:
                return
            time.sleep(0.2)

    def _attach_networks(self, api, container_id: str, i: Mapping[str, Any]) -> None:
        """Like the provider: leave the default bridge, then join each `networks_advanced` entry."""
        advanced = i.get("networksAdvanced") or []
        if not advanced:
            return
        if i.get("networkMode", "bridge") in ("bridge", "default"):
            try:
                api.disconnect_container_from_network(container_id, "bridge")
            except docker.errors.APIError as error:
                if "is not connected" not in str(error):
                    raise
        for network in advanced:
            api.connect_container_to_network(
                container_id,
                network["name"],
                ipv4_address=network.get("ipv4Address"),
                ipv6_address=network.get("ipv6Address"),
                aliases=network.get("aliases"),
                driver_opt=network.get("driverOpts"),
                mac_address=network.get("macAddress"),
                link_local_ips=network.get("linkLocalIps"),
            )

    def _upload(self, api, container_id: str, uploads: list[Mapping[str, Any]]) -> None:
        """One tar per file, extracted at /, with 0644 or 0744 unless `permissions` is given."""
        for upload in uploads:
            if upload.get("content") is not None:
                data = str(upload["content"]).encode()
            elif upload.get("contentBase64") is not None:
                data = base64.b64decode(upload["contentBase64"])
            elif upload.get("source"):
                data = Path(upload["source"]).read_bytes()
            else:
                raise HarnessError(f"upload {upload.get('file')}: one of content, contentBase64 or source must be set")
            mode = int(upload["permissions"], 8) if upload.get("permissions") else (0o744 if upload.get("executable") else 0o644)
            buffer = io.BytesIO()
            with tarfile.open(fileobj=buffer, mode="w") as archive:
                entry = tarfile.TarInfo(name=str(upload["file"]).lstrip("/"))
                entry.size, entry.mode, entry.mtime = len(data), mode, int(time.time())
                archive.addfile(entry, io.BytesIO(data))
            api.put_archive(container_id, "/", buffer.getvalue())

    def _wait_running(self, ctx: ResourceContext, container_id: str) -> None:
        """must_run (default true): the container must be running once the engine settles.

        Stricter than the provider on purpose: it must still be running (not
        exited, not restarting) RUNNING_SETTLE_SECONDS after it first is, so a
        process that dies right after starting fails the apply with its logs
        instead of surfacing later as a confusing test failure.
        """
        if not ctx.inputs.get("mustRun", True):
            return
        timeout = (ctx.inputs.get("containerReadRefreshTimeoutMilliseconds") or CONTAINER_RUNNING_TIMEOUT_SECONDS * 1000) / 1000
        deadline = time.monotonic() + timeout
        settled_at = None
        api = ctx.docker().api
        while True:
            state = api.inspect_container(container_id)["State"]
            healthy_run = state["Running"] and not state.get("Restarting")
            if healthy_run:
                settled_at = settled_at or time.monotonic() + RUNNING_SETTLE_SECONDS
                if time.monotonic() >= settled_at:
                    return
            elif settled_at or state["Status"] == "exited" or time.monotonic() > deadline:
                logs = recent_logs(api, container_id)
                raise HarnessError(
                    f"container {ctx.name}: container exited immediately (exit code {state.get('ExitCode')}, "
                    f"error {state.get('Error')!r}); last logs:\n{logs}"
                )
            time.sleep(0.1)

    def _wait_healthy(self, ctx: ResourceContext, container_id: str) -> None:
        timeout = ctx.inputs.get("waitTimeout") or DEFAULT_WAIT_TIMEOUT_SECONDS
        deadline = time.monotonic() + timeout
        api = ctx.docker().api
        while True:
            state = api.inspect_container(container_id)["State"]
            health = (state.get("Health") or {}).get("Status")
            if health is None:
                raise HarnessError(f"container {ctx.name}: `wait` is set but the container has no healthcheck")
            if health == "healthy":
                return
            if not state["Running"] or time.monotonic() > deadline:
                log = (state.get("Health") or {}).get("Log") or []
                last = log[-1]["Output"].strip() if log else ""
                raise HarnessError(f"container {ctx.name}: not healthy after {timeout}s (status {health}); last check output: {last!r}")
            time.sleep(0.5)

    def _run_attached(self, ctx: ResourceContext, container_id: str, name: str) -> dict[str, Any]:
        """attach: wait for the container to finish; logs: keep its output as containerLogs."""
        api = ctx.docker().api
        logs = b"".join(api.logs(container_id, stream=True, follow=True)) if ctx.inputs.get("logs") else None
        exit_code = api.wait(container_id)["StatusCode"]
        outputs = {**ctx.inputs, "name": name, "exitCode": exit_code}
        if logs is not None:
            outputs["containerLogs"] = logs.decode(errors="replace")
        return outputs


def recent_logs(api, container_id: str, lines: int = 20) -> str:
    """The container's last log lines; the json-file driver can lag an exit by a moment, so retry briefly."""
    deadline = time.monotonic() + 2
    while True:
        logs = api.logs(container_id, tail=lines).decode(errors="replace")
        if logs or time.monotonic() > deadline:
            return logs
        time.sleep(0.2)


def read_megabytes(value: int) -> int:
    """A byte count the engine reports, in the provider's MB; 0 (unset) and -1 (unlimited) as they are."""
    return value // (1024 * 1024) if value > 0 else value


def mebibytes(value: int | None) -> int | None:
    return None if value is None else int(value) * 1024 * 1024


def container_config(i: Mapping[str, Any]) -> dict[str, Any]:
    """pulumi-docker Container inputs -> POST /containers/create body (Config + HostConfig)."""
    port_bindings: dict[str, list[dict[str, str]]] = {}
    for port in i.get("ports") or []:
        key = f"{port['internal']}/{port.get('protocol', 'tcp')}"
        external = port.get("external")
        port_bindings.setdefault(key, []).append({"HostIp": port.get("ip", "0.0.0.0"), "HostPort": str(external) if external else ""})
    binds, anonymous, volumes_from = [], {}, []
    for volume in i.get("volumes") or []:
        if volume.get("fromContainer"):
            volumes_from.append(volume["fromContainer"])
            continue
        source = volume.get("hostPath") or volume.get("volumeName")
        if not source:
            anonymous[volume["containerPath"]] = {}
            continue
        options = ["ro" if volume.get("readOnly") else "rw"] + ([volume["selinuxRelabel"]] if volume.get("selinuxRelabel") else [])
        binds.append(f"{source}:{volume['containerPath']}:{','.join(options)}")
    capabilities = i.get("capabilities") or {}
    healthcheck = i.get("healthcheck")
    host_config = drop_none(
        {
            "Binds": binds,
            "PortBindings": port_bindings,
            "PublishAllPorts": i.get("publishAllPorts"),
            "RestartPolicy": {"Name": i.get("restart", "no"), "MaximumRetryCount": i.get("maxRetryCount", 0)},
            "NetworkMode": i.get("networkMode", "bridge"),
            "Mounts": [mount_spec(mount) for mount in i.get("mounts") or []],
            "AutoRemove": i.get("rm", False),
            "ReadonlyRootfs": i.get("readOnly", False),
            "LogConfig": {"Type": i.get("logDriver", ""), "Config": i.get("logOpts") or {}},
            "Tmpfs": i.get("tmpfs"),
            "ExtraHosts": [f"{h['host']}:{h['ip']}" for h in i.get("hosts") or []],
            "VolumesFrom": volumes_from,
            "Ulimits": [{"Name": u["name"], "Soft": u["soft"], "Hard": u["hard"]} for u in i.get("ulimits") or []],
            "CapAdd": capabilities.get("adds"),
            "CapDrop": capabilities.get("drops"),
            "Devices": [
                drop_none({"PathOnHost": d["hostPath"], "PathInContainer": d.get("containerPath", d["hostPath"]), "CgroupPermissions": d.get("permissions", "rwm")})
                for d in i.get("devices") or []
            ],
            "Dns": i.get("dns"),
            "DnsOptions": i.get("dnsOpts"),
            "DnsSearch": i.get("dnsSearches"),
            "Links": i.get("links"),
            "SecurityOpt": i.get("securityOpts"),
            "Memory": mebibytes(i.get("memory")),
            "MemoryReservation": mebibytes(i.get("memoryReservation")),
            "MemorySwap": mebibytes(i.get("memorySwap")) if (i.get("memorySwap") or 0) > 0 else i.get("memorySwap"),
            "ShmSize": mebibytes(i.get("shmSize")),
            "CpuShares": i.get("cpuShares"),
            "CpusetCpus": i.get("cpuSet"),
            "NanoCpus": int(float(i["cpus"]) * 1e9) if i.get("cpus") else None,
            "Sysctls": i.get("sysctls"),
            "IpcMode": i.get("ipcMode"),
            "PidMode": i.get("pidMode"),
            "UsernsMode": i.get("usernsMode"),
            "GroupAdd": i.get("groupAdds"),
            "Init": i.get("init"),  # unset: the daemon's default, as documented
            "Privileged": i.get("privileged"),
            "Runtime": i.get("runtime"),
            "StorageOpt": i.get("storageOpts"),
            "CgroupParent": i.get("cgroupParent"),
        }
    )
    return drop_none(
        {
            "Image": i["image"],
            "Hostname": i.get("hostname"),
            "Domainname": i.get("domainname"),
            "User": i.get("user"),
            "Env": i.get("envs"),
            "Cmd": i.get("command"),
            "Entrypoint": i.get("entrypoints"),
            "WorkingDir": i.get("workingDir"),
            "Labels": labels(i.get("labels")),
            "ExposedPorts": {key: {} for key in port_bindings},
            "Volumes": anonymous,
            "Healthcheck": drop_none(
                {
                    "Test": healthcheck.get("tests"),
                    "Interval": duration_ns(healthcheck.get("interval")),
                    "Timeout": duration_ns(healthcheck.get("timeout")),
                    "StartPeriod": duration_ns(healthcheck.get("startPeriod")),
                    "StartInterval": duration_ns(healthcheck.get("startInterval")),
                    "Retries": healthcheck.get("retries"),
                }
            )
            if healthcheck
            else None,
            "StopSignal": i.get("stopSignal"),
            "StopTimeout": i.get("stopTimeout"),
            "Tty": i.get("tty"),
            "OpenStdin": i.get("stdinOpen"),
            "HostConfig": host_config,
        }
    )


def mount_spec(mount: Mapping[str, Any]) -> dict[str, Any]:
    volume_options = mount.get("volumeOptions") or {}
    tmpfs_options = mount.get("tmpfsOptions") or {}
    bind_options = mount.get("bindOptions") or {}
    return drop_none(
        {
            "Type": mount["type"],
            "Target": mount["target"],
            "Source": mount.get("source"),
            "ReadOnly": mount.get("readOnly"),
            "BindOptions": drop_none({"Propagation": bind_options.get("propagation")}) if mount["type"] == "bind" else None,
            "VolumeOptions": drop_none(
                {
                    "NoCopy": volume_options.get("noCopy"),
                    "Labels": labels(volume_options.get("labels")),
                    "DriverConfig": drop_none({"Name": volume_options.get("driverName"), "Options": volume_options.get("driverOptions")}),
                }
            )
            if mount["type"] == "volume"
            else None,
            "TmpfsOptions": drop_none({"SizeBytes": tmpfs_options.get("sizeBytes"), "Mode": tmpfs_options.get("mode")})
            if mount["type"] == "tmpfs"
            else None,
        }
    )


def published_ports(bindings: Mapping[str, Any]) -> list[dict[str, Any]]:
    """What the provider stores after reading a container (flattenContainerPorts).

    Sorted by container port only; the engine's map has no order, so bindings of one port over
    tcp and udp come back in either order, and bindings of one port and protocol in the engine's.
    """
    ordered = sorted(bindings.items(), key=lambda item: int(item[0].split("/")[0]))
    return [
        {"internal": int(key.split("/")[0]), "external": int(binding.get("HostPort") or 0), "ip": binding.get("HostIp") or "", "protocol": key.split("/")[1]}
        for key, found in ordered
        for binding in found or []
    ]


def read_capabilities(host_config: Mapping[str, Any]) -> dict[str, Any]:
    """`capabilities` as the provider reads it: the engine's names (CAP_ prefixed, but ALL); none, nothing."""
    adds, drops = host_config.get("CapAdd") or [], host_config.get("CapDrop") or []
    return {"capabilities": {"adds": adds, "drops": drops}} if adds or drops else {}


def capability_sets(capabilities: Mapping[str, Any] | None) -> tuple[frozenset[str], frozenset[str]]:
    capabilities = capabilities or {}
    return frozenset(capabilities.get("adds") or ()), frozenset(capabilities.get("drops") or ())


def read_healthcheck(found: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """What the provider stores: each duration as Go prints it ("60s" comes back as "1m0s")."""
    if not found:
        return None
    durations = {key: go_duration(found.get(field) or 0) for key, field in HEALTHCHECK_DURATIONS.items()}
    return {"tests": found.get("Test"), **durations, "retries": found.get("Retries") or 0}


def with_healthcheck_defaults(declared: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A declared healthcheck as the provider plans it: unset durations "0s", unset retries 0."""
    if not declared:
        return None
    return {"tests": declared.get("tests"), **{key: declared.get(key, "0s") for key in HEALTHCHECK_DURATIONS}, "retries": declared.get("retries", 0)}


def with_port_defaults(ports: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Declared ports with the schema's defaults (ip 0.0.0.0, protocol tcp), as the provider plans them."""
    return [{"ip": "0.0.0.0", "protocol": "tcp", **port} for port in ports]


def ports_diff_suppressed(old: list[Mapping[str, Any]], new: list[Mapping[str, Any]]) -> bool:
    """The provider's suppressIfPortsDidNotChangeForMigrationV0ToV1: True when it reports no change.

    Each stored binding is matched with the first declared one of the same container port (and
    protocol, when another declared binding has it); external port and ip must then be equal. Two
    bindings of one port and protocol therefore always differ: the container is replaced.
    """
    if len(old) != len(new):
        return False
    for port_old in old:
        found = False
        for port_new in new:
            if port_new["internal"] != port_old["internal"]:
                continue
            if port_new.get("protocol") != port_old.get("protocol"):
                if any(p["internal"] == port_old["internal"] and p.get("protocol") == port_old.get("protocol") for p in new):
                    continue
                return False
            if port_new.get("external") not in (None, port_old.get("external")) or port_new.get("ip") != port_old.get("ip"):
                return False
            found = True
            break
        if not found:
            return False
    return True
