"""Each rule of the policy pack (policy/rules.py), called as the analyzer calls it, on resources that pass and that fail."""
from __future__ import annotations

from typing import Any

import pytest
from pulumi.runtime import rpc

from components.mesh_sidecar import MESH_LABEL, SIDECAR_PORT_LABEL
from policy.rules import CONTAINER, IMAGE, POLICIES, REMOTE_IMAGE, SERVICE, image_problem
from policy.rules import MESH_LABEL as RULE_MESH_LABEL
from policy.rules import SIDECAR_PORT_LABEL as RULE_SIDECAR_PORT_LABEL
from tests.support.policy import validate, validation_args

UNKNOWN = rpc.UNKNOWN
HEALTHY = {"tests": ["CMD", "true"]}


def container(**props: Any) -> dict[str, Any]:
    """A container every rule accepts, with `props` changed."""
    return {"name": "dev-thing", "image": "sha256:0123abcd", "restart": "unless-stopped", "healthcheck": HEALTHY, **props}


def service(**container_spec: Any) -> dict[str, Any]:
    return {"name": "dev-svc", "taskSpec": {"containerSpec": {"image": "alpine:3.20", **container_spec}}}


def messages(policy: str, typ: str, props: dict[str, Any], config: dict[str, Any] | None = None) -> list[str]:
    return validate(validation_args(typ, "thing", props, config), policy)


@pytest.mark.parametrize(
    "reference, problem",
    [
        ("redis:7", None),
        ("10.0.0.11:5000/orchestration/distributed_app:cluster", None),
        ("10.0.0.11:5000/orchestration/distributed_app@sha256:" + "ab" * 32, None),
        ("alpine:3.20@sha256:" + "cd" * 32, None),
        ("sha256:" + "ef" * 32, None),
        ("redis", "image `redis` has no tag, so Docker takes `latest`"),
        ("10.0.0.11:5000/orchestration/app", "image `10.0.0.11:5000/orchestration/app` has no tag"),
        ("redis:latest", "image `redis:latest` uses the tag `latest`"),
        ("localhost:5000/redis:latest", "image `localhost:5000/redis:latest` uses the tag `latest`"),
    ],
)
def test_what_counts_as_a_fixed_image(reference: str, problem: str | None) -> None:
    found = image_problem(reference)
    assert found == problem if problem is None else found.startswith(problem), found


@pytest.mark.parametrize(
    "typ, props",
    [
        (REMOTE_IMAGE, {"name": "redis"}),
        (IMAGE, {"imageName": "orchestration/composeapp:latest"}),
        (CONTAINER, container(image="redis:latest")),
        (SERVICE, service(image="alpine")),
    ],
    ids=["pulled", "built", "container", "service task"],
)
def test_an_unpinned_image_is_refused_wherever_it_appears(typ: str, props: dict[str, Any]) -> None:
    found = messages("pinned-images", typ, props)
    assert len(found) == 1 and found[0].startswith("thing: image `"), found


@pytest.mark.parametrize(
    "typ, props",
    [
        (REMOTE_IMAGE, {"name": "redis:7"}),
        (IMAGE, {"imageName": "orchestration/composeapp:dev"}),
        (CONTAINER, container()),
        (SERVICE, service(image="alpine:3.20@sha256:" + "ab" * 32)),
        # In a preview a container's image id is not known before its image is pulled: the image is checked itself.
        (CONTAINER, container(image=UNKNOWN)),
    ],
    ids=["pulled", "built", "container by id", "service by digest", "unknown in a preview"],
)
def test_a_pinned_image_passes(typ: str, props: dict[str, Any]) -> None:
    assert messages("pinned-images", typ, props) == []


CONSUL_AGENT = ["consul", "agent", "-server"]


@pytest.mark.parametrize(
    "props, published",
    [
        (container(ports=[{"internal": 8500, "external": 8500}]), "8500/tcp is published as 8500 on every address (0.0.0.0)"),
        (container(ports=[{"internal": 8500, "external": 18500, "ip": ""}]), "8500/tcp is published as 18500 on every address (no ip)"),
        (container(ports=[{"internal": 9000, "external": 8600, "ip": "0.0.0.0", "protocol": "udp"}]), "9000/udp is published as 8600"),
        (container(ports=[{"internal": 8301, "external": 8301, "ip": "::"}]), "8301/tcp is published as 8301 on every address (::)"),
        (container(command=CONSUL_AGENT, ports=[{"internal": 53, "external": 5353, "protocol": "udp"}]), "53/udp is published as 5353"),
    ],
    ids=["default address", "empty ip", "external port", "IPv6 any", "agent's DNS on 53"],
)
def test_a_consul_port_on_every_address_is_refused(props: dict[str, Any], published: str) -> None:
    found = messages("consul-ports-private", CONTAINER, props)
    assert len(found) == 1 and f"Consul's port {published}" in found[0], found


@pytest.mark.parametrize(
    "props",
    [
        container(command=CONSUL_AGENT, ports=[{"internal": 8500, "external": 8500, "ip": "127.0.0.1"}]),
        container(command=CONSUL_AGENT, ports=[{"internal": p, "external": p, "ip": "10.0.0.11"} for p in (8300, 8301, 8302, 8500, 53)]),
        # Port 53 is Consul's only in a Consul agent's container.
        container(command=["dnsmasq"], ports=[{"internal": 53, "external": 53, "protocol": "udp"}]),
        container(ports=[{"internal": 5000, "external": 5000, "ip": "0.0.0.0"}]),
        container(ports=[{"internal": 8500, "external": 8500, "ip": UNKNOWN}]),
    ],
    ids=["loopback", "private address", "53 of another container", "another port", "address unknown in a preview"],
)
def test_consul_ports_on_a_private_address_pass(props: dict[str, Any]) -> None:
    assert messages("consul-ports-private", CONTAINER, props) == []


def test_a_swarm_service_publishing_a_consul_port_is_refused() -> None:
    props = {**service(), "endpointSpec": {"ports": [{"targetPort": 8500, "publishedPort": 8500}]}}
    found = messages("consul-ports-private", SERVICE, props)
    assert found == [
        "thing: a swarm service publishes Consul's port 8500 on every address of every node: "
        "run Consul as containers bound to private addresses"
    ]
    assert messages("consul-ports-private", SERVICE, {**service(), "endpointSpec": {"ports": [{"targetPort": 80}]}}) == []


@pytest.mark.parametrize(
    "props, problem",
    [
        ({k: v for k, v in container().items() if k != "healthcheck"}, "needs a health check"),
        (container(healthcheck={"tests": ["NONE"]}), "needs a health check"),
        (container(healthcheck={"tests": []}), "needs a health check"),
        ({k: v for k, v in container().items() if k != "restart"}, "needs a restart policy (always, on-failure, unless-stopped), not 'no'"),
        (container(restart="no"), "not 'no'"),
    ],
    ids=["no health check", "health check NONE", "no test", "no restart policy", "restart no"],
)
def test_a_long_running_container_without_health_check_or_restart_policy_is_refused(props: dict[str, Any], problem: str) -> None:
    found = messages("health-check-and-restart-policy", CONTAINER, props)
    assert len(found) == 1 and problem in found[0], found


@pytest.mark.parametrize(
    "props",
    [
        container(),
        container(restart="always"),
        container(restart="on-failure"),
        # One-off containers need neither.
        container(healthcheck=None, restart="no", mustRun=False),
        container(healthcheck=None, restart="no", rm=True),
        container(healthcheck=None, restart="no", attach=True),
        container(healthcheck=UNKNOWN),
    ],
    ids=["unless-stopped", "always", "on-failure", "must not run", "removed on exit", "attached", "unknown in a preview"],
)
def test_containers_with_both_or_one_offs_pass(props: dict[str, Any]) -> None:
    assert messages("health-check-and-restart-policy", CONTAINER, props) == []


PRIVILEGED = "no-privileged-containers"


@pytest.mark.parametrize(
    "props, problem",
    [
        (container(privileged=True), "thing: runs --privileged"),
        (container(capabilities={"adds": ["ALL"], "drops": ["SYS_RESOURCE"]}), "thing: is granted ['ALL']"),
        (container(capabilities={"adds": ["NET_ADMIN", "SYS_ADMIN"]}), "thing: is granted ['SYS_ADMIN']"),
    ],
    ids=["privileged", "ALL capabilities", "SYS_ADMIN"],
)
def test_a_privileged_container_is_refused_unless_excepted_by_name(props: dict[str, Any], problem: str) -> None:
    found = messages(PRIVILEGED, CONTAINER, props)
    assert len(found) == 1 and found[0].startswith(problem), found
    assert messages(PRIVILEGED, CONTAINER, props, {"allowedPrivilegedNames": ["dev-thing"]}) == []
    assert messages(PRIVILEGED, CONTAINER, props, {"allowedPrivilegedNames": ["dev-*"]}) == []
    assert messages(PRIVILEGED, CONTAINER, props, {"allowedPrivilegedNames": ["dev-other"]}) == found


def test_an_unprivileged_container_passes() -> None:
    assert messages(PRIVILEGED, CONTAINER, container(privileged=False, capabilities={"adds": ["NET_ADMIN"]})) == []


SOCKET = "no-docker-socket-mounts"


@pytest.mark.parametrize(
    "typ, props",
    [
        (CONTAINER, container(volumes=[{"hostPath": "/var/run/docker.sock", "containerPath": "/var/run/docker.sock"}])),
        (CONTAINER, container(mounts=[{"type": "bind", "source": "/run/docker.sock", "target": "/sock"}])),
        (SERVICE, service(mounts=[{"type": "bind", "source": "/var/run/docker.sock", "target": "/var/run/docker.sock"}])),
    ],
    ids=["container volume", "container mount", "service mount"],
)
def test_a_docker_socket_mount_is_refused_unless_excepted_by_name(typ: str, props: dict[str, Any]) -> None:
    found = messages(SOCKET, typ, props)
    assert len(found) == 1 and "mounts the Docker socket" in found[0], found
    assert messages(SOCKET, typ, props, {"allowedSocketMountNames": [props["name"]]}) == []
    # The privileged list is another rule's: it excepts nothing here.
    assert messages(SOCKET, typ, props, {"allowedPrivilegedNames": [props["name"]]}) == found


def test_other_mounts_pass() -> None:
    props = container(volumes=[{"hostPath": "/sys/fs/cgroup", "containerPath": "/sys/fs/cgroup"}, {"volumeName": "data"}])
    assert messages(SOCKET, CONTAINER, props) == []
    assert messages(SOCKET, SERVICE, service(mounts=[{"type": "volume", "source": "data", "target": "/data"}])) == []


def test_every_rule_has_its_own_name_and_the_exception_lists_are_declared_config() -> None:
    names = [policy.name for policy in POLICIES]
    assert len(set(names)) == len(names) == 6
    schemas = {policy.name: policy.config_schema for policy in POLICIES if policy.config_schema}
    assert {name: list(schema.properties) for name, schema in schemas.items()} == {
        PRIVILEGED: ["allowedPrivilegedNames"],
        SOCKET: ["allowedSocketMountNames"],
    }


MESH_LABEL_OF = {"labels": [{"label": "orchestration.consul-mesh", "value": "distributed_app"}]}


@pytest.mark.parametrize(
    "ports, refused",
    [
        ([], []),
        ([{"internal": 8080, "external": 8081, "ip": "127.0.0.1"}, {"internal": 8080, "external": 8082, "ip": "::1"}], []),
        ([{"internal": 8080, "external": 8081, "ip": "10.0.0.11"}], ["10.0.0.11"]),
        ([{"internal": 8080, "external": 8081}], ["0.0.0.0"]),
        ([{"internal": 8080, "external": 8081, "ip": UNKNOWN}], []),
    ],
    ids=["nothing published", "loopback only", "a private address", "every address", "not known in a preview"],
)
def test_a_service_in_the_mesh_publishes_nothing_outside_loopback(ports: list, refused: list) -> None:
    found = messages("mesh-services-unpublished", CONTAINER, container(ports=ports, **MESH_LABEL_OF))
    assert [message.split(" is published on ")[1].split(":")[0] for message in found] == refused, found
    assert all(message.startswith("thing: distributed_app is in the Consul service mesh") for message in found)


def test_a_pod_in_the_mesh_publishes_its_sidecars_mutual_tls_port_and_nothing_else_on_a_host_address() -> None:
    """The exception the rule makes: the port the pod's label names as its sidecar's public listener."""
    pod = {"labels": [*MESH_LABEL_OF["labels"], {"label": "orchestration.consul-mesh-sidecar-port", "value": "8081"}]}
    sidecar = {"internal": 8081, "external": 8081, "ip": "10.0.0.11"}
    assert messages("mesh-services-unpublished", CONTAINER, container(ports=[sidecar], **pod)) == []
    app = {"internal": 8080, "external": 8080, "ip": "10.0.0.11"}
    [found] = messages("mesh-services-unpublished", CONTAINER, container(ports=[sidecar, app], **pod))
    assert "its port 8080 is published on 10.0.0.11" in found
    # Without the label, the sidecar's port is refused like any other.
    assert len(messages("mesh-services-unpublished", CONTAINER, container(ports=[sidecar], **MESH_LABEL_OF))) == 1


def test_a_container_outside_the_mesh_may_publish() -> None:
    assert messages("mesh-services-unpublished", CONTAINER, container(ports=[{"internal": 8080, "external": 8081}])) == []


def test_the_rule_knows_the_label_the_components_put_on_mesh_services() -> None:
    assert RULE_MESH_LABEL == MESH_LABEL
    assert RULE_SIDECAR_PORT_LABEL == SIDECAR_PORT_LABEL
