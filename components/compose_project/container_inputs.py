"""A service's run options, secrets and configs as pulumi-docker Container inputs, in the form the engine
reports them back where it rewrites them (so a refresh proposes nothing)."""
from __future__ import annotations

from typing import Any, Mapping, Optional

import pulumi
import pulumi_docker as docker

from components.compose_project.model import Service
from components.compose_project.options import CONTAINER_PREFIX
from components.engine_forms import capability


# What Compose waits for a container to stop when the file gives no `stop_grace_period` (the engine's default).
COMPOSE_STOP_GRACE_SECONDS = 10


def option_inputs(service: Service, shared: Mapping[str, pulumi.Input[str]]) -> dict[str, Any]:
    """`shared`: by service, the id of the container whose namespaces `service:<name>` joins."""
    options = service.options
    # As Compose sets them: the other service's (first) container by id.
    joined: dict[str, Optional[pulumi.Input[str]]] = {"network_mode": options.network_mode, "pid": options.pid, "ipc": options.ipc}
    joined.update({key: pulumi.Output.concat(CONTAINER_PREFIX, shared[target]) for key, target in options.namespaces().items()})
    capabilities = None
    if options.cap_add or options.cap_drop:
        capabilities = docker.ContainerCapabilitiesArgs(
            adds=[capability(name) for name in options.cap_add] or None,
            drops=[capability(name) for name in options.cap_drop] or None,
        )
    return dict(
        stop_signal=options.stop_signal,
        # Compose stops a container (SIGTERM, then `stop_grace_period`, 10 s by default) before removing it, on `down`
        # as on a recreate; the provider removes it by force unless given a grace period, so one is always given.
        destroy_grace_seconds=service.stop_grace_seconds if service.stop_grace_seconds is not None else COMPOSE_STOP_GRACE_SECONDS,
        stdin_open=options.stdin_open or None,
        tty=options.tty or None,
        platform=options.platform,
        capabilities=capabilities,
        sysctls=dict(options.sysctls) or None,
        ulimits=[docker.ContainerUlimitArgs(name=limit.name, soft=limit.soft, hard=limit.hard) for limit in options.ulimits] or None,
        security_opts=list(options.security_opt) or None,
        network_mode=joined["network_mode"],
        runtime=options.runtime,
        init=options.init,
        hosts=[docker.ContainerHostArgs(host=host, ip=address) for host, address in options.extra_hosts] or None,
        tmpfs=dict(options.tmpfs) or None,
        shm_size=options.shm_size_mb,
        log_driver=options.log_driver,
        log_opts=dict(options.log_options) or None,
        memory_reservation=service.memory_reservation_mb,
        privileged=options.privileged or None,
        read_only=options.read_only or None,
        dns_searches=list(options.dns_search) or None,
        dns_opts=list(options.dns_opt) or None,
        domainname=options.domainname,
        group_adds=list(options.group_add) or None,
        pid_mode=joined["pid"],
        ipc_mode=joined["ipc"],
        userns_mode=options.userns_mode,
        cpu_shares=options.cpu_shares,
        cpu_set=options.cpuset,
        devices=[
            docker.ContainerDeviceArgs(host_path=device.source, container_path=device.target, permissions=device.permissions)
            for device in options.devices
        ]
        or None,
    )


def file_volumes(service: Service) -> list[docker.ContainerVolumeArgs]:
    """Secrets and configs from files, bind-mounted read-only; a volume at the same target wins, as in Compose."""
    taken = {mount.target for mount in service.mounts}
    return [
        docker.ContainerVolumeArgs(container_path=mount.target, host_path=mount.file, read_only=True)
        for mount in service.files
        if mount.file is not None and mount.target not in taken
    ]


def engine_mounts(service: Service, volumes: Mapping[str, pulumi.Input[str]]) -> Optional[list[docker.ContainerMountArgs]]:
    """`type: tmpfs` volumes, with their size and mode, bind mounts with a propagation and volume mounts with
    `nocopy` or `subpath`: the engine's Mounts form, which Compose makes them in too. `volumes`: the Docker
    name of each of the project's volumes."""
    named = [
        docker.ContainerMountArgs(
            type="volume", source=volumes[mount.source] if mount.source else None, target=mount.target, read_only=mount.read_only or None,
            volume_options=docker.ContainerMountVolumeOptionsArgs(no_copy=mount.nocopy or None, subpath=mount.subpath),
        )
        for mount in service.mounts
        if (mount.nocopy or mount.subpath) and not mount.bind and not mount.tmpfs
    ]
    binds = [
        docker.ContainerMountArgs(
            type="bind", source=mount.source, target=mount.target, read_only=mount.read_only or None,
            bind_options=docker.ContainerMountBindOptionsArgs(propagation=mount.propagation),
        )
        for mount in service.mounts
        if mount.propagation
    ]
    mounts = named + binds + [
        docker.ContainerMountArgs(
            type="tmpfs", target=mount.target, read_only=mount.read_only or None,
            tmpfs_options=docker.ContainerMountTmpfsOptionsArgs(size_bytes=mount.size_bytes, mode=mount.mode)
            if mount.size_bytes is not None or mount.mode is not None
            else None,
        )
        for mount in service.mounts
        if mount.tmpfs
    ]
    return mounts or None


def file_uploads(service: Service) -> Optional[list[docker.ContainerUploadArgs]]:
    """Secrets and configs from a variable or inline text, copied in with their mode and owner; a secret's
    text is kept secret in the state."""
    uploads = [
        docker.ContainerUploadArgs(
            file=mount.target,
            content=pulumi.Output.secret(mount.content) if mount.kind == "secrets" else mount.content,
            permissions=f"0{mount.mode:o}",
            owner=mount.uid,
            group=mount.gid,
        )
        for mount in service.files
        if mount.content is not None
    ]
    return uploads or None
