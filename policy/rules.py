"""The project's mandatory rules for what a stack deploys on Docker engines.

Each rule reads a resource's inputs as the engine hands them to the pack (camelCase, as in the
provider's schema). During a preview some inputs are not known yet (a container's image id before
its image is pulled); a rule checks what is known and leaves the rest to the images' own rules.
"""
from __future__ import annotations

import fnmatch
import ipaddress
import re
from typing import Any, Iterator, Mapping

from pulumi_policy import PolicyConfigSchema, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy
from pulumi_policy.proxy import UnknownValueError

CONTAINER = "docker:index/container:Container"
SERVICE = "docker:index/service:Service"
REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage"
IMAGE = "docker:index/image:Image"

# Server RPC, Serf LAN and WAN, HTTP, HTTPS and DNS; a Consul agent's container also answers DNS on 53.
CONSUL_PORTS = frozenset({8300, 8301, 8302, 8500, 8501, 8600})
CONSUL_AGENT_DNS_PORT = 53
# What Docker binds a published port to when no address is given, or when told "every address".
ALL_ADDRESSES = frozenset({"", "0.0.0.0", "::"})
DOCKER_SOCKETS = frozenset({"/var/run/docker.sock", "/run/docker.sock"})
RESTARTING = frozenset({"always", "unless-stopped", "on-failure"})
# Capabilities that amount to --privileged for a container that gets them.
PRIVILEGED_CAPABILITIES = frozenset({"ALL", "SYS_ADMIN", "CAP_SYS_ADMIN"})
_DIGEST = re.compile(r"@sha256:[0-9a-zA-Z]+$")
# The Docker label on a container of a Consul service mesh service (components/mesh_sidecar.py's MESH_LABEL).
MESH_LABEL = "orchestration.consul-mesh"
# On the container that publishes a mesh service's sidecar (its pod), the sidecar's public listener's port.
SIDECAR_PORT_LABEL = "orchestration.consul-mesh-sidecar-port"
LOOPBACK_NETWORKS = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))

_UNKNOWN = object()


def known(mapping: Any, key: str, default: Any = None) -> Any:
    """`mapping[key]`, `default` when absent, or _UNKNOWN while a preview cannot know it yet."""
    try:
        value = mapping.get(key) if isinstance(mapping, Mapping) else None
    except UnknownValueError:
        return _UNKNOWN
    return default if value is None else value


def items(mapping: Any, key: str) -> Iterator[Any]:
    """The known elements of the list at `key`."""
    values = known(mapping, key, ())
    if values is _UNKNOWN:
        return
    for index in range(len(values)):
        try:
            yield values[index]
        except UnknownValueError:
            continue


def image_problem(reference: str) -> str | None:
    """Why `reference` is not a fixed image, or None: an image id, a digest, or a tag other than `latest`."""
    if reference.startswith("sha256:") or _DIGEST.search(reference):
        return None
    last = reference.rsplit("/", 1)[-1]
    if ":" not in last:
        return f"image `{reference}` has no tag, so Docker takes `latest`, which moves: give it a fixed tag or a digest"
    if last.rsplit(":", 1)[1] == "latest":
        return f"image `{reference}` uses the tag `latest`, which moves: give it a fixed tag or a digest"
    return None


def _image_reference(args: ResourceValidationArgs) -> Any:
    props = args.props
    if args.resource_type == REMOTE_IMAGE:
        return known(props, "name")
    if args.resource_type == IMAGE:
        return known(props, "imageName")
    if args.resource_type == CONTAINER:
        return known(props, "image")
    if args.resource_type == SERVICE:
        return known(known(known(props, "taskSpec", {}), "containerSpec", {}), "image")
    return None


def pinned_images(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    reference = _image_reference(args)
    if isinstance(reference, str):
        problem = image_problem(reference)
        if problem:
            report_violation(f"{args.name}: {problem}", args.urn)


def _number(value: Any) -> Any:
    """Numbers reach the pack as floats (protobuf's Struct has no integers): 8500.0 is shown as 8500."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _is_consul_agent(props: Any) -> bool:
    command = [part for part in items(props, "command") if isinstance(part, str)]
    return len(command) >= 2 and command[0].rsplit("/", 1)[-1] == "consul" and command[1] == "agent"


def consul_ports_private(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    props = args.props
    if args.resource_type == CONTAINER:
        agent = _is_consul_agent(props)
        for port in items(props, "ports"):
            internal = _number(known(port, "internal"))
            external = _number(known(port, "external", internal))
            consul = {internal, external} & CONSUL_PORTS or (agent and internal == CONSUL_AGENT_DNS_PORT)
            address = known(port, "ip", "0.0.0.0")
            if consul and address in ALL_ADDRESSES:
                protocol = known(port, "protocol", "tcp")
                report_violation(
                    f"{args.name}: Consul's port {internal}/{protocol} is published as {external} on every address "
                    f"({address or 'no ip'}): bind it to a private or loopback address",
                    args.urn,
                )
    elif args.resource_type == SERVICE:
        # Swarm publishes a service's ports on every address of every node, in either publish mode.
        for port in items(known(props, "endpointSpec", {}), "ports"):
            ports = {_number(known(port, "targetPort")), _number(known(port, "publishedPort"))}
            if ports & CONSUL_PORTS:
                report_violation(
                    f"{args.name}: a swarm service publishes Consul's port {sorted(ports & CONSUL_PORTS)[0]} on every "
                    "address of every node: run Consul as containers bound to private addresses",
                    args.urn,
                )


def _on_loopback(address: str) -> bool:
    try:
        return any(ipaddress.ip_address(address) in network for network in LOOPBACK_NETWORKS)
    except ValueError:
        return False


def mesh_services_unpublished(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """In the mesh a service is reached through its sidecar, with mutual TLS and intentions: a published port bypasses both.

    The one exception is the sidecar's own public listener, which speaks mutual TLS only and checks every
    connection against the intentions: the container holding the namespace (the pod) names its port in a
    label, and may publish that port, and only that one, on a host's address, where the cluster's other
    hosts call it."""
    if args.resource_type != CONTAINER:
        return
    labels = {known(label, "label"): known(label, "value") for label in items(args.props, "labels")}
    service = labels.get(MESH_LABEL)
    if service is None:
        return
    label = labels.get(SIDECAR_PORT_LABEL)
    sidecar_port = int(label) if isinstance(label, str) and label.isdigit() else None
    for port in items(args.props, "ports"):
        address = known(port, "ip", "0.0.0.0")
        internal = _number(known(port, "internal"))
        if address is not _UNKNOWN and not _on_loopback(address) and internal != sidecar_port:
            report_violation(
                f"{args.name}: {service} is in the Consul service mesh, but its port {internal} is published on "
                f"{address or 'every address'}: reach it through its sidecar, or publish on loopback only",
                args.urn,
            )


def _long_running(props: Any) -> bool:
    return (
        known(props, "mustRun", True) is not False
        and known(props, "start", True) is not False
        and known(props, "attach", False) is not True
        and known(props, "rm", False) is not True
    )


def health_check_and_restart_policy(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != CONTAINER or not _long_running(args.props):
        return
    props = args.props
    healthcheck = known(props, "healthcheck")
    if healthcheck is not _UNKNOWN:
        tests = list(items(healthcheck, "tests"))
        if not tests or tests[0] == "NONE":
            report_violation(
                f"{args.name}: a long-running container needs a health check (`healthcheck.tests`), so Docker, "
                "`wait` and `docker ps` can tell a broken one from a working one",
                args.urn,
            )
    restart = known(props, "restart", "no")
    if restart is not _UNKNOWN and restart not in RESTARTING:
        report_violation(
            f"{args.name}: a long-running container needs a restart policy ({', '.join(sorted(RESTARTING))}), "
            f"not {restart!r}, so it comes back after a crash or a reboot of its engine",
            args.urn,
        )


def _allowed(args: ResourceValidationArgs, key: str) -> bool:
    """Whether the Docker name of this container or service is one the policy's config excepts."""
    name = known(args.props, "name")
    patterns = args.get_config().get(key) or []
    return isinstance(name, str) and any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def no_privileged_containers(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != CONTAINER or _allowed(args, "allowedPrivilegedNames"):
        return
    props = args.props
    if known(props, "privileged") is True:
        report_violation(f"{args.name}: runs --privileged, with every capability and every device of its engine", args.urn)
    granted = {cap for cap in items(known(props, "capabilities", {}), "adds") if isinstance(cap, str)}
    if granted & PRIVILEGED_CAPABILITIES:
        report_violation(
            f"{args.name}: is granted {sorted(granted & PRIVILEGED_CAPABILITIES)}, as good as --privileged", args.urn
        )


def _socket_mounts(args: ResourceValidationArgs) -> list[str]:
    props = args.props
    if args.resource_type == CONTAINER:
        sources = [known(volume, "hostPath") for volume in items(props, "volumes")]
        sources += [known(mount, "source") for mount in items(props, "mounts")]
    elif args.resource_type == SERVICE:
        spec = known(known(props, "taskSpec", {}), "containerSpec", {})
        sources = [known(mount, "source") for mount in items(spec, "mounts")]
    else:
        return []
    return sorted({source.rstrip("/") for source in sources if isinstance(source, str)} & DOCKER_SOCKETS)


def no_docker_socket_mounts(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    sockets = _socket_mounts(args)
    if sockets and not _allowed(args, "allowedSocketMountNames"):
        report_violation(
            f"{args.name}: mounts the Docker socket {sockets[0]}, which gives it root on its engine's host", args.urn
        )


def _exceptions(key: str) -> PolicyConfigSchema:
    return PolicyConfigSchema(
        properties={
            key: {
                "type": "array",
                "items": {"type": "string"},
                "default": [],
                "description": "Docker names (glob patterns) of the containers or services this rule excepts.",
            }
        }
    )


POLICIES = (
    ResourceValidationPolicy(
        name="pinned-images",
        description="No image uses `latest` or no tag: pulled, built, and run by containers and swarm services.",
        validate=pinned_images,
    ),
    ResourceValidationPolicy(
        name="consul-ports-private",
        description="No Consul port (8300-8302, 8500, 8501, 8600, an agent's 53) is published on every address.",
        validate=consul_ports_private,
    ),
    ResourceValidationPolicy(
        name="mesh-services-unpublished",
        description="With Consul's service mesh on, no port of a service in it is published outside loopback.",
        validate=mesh_services_unpublished,
    ),
    ResourceValidationPolicy(
        name="health-check-and-restart-policy",
        description="Every long-running container has a health check and a restart policy.",
        validate=health_check_and_restart_policy,
    ),
    ResourceValidationPolicy(
        name="no-privileged-containers",
        description="No container runs privileged (or with ALL or SYS_ADMIN), except those named in the config.",
        validate=no_privileged_containers,
        config_schema=_exceptions("allowedPrivilegedNames"),
    ),
    ResourceValidationPolicy(
        name="no-docker-socket-mounts",
        description="No container or swarm service mounts the Docker socket, except those named in the config.",
        validate=no_docker_socket_mounts,
        config_schema=_exceptions("allowedSocketMountNames"),
    ),
)
