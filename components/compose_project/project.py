"""A compose file declared as Pulumi resources: Compose's names and labels, Pulumi's dependency graph."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Callable, Mapping, Optional

import pulumi
import pulumi_docker as docker

from components.compose_project.container_inputs import engine_mounts, file_uploads, file_volumes, option_inputs
from components.compose_project.model import Project, Service, load_project
from components.compose_project.ports_mounts import Mount
from components.compose_project.options import CONTAINER_PREFIX, SERVICE_PREFIX
from components.compose_project.source import ComposeFileError
from components.compose_project.swarm import swarm_service
from components.engine_forms import ipam_pool
from components.options import child_options, component_options
from components.pulled_image import pulled_image
from components.swarm_service import SwarmService

# The labels `docker compose` puts on what it creates and finds it by (`docker compose -p NAME ps`).
PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
NETWORK_LABEL = "com.docker.compose.network"
VOLUME_LABEL = "com.docker.compose.volume"
DEPENDS_ON_LABEL = "com.docker.compose.depends_on"
# `docker compose ps` lists only containers that carry one (its value tells Compose when to recreate).
CONFIG_HASH_LABEL = "com.docker.compose.config-hash"


@dataclass(frozen=True)
class ComposeProjectArgs:
    file: str
    """Path of the compose file; relative paths in it (build contexts, binds, env files) are from its folder."""
    variables: Mapping[str, str] = field(default_factory=dict)
    """What `${VAR}` in the file interpolates from (Compose's shell environment and `.env`)."""
    project_name: Optional[str] = None
    """Overrides the file's `name` (else its folder's name), as `docker compose -p` does."""
    swarm: bool = False
    """The provider's engine is a swarm manager: services with `deploy` become swarm services."""


class ComposeProject(pulumi.ComponentResource):
    project_name: pulumi.Output[str]
    container_names: pulumi.Output[Mapping[str, str]]
    """Service -> its first container's name (`container_name`, else `<project>-<service>-1`), for services run as containers."""
    network_names: pulumi.Output[Mapping[str, str]]
    """Network key in the file -> Docker name (`<project>_<key>`)."""
    volume_names: pulumi.Output[Mapping[str, str]]
    swarm_service_names: pulumi.Output[Mapping[str, str]]

    def __init__(self, name: str, args: ComposeProjectArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("orchestration:compose:ComposeProject", name, None, component_options(opts))
        project = load_project(args.file, args.variables, args.project_name)
        for warning in project.warnings:
            pulumi.log.warn(warning, resource=self)
        refusals = project.refusals(args.swarm)
        if refusals:
            raise ComposeFileError("\n".join(refusals))
        child = child_options(self, opts)
        networks = self._networks(name, project, args.swarm, child)
        volumes = {
            key: docker.Volume(
                f"{name}-volume-{key}",
                name=volume.name,
                driver=volume.driver,
                driver_opts=dict(volume.driver_opts) or None,
                labels=[
                    docker.VolumeLabelArgs(label=label, value=value)
                    for label, value in _labels(volume.labels, {PROJECT_LABEL: project.name, VOLUME_LABEL: key}).items()
                ],
                opts=child,
            ).name
            for key, volume in project.volumes.items()
            if not volume.external
        }
        volumes.update({key: volume.name for key, volume in project.volumes.items() if volume.external})

        # By service, for callers that need a container's addresses or order after a service: its first container.
        self.containers: dict[str, docker.Container] = {}
        self.swarm_services: dict[str, SwarmService] = {}
        declared: dict[str, list[pulumi.Resource]] = {}
        for service in project.start_order():
            reference = self._reference(name, service, project, child)
            after = [resource for dependency in service.depends_on for resource in declared[dependency]]
            if service.deploy and args.swarm:
                network_ids = {key: networks[key].id() for key in service.networks}
                self.swarm_services[service.name] = swarm_service(
                    f"{name}-{service.name}", project, service, reference.name, network_ids, child_options(self, opts, depends_on=after)
                )
                declared[service.name] = [self.swarm_services[service.name]]
                continue
            if service.swarm_only:
                pulumi.log.warn(
                    f"{project.file}: service {service.name!r}: {', '.join(f'`{key}`' for key in service.swarm_only)} only a swarm "
                    "reads; `docker compose up` leaves them aside too (the project is not deployed to a swarm)",
                    resource=self,
                )
            # Containers take the image's id, so a rebuilt or re-pulled image replaces them.
            image_id = (
                # `pull_policy: never`: the engine's own image, which is looked up, never pulled.
                docker.get_remote_image_output(name=reference.name, opts=pulumi.InvokeOptions(parent=self)).id
                if reference.local_only
                else pulled_image(
                    f"{name}-{service.name}-image", reference.name, child, triggers=self._pull_triggers(service, reference),
                    platform=service.options.platform,
                ).image_id
            )
            declared[service.name] = [
                self._container(name, project, service, number, container, image_id, networks, volumes, after, opts)
                for number, container in enumerate(service.container_names(project.name), start=1)
            ]
            if declared[service.name]:
                self.containers[service.name] = declared[service.name][0]

        self.project_name = pulumi.Output.from_input(project.name)
        self.container_names = _mapping({service: container.name for service, container in self.containers.items()})
        self.network_names = _mapping({key: ref.name for key, ref in networks.items()})
        self.volume_names = _mapping(volumes)
        self.swarm_service_names = _mapping({service: component.service_name for service, component in self.swarm_services.items()})
        self.register_outputs(
            {
                "project_name": self.project_name,
                "container_names": self.container_names,
                "network_names": self.network_names,
                "volume_names": self.volume_names,
                "swarm_service_names": self.swarm_service_names,
            }
        )

    def _networks(self, name: str, project: Project, swarm: bool, child: pulumi.ResourceOptions) -> dict[str, "_NetworkRef"]:
        # On a swarm, a network a swarm service joins must be an overlay network (`docker stack deploy`'s
        # default driver); attachable, so the project's plain containers can join it too.
        overlay = {key for service in project.services if service.deploy and swarm for key in service.networks}
        found: dict[str, _NetworkRef] = {}
        for key, network in project.networks.items():
            if network.external:
                found[key] = _NetworkRef(
                    network.name,
                    lambda name=network.name: docker.get_network_output(name=name, opts=pulumi.InvokeOptions(parent=self)).id,
                )
                continue
            created = docker.Network(
                f"{name}-network-{key}",
                name=network.name,
                driver=network.driver or ("overlay" if key in overlay else None),
                internal=network.internal or None,
                attachable=(network.attachable or key in overlay) or None,
                ipam_configs=[
                    ipam_pool(pool["subnet"], gateway=pool.get("gateway"), ip_range=pool.get("ip_range"))
                    if pool.get("subnet")
                    else docker.NetworkIpamConfigArgs(gateway=pool.get("gateway"), ip_range=pool.get("ip_range"))
                    for pool in network.subnets
                ]
                or None,
                labels=[
                    docker.NetworkLabelArgs(label=label, value=value)
                    for label, value in _labels(network.labels, {PROJECT_LABEL: project.name, NETWORK_LABEL: key}).items()
                ],
                opts=child,
            )
            found[key] = _NetworkRef(created.name, lambda created=created: created.id)
        return found

    def _pull_triggers(self, service: Service, reference: "_Reference") -> Optional[list]:
        """`pull_policy: always` as `up` pulls: the registry's digest of the tag, asked at every run, pulls the image
        again when it moves, so the containers are replaced when the image changed, and only then."""
        if service.pull_policy != "always":
            return reference.triggers
        return [docker.get_registry_image_output(name=reference.name, opts=pulumi.InvokeOptions(parent=self)).sha256_digest]

    def _reference(self, name: str, service: Service, project: Project, child: pulumi.ResourceOptions) -> "_Reference":
        """The service's image: as named, or built first when the service has `build`."""
        if service.build is None:
            assert service.image is not None
            return _Reference(service.image, local_only=service.pull_policy == "never")
        build = service.build
        built = docker.Image(
            f"{name}-{service.name}-build",
            # Compose's name for an image it builds without `image:`.
            image_name=service.image or f"{project.name}-{service.name}",
            build=docker.DockerBuildArgs(
                # Relative to where Pulumi runs, so the state does not hold this checkout's location.
                context=os.path.relpath(build.context),
                dockerfile=os.path.relpath(os.path.join(build.context, build.dockerfile)) if build.dockerfile else None,
                args=dict(build.args) or None,
                target=build.target,
                cache_from=docker.CacheFromArgs(images=list(build.cache_from)) if build.cache_from else None,
            ),
            skip_push=True,
            opts=child,
        )
        return _Reference(built.image_name, triggers=[built.repo_digest])

    def _container(
        self,
        name: str,
        project: Project,
        service: Service,
        number: int,
        container: str,
        image_id: pulumi.Input[str],
        networks: Mapping[str, _NetworkRef],
        volumes: Mapping[str, pulumi.Input[str]],
        after: list[pulumi.Resource],
        opts: pulumi.ResourceOptions | None,
    ) -> docker.Container:
        dependents = {other.depends_on.get(service.name) for other in project.services} - {None}
        one_shot = "service_completed_successfully" in dependents
        compose_labels: dict[str, pulumi.Input[str]] = {
            PROJECT_LABEL: project.name,
            SERVICE_LABEL: service.name,
            "com.docker.compose.container-number": str(number),
            "com.docker.compose.oneoff": "False",
            CONFIG_HASH_LABEL: config_hash(service),
        }
        if service.depends_on:
            compose_labels[DEPENDS_ON_LABEL] = self._depends_on_label(project, service)
        health = service.healthcheck
        shared = {target: self.containers[target].id for target in service.options.namespaces().values()}
        return docker.Container(
            # The first replica keeps the name a single container had, so scaling up replaces nothing.
            f"{name}-{service.name}" if number == 1 else f"{name}-{service.name}-{number}",
            name=container,
            image=image_id,
            command=list(service.command) if service.command is not None else None,
            entrypoints=list(service.entrypoint) if service.entrypoint is not None else None,
            envs=[f"{key}={value}" for key, value in service.environment.items()] or None,
            ports=[
                docker.ContainerPortArgs(internal=port.target, external=port.published, ip=port.host_ip, protocol=port.protocol)
                for port in service.ports
            ]
            or None,
            networks_advanced=[
                # Compose makes every container reachable by its service's name on each of its networks.
                docker.ContainerNetworksAdvancedArgs(
                    name=networks[key].name, aliases=[service.name, *aliases],
                    ipv4_address=service.addresses.get(key, (None, None))[0], ipv6_address=service.addresses.get(key, (None, None))[1],
                )
                for key, aliases in service.networks.items()
            ]
            or None,
            volumes=[
                docker.ContainerVolumeArgs(
                    container_path=mount.target,
                    host_path=mount.source if mount.bind else None,
                    volume_name=volumes[mount.source] if mount.source and not mount.bind else None,
                    read_only=mount.read_only or None,
                    selinux_relabel=mount.selinux,
                )
                for mount in service.mounts
                if not mount.engine_form
            ]
            + file_volumes(service)
            + self._volumes_from(service)
            or None,
            mounts=engine_mounts(service, volumes),
            uploads=file_uploads(service),
            healthcheck=docker.ContainerHealthcheckArgs(
                tests=list(health.test), interval=health.interval, timeout=health.timeout, start_period=health.start_period,
                start_interval=health.start_interval, retries=health.retries,
            ) if health else None,
            restart=service.restart,
            max_retry_count=service.max_retry_count,
            labels=[
                docker.ContainerLabelArgs(label=label, value=value) for label, value in _labels(service.labels, compose_labels).items()
            ],
            hostname=service.hostname,
            dns=list(service.dns) or None,
            user=service.user,
            working_dir=service.working_dir,
            stop_timeout=service.stop_grace_seconds,
            memory=service.memory_mb,
            # What the engine sets when only a memory limit is given (as Compose gives it): twice the limit.
            # The provider reads it back, so leaving it unset would propose an update on every run.
            memory_swap=2 * service.memory_mb if service.memory_mb else None,
            cpus=service.cpus,
            # A dependency others wait on healthy counts as created only once healthy (`service_healthy`).
            wait=True if "service_healthy" in dependents else None,
            # A one-shot dependency (`service_completed_successfully`) is run to its end before its
            # dependents; the provider does not fail on its exit code, the dependents' label does.
            attach=True if one_shot else None,
            must_run=False if one_shot else None,
            **option_inputs(service, shared),
            # A fixed container name cannot exist twice, even for a moment.
            opts=child_options(self, opts, depends_on=after, delete_before_replace=True),
        )

    def _volumes_from(self, service: Service) -> list[docker.ContainerVolumeArgs]:
        """As Compose mounts another service's volumes: from its first container."""
        return [
            docker.ContainerVolumeArgs(
                from_container=pulumi.Output.concat(
                    self.containers[source[len(SERVICE_PREFIX):]].name if source.startswith(SERVICE_PREFIX) else source[len(CONTAINER_PREFIX):],
                    ":ro" if read_only else "",
                )
            )
            for source, read_only in service.volumes_from
        ]

    def _depends_on_label(self, project: Project, service: Service) -> pulumi.Input[str]:
        """Compose's `service:condition:restart` list; it resolves only once every one-shot dependency
        exited 0, so a failed one stops its dependents as `docker compose up` does."""
        exits = {
            dependency: self.containers[dependency].exit_code
            for dependency, condition in service.depends_on.items()
            if condition == "service_completed_successfully" and dependency in self.containers
        }
        text = ",".join(
            f"{dependency}:{condition}:{'true' if dependency in service.restarted_with else 'false'}"
            for dependency, condition in service.depends_on.items()
        )

        def checked(codes: Mapping[str, Optional[int]]) -> str:
            failed = {dependency: code for dependency, code in codes.items() if code not in (0, None)}
            if failed:
                dependency, code = next(iter(failed.items()))
                raise pulumi.RunError(
                    f"compose project {project.name!r}: service {service.name!r} depends on {dependency!r} completing "
                    f"successfully, but it exited with code {code}"
                )
            return text

        return pulumi.Output.all(**exits).apply(checked) if exits else text


@dataclass(frozen=True)
class _NetworkRef:
    name: pulumi.Input[str]
    id: Callable[[], pulumi.Input[str]]
    """Swarm services take a network's id (its name would replace them on every run); looked up only then."""


@dataclass(frozen=True)
class _Reference:
    name: pulumi.Input[str]
    triggers: Optional[list] = None
    """A build's digest: re-resolves the image when the build makes a new one."""
    local_only: bool = False
    """Taken from the engine as it is, never pulled (`pull_policy: never`)."""


def config_hash(service: Service) -> str:
    """A digest of everything the file says about the service, as Compose keeps one. A secret's text is
    left out, as Compose's digest names its secrets only: a label is no place to derive one from."""
    said = dataclasses.asdict(service)
    # Messages, naming the file where this checkout has it: not what the file says.
    del said["container_refusals"], said["swarm_refusals"]
    # Fields added since the first release count only when set: the label is ForceNew, and an upgrade
    # should replace no container whose file does not use them.
    unset = dataclasses.asdict(Service(name=service.name, image=service.image))
    for key in _LATER_FIELDS:
        if said[key] == unset[key]:
            del said[key]
    # Mount fields added later, likewise.
    later_mount = dataclasses.asdict(Mount(target=""))
    for mount in said["mounts"]:
        for key in _LATER_MOUNT_FIELDS:
            if mount[key] == later_mount[key]:
                del mount[key]
    if said["build"] and not said["build"]["cache_from"]:
        del said["build"]["cache_from"]
    if "files" in said:
        said["files"] = [{key: value for key, value in mount.items() if key != "content"} for mount in said["files"]]
    return hashlib.sha256(json.dumps(said, sort_keys=True, default=str).encode()).hexdigest()


_LATER_FIELDS = (
    "memory_reservation_mb", "replicas", "container_name", "options", "files", "swarm_only", "restarted_with", "addresses", "volumes_from",
    "pull_policy",
)
_LATER_MOUNT_FIELDS = ("selinux", "tmpfs", "size_bytes", "mode", "propagation", "nocopy", "subpath")


def _labels(own: Mapping[str, str], compose: Mapping[str, pulumi.Input[str]]) -> dict[str, pulumi.Input[str]]:
    return {**own, **compose}


def _mapping(values: Mapping[str, pulumi.Input[str]]) -> pulumi.Output[Mapping[str, str]]:
    return pulumi.Output.all(**values) if values else pulumi.Output.from_input({})
