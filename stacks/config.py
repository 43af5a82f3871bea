"""The stack's configuration, read once from Pulumi config into typed objects.

Every check runs here, before any resource is registered, and every error names
the key (as `orchestration:<key>`) and the form it expects. With `hostsFromStack`,
the cluster's hosts come from another stack's outputs, read (not registered) first.
"""
from __future__ import annotations

import difflib
import ipaddress
import os
import re
from dataclasses import dataclass
from typing import Any, Optional

import pulumi
from pulumi.runtime.sync_await import _sync_await

from components.compose_project import ComposeFileError, Project, load_project
from components.registry import RegistryLogin
from stacks.collisions import check_collisions
from stacks.config_values import DNS_LABEL, ConfigError, ConfigValues
from stacks.deploy_config import (
    ComposeWeb,
    ContainerResources,
    NodeSettings,
    SwarmWorkloads,
    container_resources,
    node_settings,
    swarm_workloads,
)
from stacks.engine_holdings import check_engine_holdings, read_holdings
from stacks.mesh_config import MeshConfig, mesh_config

ENVIRONMENTS = ("local", "cluster", "sandbox")
CONSUL_SERVER_COUNTS = (1, 3, 5)
# Consul refuses a larger performance.raft_multiplier.
MAX_RAFT_MULTIPLIER = 10
HOST_ROLES = ("consul-server", "app", "client")
# In the sandbox's subnet: the registry at .10, the hosts from .11 on, clear of the gateway
# and of the low addresses Docker hands out to containers without a fixed one.
SANDBOX_REGISTRY_NUMBER = 10
SANDBOX_FIRST_HOST_NUMBER = 11

# Every key of the project's namespace the program reads, in any environment. Pulumi.yaml declares
# or documents each (a test keeps the three equal); any other is a mistake, most often a typo.
KNOWN_KEYS = frozenset(
    {
        "environment", "datacenter", "consulServers", "appWorkers", "workerPort", "webPort", "heyworldReplicas",
        "greeting", "redisImage", "consulImage", "heyworldImage", "appBaseImage", "buildPlatform",
        "buildCaCertificates", "dockerHost", "publishAddress", "consulHttpPort", "consulDnsPort", "networkSubnet",
        "swarmAdvertiseAddress", "redisThroughConsul", "hosts", "hostsFromStack", "swarmManager", "buildDockerHost",
        "registry", "registryUsername", "registryPassword", "dockerTlsCa", "dockerTlsCert", "dockerTlsKey",
        "sandboxHosts", "sandboxRoles", "sandboxSubnet", "sandboxHostImage", "sandboxRegistryImage", "sandboxPrivileged",
        "heyworldDeploy", "swarmServices", "nodeLabels", "drainedHosts", "containerResources",
        "consulGossipEncryption", "consulAcl", "consulTls", "consulRaftMultiplier", "retainData", "swarmAutolock",
        "composeFile", "composeVariables", "composeSwarm", "composeWeb", "consulMesh", "meshProxy", "meshEnvoyImage",
    }
)

# Keys only the cluster environment reads: elsewhere they would be ignored, so given there they are a mistake
# (most often a forgotten `environment: cluster`). Keys with a default in Pulumi.yaml cannot be told apart
# from their default, so only these, which have none, are checked.
CLUSTER_ONLY_KEYS = (
    "hosts", "hostsFromStack", "swarmManager", "buildDockerHost", "registry", "registryUsername", "registryPassword",
    "dockerTlsCa", "dockerTlsCert", "dockerTlsKey",
)
HOST_FIELDS = ("name", "docker", "address", "roles")
LAST_PORT = 65535

# Docker's own rule for container, network and volume names.
_DOCKER_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")

@dataclass(frozen=True)
class Images:
    """Image references. Defaults are the public images; tests point them at local builds."""

    redis: str
    consul: str
    heyworld: str
    app_base: str
    """Base image our own Dockerfiles build FROM (their BASE_IMAGE build argument)."""
    platform: str
    """os/architecture our images are built for."""
    build_ca_certificates: Optional[str] = None
    """PEM certificates pip trusts in our builds, behind a proxy that re-signs TLS."""


@dataclass(frozen=True)
class DockerTls:
    """Client TLS material for `tcp://` engines (secret config)."""

    ca: pulumi.Output[str]
    cert: pulumi.Output[str]
    key: pulumi.Output[str]


@dataclass(frozen=True)
class Host:
    name: str
    docker_url: str
    address: str
    """The host's private address: Consul advertises it and publishes its ports on it."""
    roles: frozenset[str]


@dataclass(frozen=True)
class Workload:
    """What the workloads run with, in every environment."""

    web_port: int
    consul_servers: int
    app_workers: int
    """distributed_app workers per app host."""
    worker_port: int
    """Port of the first worker; worker i listens on worker_port + i."""
    heyworld_replicas: int
    greeting: str
    kv_prefix: str
    consul_gossip_encryption: bool
    consul_acl: bool
    """Deny by default, each workload with a token of its own; on by default in the cluster only."""
    consul_tls: bool
    """HTTPS only and verified RPC between servers, with a CA made for the stack; on by default in the cluster only."""
    consul_raft_multiplier: Optional[int]
    """Consul's raft timing scale; the cluster's default is 1 (Consul's advice for production), dev keeps Consul's own."""
    retain_data: bool
    """Consul's and Redis's volumes outlive `pulumi destroy`, and a new stack of the same name takes them up."""
    consul_mesh: Optional[MeshConfig] = None
    """Consul's service mesh, or None where it is off (dev's default); on by default in the cluster."""


@dataclass(frozen=True)
class LocalConfig:
    docker_url: str
    publish_address: str
    """Host address the published ports bind to."""
    consul_http_port: int
    consul_dns_port: int
    swarm_advertise_address: str
    network_subnet: str
    """The stack's network; containers find Consul DNS at its last address."""
    redis_through_consul: bool
    """Web finds Redis as `redis.service.consul` instead of by its container alias."""

    @property
    def network_gateway(self) -> str:
        return str(next(ipaddress.ip_network(self.network_subnet).hosts()))

    @property
    def consul_dns_address(self) -> str:
        """The first Consul server's fixed address, clear of those Docker hands out from the bottom up."""
        return str(ipaddress.ip_network(self.network_subnet)[-2])

    @property
    def redis_address(self) -> str:
        """Redis's fixed address, below Consul's: the catalog registers it, and it must outlast a reboot."""
        return str(ipaddress.ip_network(self.network_subnet)[-3])

    @property
    def web_address(self) -> str:
        """Web's, likewise."""
        return str(ipaddress.ip_network(self.network_subnet)[-4])


@dataclass(frozen=True)
class ClusterConfig:
    hosts: tuple[Host, ...]
    swarm_manager: str
    build_docker_url: str
    """The engine that builds our images before they are pushed to the registry."""
    registry: RegistryLogin
    tls: Optional[DockerTls]
    nodes: NodeSettings = NodeSettings()
    """Swarm node labels and drained hosts."""
    hosts_key: str = "hosts"
    """The key the hosts came from (`hosts` or `hostsFromStack`), for errors about one of them."""

    def with_role(self, role: str) -> tuple[Host, ...]:
        return tuple(host for host in self.hosts if role in host.roles)

    def host(self, name: str) -> Host:
        return next(host for host in self.hosts if host.name == name)


@dataclass(frozen=True)
class SandboxHost:
    name: str
    address: str
    """Its fixed address in the sandbox's subnet."""
    roles: tuple[str, ...] = HOST_ROLES
    """What a cluster stack on the sandbox runs there (its `hosts` output): `sandboxRoles`, else the chapter's."""


@dataclass(frozen=True)
class SandboxConfig:
    hosts: tuple[SandboxHost, ...]
    subnet: str
    registry_address: str
    host_image: str
    """An image with dockerd inside (apps/dind-host)."""
    registry_image: str
    privileged: bool
    """Nested engines run --privileged; else with a capability list, for engines that refuse --privileged."""


@dataclass(frozen=True)
class ComposeConfig:
    """A compose file the stack declares as it is (`ComposeProject`), already checked."""

    file: str
    variables: dict[str, str]
    """What its `${VAR}` interpolate from: the process environment, with `composeVariables` over it."""
    project: Project
    swarm: bool
    """`composeSwarm`: services with `deploy` become swarm services (`docker stack deploy`), else containers
    as `docker compose up` runs them."""


@dataclass(frozen=True)
class StackConfig:
    stack: str
    environment: str
    datacenter: str
    images: Images
    workload: Workload
    swarm: SwarmWorkloads
    """How the swarm services are placed and rolled out, and the services config adds."""
    containers: ContainerResources
    """CPU and memory limits of the Consul servers', the workers' and the client's containers."""
    local: Optional[LocalConfig]
    cluster: Optional[ClusterConfig]
    sandbox: Optional[SandboxConfig]
    compose: Optional[ComposeConfig] = None


def load(config: pulumi.Config | None = None, stack: str | None = None) -> StackConfig:
    """Reads and validates the whole stack configuration."""
    reader = _Reader(config or pulumi.Config(), stack or pulumi.get_stack())
    return reader.stack_config()


class _Reader(ConfigValues):
    def __init__(self, config: pulumi.Config, stack: str) -> None:
        super().__init__(config)
        self._stack = stack

    def stack_config(self) -> StackConfig:
        if not _DOCKER_NAME.match(self._stack):
            raise ConfigError(
                f"stack name {self._stack!r} cannot prefix Docker names: use letters, digits, '_', '.', '-'"
            )
        self.refuse_unknown_keys(KNOWN_KEYS)
        environment = self.choice("environment", ENVIRONMENTS, default="local")
        if environment != "cluster":
            for name in CLUSTER_ONLY_KEYS:
                if self._config.get(name) is not None:
                    raise self.fail(
                        name, f"applies to the cluster environment only, and `{self.key('environment')}` is {environment!r}"
                    )
        workload = self.workload(environment)
        local = cluster = sandbox = None
        if environment == "local":
            local = self.local_config()
        elif environment == "cluster":
            cluster = self.cluster_config(workload)
        else:
            sandbox = self.sandbox_config()
        compose = self.compose_config(environment)
        swarm = swarm_workloads(self)
        self.check_compose_web(swarm.compose_web, environment, local, workload.web_port)
        config = StackConfig(
            stack=self._stack,
            environment=environment,
            datacenter=self.dns_label("datacenter", default="dc1"),
            images=Images(
                redis=self.image("redisImage", default="redis:7"),
                consul=self.image("consulImage", default="hashicorp/consul:1.16"),
                heyworld=self.image("heyworldImage", default="alpine:3.20"),
                app_base=self.image("appBaseImage", default="python:3.12-slim"),
                platform=self.platform("buildPlatform", default="linux/amd64"),
                build_ca_certificates=self._config.get("buildCaCertificates") or None,
            ),
            workload=workload,
            swarm=swarm,
            containers=container_resources(self),
            local=local,
            cluster=cluster,
            sandbox=sandbox,
            compose=compose,
        )
        check_collisions(config, self)
        # Another stack on the engine may hold a port or subnet this one is set to take. Checked on every run,
        # not only a preview: `up --skip-preview` plans nothing first, and the program runs before anything
        # of this one changes, so what the engine holds then is the others' (its own go by their names).
        if local is not None:
            holdings = read_holdings(config, local.docker_url)
            if holdings is not None:
                check_engine_holdings(config, self, holdings)
        return config

    def compose_config(self, environment: str) -> Optional[ComposeConfig]:
        file = self._config.get("composeFile")
        given = self.json_value("composeVariables", default={})
        if not isinstance(given, dict) or not all(isinstance(value, (str, int, float, bool)) for value in given.values()):
            raise self.fail("composeVariables", f"{given!r}: expected a map of variable names to strings")
        if file is None:
            if given:
                raise self.fail("composeVariables", "is only read with `orchestration:composeFile`")
            if self._config.get("composeSwarm") is not None:
                raise self.fail("composeSwarm", "is only read with `orchestration:composeFile`")
            return None
        if environment == "sandbox":
            raise self.fail("composeFile", "the sandbox environment runs only the hosts; deploy the file from `cluster` (hostsFromStack)")
        if not os.path.isfile(file):
            raise self.fail("composeFile", f"{file!r} is not a file (paths are relative to the project folder)")
        variables = {**os.environ, **{name: _variable_text(value) for name, value in given.items()}}
        try:
            project = load_project(file, variables)
        except ComposeFileError as error:
            raise self.fail("composeFile", str(error)) from None
        # A cluster's engines are one swarm, which a compose file there is meant for; one engine runs it as
        # `docker compose up` would unless asked.
        swarm = self.boolean("composeSwarm", default=environment == "cluster")
        refusals = project.refusals(swarm)
        if refusals:
            raise self.fail("composeFile", "\n".join(refusals))
        return ComposeConfig(file=file, variables=variables, project=project, swarm=swarm)

    def workload(self, environment: str) -> Workload:
        return Workload(
            web_port=self.port("webPort", default=5000),
            consul_servers=self.choice("consulServers", CONSUL_SERVER_COUNTS, default=1, parse=self.int_value),
            app_workers=self.integer("appWorkers", default=2, minimum=1),
            worker_port=self.port("workerPort", default=8081),
            heyworld_replicas=self.integer("heyworldReplicas", default=2, minimum=0),
            greeting=self.text("greeting", default="Hello from Consul KV"),
            kv_prefix=f"distributed_app/{self._stack}/",
            consul_gossip_encryption=self.boolean("consulGossipEncryption", default=True),
            consul_acl=self.boolean("consulAcl", default=environment == "cluster"),
            consul_tls=self.boolean("consulTls", default=environment == "cluster"),
            consul_raft_multiplier=self.raft_multiplier(environment),
            retain_data=self.boolean("retainData", default=True),
            consul_mesh=mesh_config(self, environment),
        )

    def local_config(self) -> LocalConfig:
        return LocalConfig(
            docker_url=self.docker_url("dockerHost", default="unix:///var/run/docker.sock"),
            publish_address=self.ip("publishAddress", default="127.0.0.1"),
            consul_http_port=self.port("consulHttpPort", default=8500),
            consul_dns_port=self.port("consulDnsPort", default=8600),
            swarm_advertise_address=self.ip("swarmAdvertiseAddress", default="127.0.0.1"),
            network_subnet=self.subnet("networkSubnet", default="172.29.0.0/24"),
            redis_through_consul=self.boolean("redisThroughConsul", default=False),
        )

    def check_compose_web(self, web: ComposeWeb, environment: str, local: Optional[LocalConfig], web_port: int) -> None:
        """What a swarm-mode web cannot do in this environment, said before Swarm would leave a task pending."""
        if web.mode != "swarm":
            return
        if local is None:
            raise self.fail("composeWeb.mode", f"the compose app runs in the local environment only, and `{self.key('environment')}` is {environment!r}")
        if local.redis_through_consul:
            raise self.fail(
                "composeWeb.mode",
                f"web's swarm tasks join only overlay networks, where Consul's DNS at {local.consul_dns_address} does not answer; "
                f"`{self.key('redisThroughConsul')}` needs `mode: container`",
            )
        if web.publish_mode == "host":
            # dev's swarm is its one engine: one task holds the host port.
            if web.replicas != 1:
                raise self.fail(
                    "composeWeb.replicas",
                    f"{web.replicas} tasks with `publishMode: host` on one engine: only one can hold port {web_port}; use 1, or publishMode ingress",
                )
            rollout = web.deploy.rollout
            if rollout.strategy == "rolling" and rollout.order == "start-first":
                raise self.fail(
                    "composeWeb.rollout.order",
                    "'start-first' with `publishMode: host` on one engine: the new task would wait for the old one's port forever "
                    "(Swarm: no suitable node (host-mode port already in use on 1 node)); use stop-first",
                )

    def cluster_config(self, workload: Workload) -> ClusterConfig:
        hosts_stack = self.hosts_stack()
        hosts_key = "hostsFromStack" if hosts_stack else "hosts"
        hosts = self.hosts(hosts_key, self.raw_hosts(hosts_stack))
        names = [host.name for host in hosts]
        swarm_manager = self.text("swarmManager", default=names[0])
        if swarm_manager not in names:
            raise self.fail("swarmManager", f"{swarm_manager!r} is not a host; expected one of {names}")
        for role in HOST_ROLES:
            if not any(role in host.roles for host in hosts):
                raise self.fail(hosts_key, f"no host has the role {role!r}; every role in {list(HOST_ROLES)} needs one")
        servers = sum("consul-server" in host.roles for host in hosts)
        if servers not in CONSUL_SERVER_COUNTS:
            raise self.fail(
                hosts_key,
                f"{servers} hosts have the role 'consul-server'; Consul needs an odd quorum: one of {list(CONSUL_SERVER_COUNTS)}",
            )
        self.check_worker_ports(workload)
        return ClusterConfig(
            hosts_key=hosts_key,
            hosts=hosts,
            swarm_manager=swarm_manager,
            build_docker_url=self.build_docker_url(hosts_stack),
            registry=self.registry(hosts_stack),
            tls=self.tls(),
            nodes=node_settings(self, tuple(names)),
        )

    def hosts_stack(self) -> Optional[_ReferencedStack]:
        """The stack named by `hostsFromStack`, whose outputs stand in for `hosts` (and `registry`)."""
        name = self._config.get("hostsFromStack")
        if name is None:
            return None
        if self.json_value("hosts", default=None) is not None:
            raise self.fail("hostsFromStack", "set either it or `orchestration:hosts`, not both")
        if not name.strip():
            raise self.fail("hostsFromStack", "must not be empty: e.g. organization/orchestration/sandbox")
        return _ReferencedStack(name)

    def raw_hosts(self, hosts_stack: Optional[_ReferencedStack]) -> Any:
        if hosts_stack:
            raw = hosts_stack.output("hosts")
            if raw is None:
                raise self.fail(
                    "hostsFromStack", f"stack {hosts_stack.name!r} has no `hosts` output; deploy it first (environment sandbox)"
                )
            return raw
        raw = self.json_value("hosts", default=None)
        if raw is None:
            raise self.fail(
                "hosts", "required for the cluster environment: a list of {name, docker, address, roles}, or `hostsFromStack`"
            )
        return raw

    def hosts(self, key: str, raw: Any) -> tuple[Host, ...]:
        """Hand-written hosts (`key` is `hosts`) or a stack's `hosts` output (`hostsFromStack`), checked alike."""
        if not isinstance(raw, list) or not raw:
            raise self.fail(key, "expected a non-empty list of {name, docker, address, roles}")
        hosts = tuple(self.host(f"{key}[{index}]", item) for index, item in enumerate(raw))
        for attribute in ("name", "address", "docker_url"):
            values = [getattr(host, attribute) for host in hosts]
            duplicates = sorted({value for value in values if values.count(value) > 1})
            if duplicates:
                raise self.fail(key, f"duplicate host {attribute.replace('_url', '')} {duplicates}; each host needs its own")
        return hosts

    def host(self, where: str, item: Any) -> Host:
        if not isinstance(item, dict):
            raise self.fail(where, "expected an object {name, docker, address, roles}")
        unknown = sorted(set(item) - set(HOST_FIELDS))
        if unknown:
            closest = difflib.get_close_matches(unknown[0], HOST_FIELDS, n=1)
            hint = f"; did you mean {closest[0]!r}?" if closest else ""
            raise self.fail(where, f"unknown fields {unknown}; expected {', '.join(HOST_FIELDS)}{hint}")
        missing = [field for field in HOST_FIELDS[:3] if item.get(field) is None]
        if missing:
            raise self.fail(where, f"missing fields {missing}; expected name, docker, address and optionally roles")
        name = item.get("name")
        if not isinstance(name, str) or not DNS_LABEL.match(name):
            raise self.fail(f"{where}.name", f"{name!r} is not a lowercase DNS label (letters, digits, '-')")
        roles = item.get("roles", list(HOST_ROLES))
        if not isinstance(roles, list) or any(role not in HOST_ROLES for role in roles):
            raise self.fail(f"{where}.roles", f"{roles!r}: expected a list of {list(HOST_ROLES)}")
        return Host(
            name=name,
            docker_url=self.check_docker_url(f"{where}.docker", item.get("docker")),
            address=self.check_ip(f"{where}.address", item.get("address")),
            roles=frozenset(roles),
        )

    def raft_multiplier(self, environment: str) -> Optional[int]:
        if self._config.get("consulRaftMultiplier") is None and environment != "cluster":
            return None
        value = self.integer("consulRaftMultiplier", default=1, minimum=1)
        if value > MAX_RAFT_MULTIPLIER:
            raise self.fail("consulRaftMultiplier", f"{value} is above Consul's maximum of {MAX_RAFT_MULTIPLIER}")
        return value

    def check_worker_ports(self, workload: Workload) -> None:
        last = workload.worker_port + workload.app_workers - 1
        if last > LAST_PORT:
            raise self.fail("workerPort", f"{workload.app_workers} workers from port {workload.worker_port} need ports up to {last}, past {LAST_PORT}")

    def build_docker_url(self, hosts_stack: Optional[_ReferencedStack]) -> str:
        # The sandbox's registry speaks plain HTTP: only an engine that trusts it, like its hosts', can push.
        referenced = hosts_stack.output("buildDockerHost") if hosts_stack else None
        return self.docker_url("buildDockerHost", default=referenced or "unix:///var/run/docker.sock")

    def registry(self, hosts_stack: Optional[_ReferencedStack]) -> RegistryLogin:
        server = self._config.get("registry") or (hosts_stack.output("registry") if hosts_stack else None)
        if not server:
            raise self.fail(
                "registry",
                "required for the cluster environment: the hosts pull the images built here from it (e.g. registry.example.com:5000)",
            )
        return RegistryLogin(
            server=self.check_server_address("registry", server),
            username=self._config.get("registryUsername"),
            password=self.secret("registryPassword"),
        )

    def tls(self) -> Optional[DockerTls]:
        parts = {name: self.secret(name) for name in ("dockerTlsCa", "dockerTlsCert", "dockerTlsKey")}
        given = [name for name, value in parts.items() if value is not None]
        if not given:
            return None
        if len(given) != len(parts):
            missing = sorted(set(parts) - set(given))
            raise self.fail(missing[0], "dockerTlsCa, dockerTlsCert and dockerTlsKey go together; set all three")
        return DockerTls(ca=parts["dockerTlsCa"], cert=parts["dockerTlsCert"], key=parts["dockerTlsKey"])

    def sandbox_config(self) -> SandboxConfig:
        names = self.sandbox_host_names()
        subnet = self.subnet("sandboxSubnet", default="10.77.0.0/24")
        network = ipaddress.ip_network(subnet)
        # The last address is the subnet's broadcast address.
        if SANDBOX_FIRST_HOST_NUMBER + len(names) > network.num_addresses - 1:
            raise self.fail(
                "sandboxSubnet",
                f"{subnet!r} has no room for {len(names)} hosts from .{SANDBOX_FIRST_HOST_NUMBER} on; use a larger subnet",
            )
        roles = self.sandbox_roles(names)
        return SandboxConfig(
            hosts=tuple(
                SandboxHost(name, str(network[SANDBOX_FIRST_HOST_NUMBER + index]), roles[name]) for index, name in enumerate(names)
            ),
            subnet=subnet,
            registry_address=str(network[SANDBOX_REGISTRY_NUMBER]),
            host_image=self.image("sandboxHostImage", default="orchestration/dind-host:bookworm"),
            registry_image=self.image("sandboxRegistryImage", default="registry:2"),
            privileged=self.boolean("sandboxPrivileged", default=True),
        )

    def sandbox_roles(self, names: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
        """Each host's roles: those `sandboxRoles` gives it, else the chapter's; a set a cluster could not run is refused here."""
        given = self.json_value("sandboxRoles", default={})
        if not isinstance(given, dict):
            raise self.fail("sandboxRoles", f"{given!r}: expected a map of host names to lists of {list(HOST_ROLES)}")
        for name, roles in given.items():
            if name not in names:
                raise self.fail(f"sandboxRoles.{name}", f"is not a sandbox host; `{self.key('sandboxHosts')}` names {list(names)}")
            if not isinstance(roles, list) or any(role not in HOST_ROLES for role in roles):
                raise self.fail(f"sandboxRoles.{name}", f"{roles!r}: expected a list of {list(HOST_ROLES)}")
        roles = {name: tuple(given[name]) if name in given else chapter_roles(names, name) for name in names}
        servers = [name for name in names if "consul-server" in roles[name]]
        if len(servers) not in CONSUL_SERVER_COUNTS:
            raise self.fail(
                "sandboxRoles",
                f"{len(servers)} hosts have the role 'consul-server' ({', '.join(servers) or 'none'}); "
                f"Consul needs an odd quorum: one of {list(CONSUL_SERVER_COUNTS)}",
            )
        for role in HOST_ROLES:
            if not any(role in host_roles for host_roles in roles.values()):
                raise self.fail("sandboxRoles", f"no host has the role {role!r}; every role in {list(HOST_ROLES)} needs one")
        return roles

    def sandbox_host_names(self) -> tuple[str, ...]:
        names = self.json_value("sandboxHosts", default=["larry", "curly", "moe"])
        if not isinstance(names, list) or not names:
            raise self.fail("sandboxHosts", f"{names!r}: expected a non-empty list of host names")
        for name in names:
            if not isinstance(name, str) or not DNS_LABEL.match(name):
                raise self.fail("sandboxHosts", f"{name!r} is not a lowercase DNS label (letters, digits, '-')")
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise self.fail("sandboxHosts", f"duplicate host name {duplicates}; each host needs its own")
        return tuple(names)


def chapter_roles(names: tuple[str, ...], name: str) -> tuple[str, ...]:
    """The chapter's roles: a Consul server on each of the first three hosts (the first only, with fewer
    than three), workers on all but the last, the client on the last; one host runs everything."""
    if len(names) == 1:
        return HOST_ROLES
    index = names.index(name)
    server = ("consul-server",) if index < (3 if len(names) >= 3 else 1) else ()
    return (*server, "client") if index == len(names) - 1 else (*server, "app")


def _variable_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class _ReferencedStack:
    """Another stack's outputs as plain values: host names name resources, so they cannot wait in an Output."""

    def __init__(self, name: str) -> None:
        self.name = name
        # Named after the key: where the stack cannot be read, the engine's error appears under it.
        self._reference = pulumi.StackReference("hostsFromStack", stack_name=name)

    def output(self, key: str) -> Any:
        """The output's value, or None when the stack has no such output (or only a secret one)."""
        # get_output_details is a coroutine and this program is synchronous: wait for it the
        # way the SDK waits for its own synchronous invokes.
        return _sync_await(self._reference.get_output_details(key)).value
