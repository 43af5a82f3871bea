"""A checked compose file as typed values, named the way Compose names what it creates."""
from __future__ import annotations

import dataclasses
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path as FilePath
from typing import Any, Mapping, Optional

from components.compose_project.deploy import Deploy, DeployReading
from components.compose_project.files import FileMount, FilesReading
from components.compose_project.options import CONTAINER_PREFIX, SERVICE_PREFIX, OptionsReading, RunOptions
from components.compose_project.ports_mounts import Mount, Port, PortsAndMountsReading
from components.compose_project.normalise import compose_config, project_environment
from components.compose_project.reading import scalar_text
from components.compose_project.source import ComposeFileError, Path, parse
from components.compose_project.support import unsupported_keys
from components.container_resources import Minimum

DEFAULT_NETWORK = "default"
DEFAULT_DOCKERFILE = "Dockerfile"
# `deploy.restart_policy.condition` as the engine's restart policy (compose's mapRestartPolicyCondition).
RESTART_CONDITIONS = {"none": "no", "no": "no", "on-failure": "on-failure", "any": "always", "always": "always", "unless-stopped": "unless-stopped"}
CONDITIONS = ("service_started", "service_healthy", "service_completed_successfully")
# Docker refuses a health check's interval, timeout or start period under 1 ms (0 keeps the default).
HEALTHCHECK_DURATION_MINIMUM = Minimum(1, " ms", "Docker's")
# Keys declared on a service's containers that our SwarmService (a compose service with `deploy`, on a
# swarm) is not given: refused there rather than dropped.
CONTAINER_ONLY_KEYS = (
    "container_name", "volumes", "healthcheck", "restart", "labels", "hostname", "dns", "user", "working_dir",
    "stop_grace_period", "mem_limit", "mem_reservation", "cpus", "secrets", "configs", "stop_signal", "stdin_open", "tty",
    "platform", "cap_add", "cap_drop", "sysctls", "ulimits", "security_opt", "network_mode", "runtime", "init", "extra_hosts",
    "tmpfs", "shm_size", "logging", "privileged", "read_only", "dns_search", "dns_opt", "domainname", "group_add", "pid", "ipc",
    "userns_mode", "cpu_shares", "cpuset", "devices",
)
@dataclass(frozen=True)
class Healthcheck:
    test: tuple[str, ...]
    interval: Optional[str] = None
    timeout: Optional[str] = None
    start_period: Optional[str] = None
    start_interval: Optional[str] = None
    retries: Optional[int] = None


@dataclass(frozen=True)
class Build:
    context: str
    """Absolute path of the build context."""
    dockerfile: Optional[str] = None
    args: Mapping[str, str] = field(default_factory=dict)
    target: Optional[str] = None
    cache_from: tuple[str, ...] = ()
    """Images whose layers the build may reuse."""


@dataclass(frozen=True)
class Service:
    name: str
    image: Optional[str]
    build: Optional[Build] = None
    command: Optional[tuple[str, ...]] = None
    entrypoint: Optional[tuple[str, ...]] = None
    environment: Mapping[str, str] = field(default_factory=dict)
    ports: tuple[Port, ...] = ()
    expose: tuple[str, ...] = ()
    mounts: tuple[Mount, ...] = ()
    networks: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Network key -> aliases declared for it."""
    depends_on: Mapping[str, str] = field(default_factory=dict)
    """Service -> condition."""
    restarted_with: tuple[str, ...] = ()
    """Dependencies whose restart by Compose restarts this service too (long-form `depends_on` `restart: true`)."""
    addresses: Mapping[str, tuple[Optional[str], Optional[str]]] = field(default_factory=dict)
    """Network key -> the fixed (IPv4, IPv6) addresses the file gives the container on it."""
    pull_policy: Optional[str] = None
    """`missing` (as unset), `never` (the engine's image, never pulled) or `build`."""
    volumes_from: tuple[tuple[str, bool], ...] = ()
    """(`service:<name>` or `container:<name>`, read-only) whose volumes the container mounts too."""
    healthcheck: Optional[Healthcheck] = None
    restart: Optional[str] = None
    max_retry_count: Optional[int] = None
    labels: Mapping[str, str] = field(default_factory=dict)
    hostname: Optional[str] = None
    dns: tuple[str, ...] = ()
    user: Optional[str] = None
    working_dir: Optional[str] = None
    stop_grace_seconds: Optional[int] = None
    memory_mb: Optional[int] = None
    """`mem_limit`, or else `deploy.resources.limits.memory` (Compose refuses two different ones)."""
    memory_reservation_mb: Optional[int] = None
    cpus: Optional[str] = None
    """`cpus`, or else `deploy.resources.limits.cpus`."""
    deploy: Optional[Deploy] = None
    replicas: int = 1
    """`deploy.replicas` or `scale`: how many containers `docker compose up` runs."""
    container_name: Optional[str] = None
    options: RunOptions = field(default_factory=RunOptions)
    files: tuple[FileMount, ...] = ()
    """`secrets`, then `configs`."""
    swarm_only: tuple[str, ...] = ()
    """Keys of `deploy` that only a swarm reads: `docker compose up` leaves them aside."""
    container_refusals: tuple[str, ...] = ()
    """Why the service cannot be declared as plain containers (it may be as a swarm service)."""
    swarm_refusals: tuple[str, ...] = ()
    """Why it cannot be declared as a swarm service (it may be as containers)."""

    def container_names(self, project: str) -> tuple[str, ...]:
        """Compose's names for the service's containers, in order."""
        if self.container_name:
            return (self.container_name,) if self.replicas else ()
        return tuple(container_name(project, self.name, number) for number in range(1, self.replicas + 1))


@dataclass(frozen=True)
class Network:
    key: str
    name: str
    """The Docker name: `<project>_<key>`, or the `name` the file gives."""
    external: bool = False
    driver: Optional[str] = None
    internal: bool = False
    attachable: bool = False
    labels: Mapping[str, str] = field(default_factory=dict)
    subnets: tuple[Mapping[str, str], ...] = ()
    """`ipam.config`: each a `subnet` with optional `gateway` and `ip_range`."""


@dataclass(frozen=True)
class Volume:
    key: str
    name: str
    external: bool = False
    driver: Optional[str] = None
    driver_opts: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Project:
    name: str
    file: str
    """Absolute path of the compose file."""
    services: tuple[Service, ...]
    networks: Mapping[str, Network]
    volumes: Mapping[str, Volume]
    warnings: tuple[str, ...] = ()

    def service(self, name: str) -> Service:
        return next(service for service in self.services if service.name == name)

    def swarm_scoped(self, key: str, swarm: bool) -> bool:
        """Whether the network is an overlay network on a swarm: asked for, or joined by a swarm service (a
        service with `deploy`, when the project is deployed to a swarm)."""
        driver = self.networks[key].driver
        return driver == "overlay" or (
            driver is None and swarm and any(service.deploy and key in service.networks for service in self.services)
        )

    def refusals(self, swarm: bool) -> tuple[str, ...]:
        """Why the file cannot be declared as asked: each service as a swarm service (`deploy`, on a swarm) or as containers."""
        return tuple(
            refusal
            for service in self.services
            for refusal in (service.swarm_refusals if service.deploy and swarm else service.container_refusals)
        )

    def start_order(self) -> tuple[Service, ...]:
        """Services with each after those it depends on (the file's order otherwise)."""
        ordered: list[Service] = []
        def visit(service: Service) -> None:
            if service not in ordered:
                for dependency in service.depends_on:
                    visit(self.service(dependency))
                ordered.append(service)
        for service in self.services:
            visit(service)
        return tuple(ordered)


def container_name(project: str, service: str, number: int = 1) -> str:
    """Compose's name for a service's container, when the file gives none (`container_name`)."""
    return f"{project}-{service}-{number}"


def normalize_project_name(name: str) -> str:
    """Compose's rule: lowercase letters, digits, `-` and `_`, starting with a letter or digit."""
    return re.sub(r"^[^a-z0-9]+", "", re.sub(r"[^a-z0-9_-]", "", name.lower()))


def swarm_service_name(project: str, service: str) -> str:
    """`docker stack deploy`'s name for a service."""
    return f"{project}_{service}"


def load_project(file: str, variables: Mapping[str, str], project_name: Optional[str] = None) -> Project:
    """Docker Compose's own reading of the file (`docker compose config`: interpolation from `variables` and
    a `.env` beside the file, `extends`, `include`, profiles from COMPOSE_PROFILES, anchors), typed; every
    problem raises ComposeFileError at the file's line."""
    path = FilePath(file).resolve()
    try:
        text = path.read_text()
    except OSError as error:
        raise ComposeFileError(f"{file}: cannot read the compose file: {error.strerror}") from None
    # The file as written, for the line of each key: Compose's errors and ours point there.
    raw, source = parse(text, file)
    # `docker compose -p` refuses a name it would not make itself; this argument is made into one.
    data, warnings = compose_config(path, variables, normalize_project_name(project_name) if project_name else None, source)
    unsupported = unsupported_keys(data, source)
    if unsupported:
        raise ComposeFileError(
            "keys valid in Compose that this program does not declare (remove them or declare them another way):\n  "
            + "\n  ".join(unsupported)
        )
    # A secret or config from a variable takes it from the project's environment, `.env` included.
    wanted = {spec["environment"] for kind in ("secrets", "configs") for spec in (data.get(kind) or {}).values() if "environment" in (spec or {})}
    variables = project_environment(path, variables, project_name, wanted)
    reader = _Reader(data, source, path, variables, warnings)
    reader.warn_left_out(raw if isinstance(raw, dict) else {})
    return reader.project()


class _Reader(OptionsReading, FilesReading, DeployReading, PortsAndMountsReading):
    def project(self) -> Project:
        name = self.data["name"]
        raw_services = self.data.get("services") or {}
        if not raw_services:
            raise self.source.error(("services",), "no service to run: none is declared, or none is in an active profile "
                                    "(set COMPOSE_PROFILES in the variables)")
        services = tuple(self.service(key, value or {}) for key, value in self.in_file_order("services"))
        networks = {key: self.network(name, key, value or {}) for key, value in self.in_file_order("networks")}
        volumes = {key: self.volume(name, key, value or {}) for key, value in self.in_file_order("volumes")}
        for service in services:
            self.check_references(service, {service.name: service.replicas for service in services})
        sharing = {target: service.name for service in services for target in service.options.namespaces().values()}
        services = tuple(
            dataclasses.replace(
                service, swarm_refusals=service.swarm_refusals + (self.namespace_shared_on_a_swarm(service.name, sharing[service.name]),)
            )
            if service.name in sharing and service.deploy
            else service
            for service in services
        )
        project = Project(name, str(self.path), services, networks, volumes, tuple(self.warnings))
        return project

    def in_file_order(self, kind: str) -> list[tuple[str, Any]]:
        """Compose sorts services, networks and volumes by name: the file's order (then by name, for those from
        `include` or another file) is what a reader of the file expects."""
        entries = (self.data.get(kind) or {}).items()
        return sorted(entries, key=lambda item: (self.source.lines.get((kind, item[0]), float("inf")), item[0]))

    def warn_left_out(self, written: dict) -> None:
        """A service the file declares that Compose leaves out, as its profiles are not active, is named."""
        for name, raw in (written.get("services") or {}).items():
            profiles = (raw or {}).get("profiles") if isinstance(raw, dict) else None
            if profiles and name not in (self.data.get("services") or {}):
                self.warn(("services", name, "profiles"), f"not declared: none of its profiles {profiles} is active (COMPOSE_PROFILES)")

    def service(self, name: str, raw: dict) -> Service:
        at: Path = ("services", name)
        build = self.build(at + ("build",), raw["build"]) if "build" in raw else None
        if "image" not in raw and build is None:
            raise self.source.error(at, "has neither `image` nor `build`")
        options = self.run_options(at, raw)
        limits = self.container_limits(at, raw)
        user = str(raw["user"]) if "user" in raw else None
        depends_on, restarted_with = self.depends_on(raw.get("depends_on"))
        volumes_from = self.volumes_from(at + ("volumes_from",), raw.get("volumes_from"))
        files = self.file_mounts(at, "secrets", raw.get("secrets"), user) + self.file_mounts(at, "configs", raw.get("configs"), user)
        copied = [mount for mount in files if mount.content is not None]
        if options.read_only and copied:
            raise self.source.error(
                at + ("read_only",), f"{copied[0].kind[:-1]} {copied[0].source!r} is copied in, which a read-only container refuses "
                "(as `docker compose up` does): give it a `file` source"
            )
        joined = list(options.namespaces().values()) + [source[len(SERVICE_PREFIX):] for source, _ in volumes_from if source.startswith(SERVICE_PREFIX)]
        for target in joined:
            # Compose starts the service whose container this one joins (namespaces, volumes) first.
            depends_on.setdefault(target, "service_started")
        for linked in self.links(at + ("links",), raw.get("links")):
            # Compose starts a linked service first; its name resolves on the project's networks anyway.
            depends_on.setdefault(linked, "service_started")
        if "develop" in raw:
            self.warn(at + ("develop",), "left aside, as `docker compose up` leaves it: only `docker compose watch` reads it")
        restart, retries = self.restart_policy(at, raw)
        if "expose" in raw:
            self.warn(at + ("expose",), "not declared: pulumi-docker's Container has no exposed-ports input; "
                      "every port is reachable on the project's networks anyway")
        return Service(
            name=name,
            image=raw.get("image"),
            build=build,
            command=self.words(raw.get("command")),
            entrypoint=self.words(raw.get("entrypoint")),
            # Compose gives `env_file` entries in `environment` already, and leaves out a variable left unset.
            environment=self.mapping(raw.get("environment")),
            ports=tuple(port for index, item in enumerate(raw.get("ports") or []) for port in self.ports(at + ("ports", index), item)),
            expose=tuple(str(port) for port in raw.get("expose") or []),
            mounts=tuple(self.mount(at + ("volumes", index), item) for index, item in enumerate(raw.get("volumes") or [])),
            # A container in a `network_mode` joins no network of the project.
            networks={} if options.network_mode else self.service_networks(at + ("networks",), raw.get("networks")),
            addresses={} if options.network_mode else self.network_addresses(raw.get("networks")),
            depends_on=depends_on,
            restarted_with=restarted_with,
            volumes_from=volumes_from,
            pull_policy=self.pull_policy(at + ("pull_policy",), raw.get("pull_policy"), build is not None),
            healthcheck=self.healthcheck(at + ("healthcheck",), raw.get("healthcheck")),
            restart=restart,
            max_retry_count=retries,
            labels=self.mapping(raw.get("labels")),
            hostname=raw.get("hostname"),
            # Compose drops a repeated server.
            dns=tuple(dict.fromkeys([raw["dns"]] if isinstance(raw.get("dns"), str) else raw.get("dns") or ())),
            user=user,
            working_dir=raw.get("working_dir"),
            stop_grace_seconds=int(self.seconds(at + ("stop_grace_period",), raw["stop_grace_period"])) if "stop_grace_period" in raw else None,
            memory_mb=limits.memory_mb,
            memory_reservation_mb=limits.memory_reservation_mb,
            cpus=limits.cpus,
            # compose-go gives `deploy.replicas` the `scale` too, which a swarm reads.
            deploy=dataclasses.replace(self.deploy(at + ("deploy",), raw["deploy"]), replicas=limits.replicas) if "deploy" in raw else None,
            replicas=limits.replicas,
            container_name=raw.get("container_name"),
            options=options,
            files=files,
            swarm_only=limits.swarm_only,
            container_refusals=limits.refusals + self.shared_host_ports(at, raw, limits.replicas),
            swarm_refusals=tuple(
                str(self.source.error(at + (key,), "not declared on a swarm service (ComposeProject gives SwarmService image, "
                                      "command, environment, networks, ports and `deploy` only); run the service as containers "
                                      "(leave out `deploy`, or `swarm` off) or leave the key out"))
                for key in raw
                if key in CONTAINER_ONLY_KEYS and "deploy" in raw
            )
            + tuple(
                str(self.source.error(at + ("deploy", key), "not declared on a swarm service (SwarmService is not given it); run the "
                                      "service as containers (`swarm` off), which take it as `docker compose up` does, or leave it out"))
                for key in ("restart_policy", "labels")
                if key in (raw.get("deploy") or {})
            ),
        )

    def shared_host_ports(self, at: Path, raw: dict, replicas: int) -> tuple[str, ...]:
        """A fixed host port for several containers: Docker gives it to one, and `docker compose up` fails on the next."""
        if replicas < 2:
            return ()
        return tuple(
            str(self.source.error(at + ("ports", index), f"host port {port.published} for {replicas} containers: Docker gives it to one "
                                  "only; publish no host port (Docker picks one for each) or run one replica"))
            for index, item in enumerate(raw.get("ports") or [])
            for port in self.ports(at + ("ports", index), item)
            if port.published is not None
        )

    def build(self, at: Path, raw: Any) -> Build:
        spec = {"context": raw} if isinstance(raw, str) else raw
        context = (self.directory / spec.get("context", ".")).resolve()
        if not context.is_dir():
            raise self.source.error(at, f"build context {str(context)!r} is not a directory")
        return Build(
            context=str(context),
            # Compose fills in the default, which the build takes anyway.
            dockerfile=spec.get("dockerfile") if spec.get("dockerfile") != DEFAULT_DOCKERFILE else None,
            args=self.mapping(spec.get("args")),
            target=spec.get("target"),
            cache_from=tuple(spec.get("cache_from") or ()),
        )

    def links(self, at: Path, raw: Any) -> tuple[str, ...]:
        """Linked services. A link under the service's own name is what the project's networks give already (its
        name resolves there) plus the start order, which is declared; another name is refused."""
        linked = []
        for index, entry in enumerate(raw or ()):
            service, _, alias = str(entry).partition(":")
            if alias and alias != service:
                raise self.source.error(
                    at + (index,), f"a link under another name ({alias!r} for {service!r}): pulumi-docker's Container has no input for the "
                    f"engine's legacy Links; give {service!r} the alias under `networks.<network>.aliases` instead (every container on "
                    "that network then resolves it), or link it under its own name",
                )
            if service not in (self.data.get("services") or {}):
                raise self.source.error(at + (index,), f"links to {service!r}, which is not a service of the project (external links "
                                        "are the engine's legacy Links, which pulumi-docker's Container has no input for)")
            linked.append(service)
        if linked:
            self.warn(at, "declared as the start order: the linked services' names resolve on the project's networks already, so "
                      "the engine's legacy Links (which pulumi-docker's Container has no input for) add nothing")
        return tuple(linked)

    def pull_policy(self, at: Path, raw: Optional[str], built: bool) -> Optional[str]:
        if raw in (None, "missing", "if_not_present"):
            return None
        if raw in ("never", "always") or (raw == "build" and built):
            return raw
        raise self.source.error(at, f"{raw!r}: pulling by a clock needs the time of the last pull, which no declared resource "
                                "keeps; give `always` (the registry asked at every `up`) or leave `pull_policy` out (the image "
                                "is pulled when missing)")

    def restart_policy(self, at: Path, raw: dict) -> tuple[Optional[str], Optional[int]]:
        """`restart`, or `deploy.restart_policy`, which `docker compose up` gives plain containers too (it wins)."""
        policy = ((raw.get("deploy") or {}).get("restart_policy")) or {}
        if "condition" in policy or "max_attempts" in policy:
            condition = RESTART_CONDITIONS.get(policy.get("condition", "any"), policy.get("condition"))
            attempts = policy.get("max_attempts")
            where = at + ("deploy", "restart_policy")
            if condition not in ("no", "always", "on-failure", "unless-stopped"):
                raise self.source.error(where + ("condition",), f"{policy.get('condition')!r} is not a restart condition: none, on-failure or any")
            if attempts and condition != "on-failure":
                self.warn(where + ("max_attempts",), f"ignored for condition {policy.get('condition', 'any')!r}, as the engine ignores it "
                          "(it counts for on-failure only)")
                attempts = None
            return condition, int(attempts) if attempts else None
        return self.restart(at + ("restart",), raw.get("restart"))

    def restart(self, at: Path, raw: Optional[str]) -> tuple[Optional[str], Optional[int]]:
        if raw is None:
            return None, None
        policy, _, count = raw.partition(":")
        if policy not in ("no", "always", "on-failure", "unless-stopped") or (count and policy != "on-failure") or (count and not count.isdigit()):
            raise self.source.error(at, f"{raw!r} is not a restart policy: no, always, on-failure[:N] or unless-stopped")
        return policy, int(count) if count else None

    @staticmethod
    def words(raw: Any) -> Optional[tuple[str, ...]]:
        if raw is None:
            return None
        return tuple(shlex.split(raw)) if isinstance(raw, str) else tuple(str(word) for word in raw)

    def service_networks(self, at: Path, raw: Any) -> dict[str, tuple[str, ...]]:
        if raw is None:
            return {DEFAULT_NETWORK: ()}
        # In the file's order, as in `in_file_order`.
        ordered = sorted(raw.items(), key=lambda item: (self.source.lines.get(at + (item[0],), float("inf")), item[0]))
        return {key: tuple((value or {}).get("aliases") or ()) for key, value in ordered}

    @staticmethod
    def network_addresses(raw: Any) -> dict[str, tuple[Optional[str], Optional[str]]]:
        if not isinstance(raw, dict):
            return {}
        return {
            key: ((value or {}).get("ipv4_address"), (value or {}).get("ipv6_address"))
            for key, value in raw.items()
            if (value or {}).get("ipv4_address") or (value or {}).get("ipv6_address")
        }

    def depends_on(self, raw: Any) -> tuple[dict[str, str], tuple[str, ...]]:
        """Service -> condition, and those whose restart restarts this one. A dependency not `required` on a
        service Compose leaves out (its profile inactive) is dropped, as `docker compose up` drops it."""
        if raw is None:
            return {}, ()
        present = self.data.get("services") or {}
        kept = {key: value or {} for key, value in raw.items() if key in present or (value or {}).get("required", True)}
        return (
            {key: value.get("condition", "service_started") for key, value in kept.items()},
            tuple(key for key, value in kept.items() if value.get("restart")),
        )

    def volumes_from(self, at: Path, raw: Any) -> tuple[tuple[str, bool], ...]:
        found = []
        for index, entry in enumerate(raw or ()):
            parts = str(entry).split(":")
            if parts[0] == "container":
                source, modes = CONTAINER_PREFIX + (parts[1] if len(parts) > 1 else ""), parts[2:]
            else:
                source, modes = SERVICE_PREFIX + parts[0], parts[1:]
            if source.endswith(":") or len(modes) > 1 or (modes and modes[0] not in ("ro", "rw")):
                raise self.source.error(at + (index,), f"{entry!r} is not SERVICE[:ro|rw] or container:NAME[:ro|rw]")
            found.append((source, modes == ["ro"]))
        return tuple(found)

    def healthcheck(self, at: Path, raw: Optional[dict]) -> Optional[Healthcheck]:
        if raw is None:
            return None
        if raw.get("disable"):
            return Healthcheck(test=("NONE",))
        test = raw.get("test")
        if test is None:
            raise self.source.error(at, "a healthcheck without `test` (changing the image's) cannot be declared with pulumi-docker")
        durations = {key: self.duration(at + (key,), raw.get(key)) for key in ("interval", "timeout", "start_period", "start_interval")}
        for key, duration in durations.items():
            if duration is not None:
                self.at_least(at + (key,), self.seconds(at + (key,), duration) * 1000, HEALTHCHECK_DURATION_MINIMUM)
        return Healthcheck(
            test=("CMD-SHELL", test) if isinstance(test, str) else tuple(test), retries=raw.get("retries"), **durations
        )

    def network(self, project: str, key: str, raw: dict) -> Network:
        external = bool(raw.get("external", False))
        return Network(
            key=key,
            name=raw.get("name") or (key if external else f"{project}_{key}"),
            external=external,
            driver=raw.get("driver"),
            internal=bool(raw.get("internal", False)),
            attachable=bool(raw.get("attachable", False)),
            labels=self.mapping(raw.get("labels")),
            subnets=tuple(dict(pool) for pool in (raw.get("ipam") or {}).get("config") or ()),
        )

    def volume(self, project: str, key: str, raw: dict) -> Volume:
        external = bool(raw.get("external", False))
        return Volume(
            key=key,
            name=raw.get("name") or (key if external else f"{project}_{key}"),
            external=external,
            driver=raw.get("driver"),
            driver_opts={name: scalar_text(value) for name, value in (raw.get("driver_opts") or {}).items()},
            labels=self.mapping(raw.get("labels")),
        )

    def check_references(self, service: Service, replicas: Mapping[str, int]) -> None:
        """What Compose leaves to `up` to refuse. (Undefined services, networks and volumes, and dependency cycles,
        Compose's `config` refuses.)"""
        at: Path = ("services", service.name)
        self.check_namespaces(at, service.options, replicas)
        for dependency, condition in service.depends_on.items():
            if condition == "service_healthy" and not self.project_service_has_healthcheck(dependency):
                raise self.source.error(
                    at + ("depends_on", dependency), f"waits for {dependency!r} to be healthy, but {dependency!r} has no `healthcheck` test"
                )

    def project_service_has_healthcheck(self, name: str) -> bool:
        check = (self.data["services"][name] or {}).get("healthcheck") or {}
        return "test" in check and not check.get("disable")
