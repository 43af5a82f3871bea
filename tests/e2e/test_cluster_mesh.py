"""The cluster stack in Consul's service mesh, its default, on a sandbox of three hosts, through the apply harness.

The seed's layout: a Consul server on larry, curly and moe, workers on larry and curly, the client on moe, with
the cluster's defaults (ACLs, TLS, the mesh with the built-in proxy). One deployment serves the module (tests run
in file order): the client's report on moe comes through the mesh from the workers on the other hosts; a worker's
app port is published nowhere and its pod publishes only its sidecar's mutual-TLS port on the host's address; a
caller with a mesh identity but no intention is refused; removing the allow intention stops the client's next call
and `up --refresh` restoring it lets the next one through, within seconds, with no container restarted on any
host; a capture in the client's namespace on moe sees only TLS to the sidecars on larry and curly; the sidecars
present leaf certificates of Consul's CA with the app's SPIFFE identity; a worker restarted in place answers
through its sidecar again within seconds; a second `up` changes nothing.
"""
from __future__ import annotations

import io
import socket
import ssl
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from tests.harness.local_images import BASE_IMAGE, CONSUL_IMAGE, PROJECT_DIR, require_base_image

from .cluster_support import Cluster, Sandbox, build_sandbox_images, clear_earlier_runs, sweep
from .support import PHASES, phase, wait_for
from .test_dev_mesh import CAPTURE_IMAGE, tcp_payloads

pytestmark = pytest.mark.docker

SANDBOX_STACK = "e2e-mesh-sandbox"
CLUSTER_STACK = "e2e-mesh"
# Apart from dev's 172.29.0.0/24 and the other sandboxes' 10.78.43-46.0/24.
SUBNET = "10.78.47.0/24"
HOSTS = ("larry", "curly", "moe")
WORKERS = ("larry", "curly")
# Each worker's sidecar, published on its host's address: the workers' ports (workerPort on).
SIDECAR_PORTS = (8081, 8082)
APP, CLIENT = "distributed_app", "distributed_client"
INTENTIONS = "/v1/config/service-intentions"
# How soon a changed intention, or a worker restarted in place, must hold for the next call.
WITHIN_SECONDS = 20


@pytest.fixture(scope="module")
def sandbox(engine) -> Sandbox:
    clear_earlier_runs(engine, CLUSTER_STACK, SANDBOX_STACK)
    build_sandbox_images(engine)
    require_base_image(engine)
    with phase("build capture image (tcpdump from Debian)"):
        engine.images.build(path=str(PROJECT_DIR / "tests/e2e/capture"), tag=CAPTURE_IMAGE, buildargs={"BASE_IMAGE": BASE_IMAGE}, rm=True)
    stack = Sandbox(engine, stack=SANDBOX_STACK, subnet=SUBNET)
    try:
        stack.apply("sandbox apply (larry, curly, moe and a registry)")
        stack.seed_registry([BASE_IMAGE, CONSUL_IMAGE, CAPTURE_IMAGE])
        yield stack
    finally:
        try:
            stack.destroy()
        finally:
            sweep(engine, f"{SANDBOX_STACK}-")
            stack.close()


@pytest.fixture(scope="module")
def mesh(sandbox: Sandbox) -> Cluster:
    stack = Cluster(sandbox, stack=CLUSTER_STACK)
    stack.config.pop("consulMesh", None)  # the cluster's default: on
    try:
        try:
            stack.apply("cluster apply in the mesh (builds our images on larry)")
        except Exception:
            print_mesh_logs(sandbox)
            raise
        yield stack
    finally:
        try:
            stack.destroy()
        except Exception:
            stack.forget()  # the sandbox's destroy takes the hosts and everything on them
            raise
        finally:
            stack.close()


def print_mesh_logs(sandbox: Sandbox) -> None:
    """What the workers, their sidecars and the client's say, on a failed apply (pytest shows it with the failure)."""
    for host in HOSTS:
        for container in sandbox.docker(host).containers.list(all=True, filters={"name": f"{CLUSTER_STACK}-"}):
            if container.name.endswith(("-sidecar", "-server1", "-server2", "-client")):
                print(f"--- {host} {container.name} ({container.status})\n{container.logs(tail=25).decode(errors='replace')}")


def app_reply(mesh: Cluster) -> dict[str, Any]:
    """The call to the app in the client's one-shot report on moe: through its sidecar's upstream."""
    return mesh.client_report("moe")["app"]


def consul_call(mesh: Cluster, method: str, path: str, **kwargs: Any) -> requests.Response:
    response = requests.request(method, mesh.consul_url("larry") + path, headers=mesh.management, timeout=10, verify=mesh.verify, **kwargs)
    response.raise_for_status()
    return response


def started(mesh: Cluster) -> dict[tuple[str, str], tuple[str, int]]:
    """(host, container) -> start time and restart count, for every container of the stack on every host."""
    found = {}
    for host in HOSTS:
        nested = mesh.sandbox.docker(host)
        for container in nested.containers.list(all=True, filters={"name": f"{CLUSTER_STACK}-"}):
            state = nested.api.inspect_container(container.id)
            found[(host, container.name)] = (state["State"]["StartedAt"], state["RestartCount"])
    return found


def test_the_clients_report_on_moe_comes_through_the_mesh_from_the_workers_on_larry_and_curly(mesh: Cluster, sandbox: Sandbox) -> None:
    reply = app_reply(mesh)
    assert reply["url"] == "http://127.0.0.1:9191/"
    assert reply["message"].startswith("Hello from Consul KV from server"), reply
    # The only instances the client's sidecar can pick: each worker's sidecar, at its host's address and port.
    proxies = mesh.consul("moe", f"/v1/health/connect/{APP}", passing="true")
    found = sorted((entry["Service"]["Address"] or entry["Node"]["Address"], entry["Service"]["Port"]) for entry in proxies)
    assert found == sorted((sandbox.address(host), port) for host in WORKERS for port in SIDECAR_PORTS)
    assert {entry["Node"]["Node"] for entry in proxies} == set(WORKERS)


def test_a_worker_publishes_nothing_and_its_pod_only_the_sidecars_mutual_tls_port(mesh: Cluster, sandbox: Sandbox) -> None:
    for host in WORKERS:
        nested = sandbox.docker(host)
        for index, port in enumerate(SIDECAR_PORTS, start=1):
            worker = nested.api.inspect_container(f"{CLUSTER_STACK}-server{index}")
            assert worker["HostConfig"]["PortBindings"] in (None, {}), host
            pod = nested.api.inspect_container(f"{CLUSTER_STACK}-server{index}-pod")
            assert worker["HostConfig"]["NetworkMode"] == f"container:{pod['Id']}"
            assert pod["HostConfig"]["PortBindings"] == {f"{port}/tcp": [{"HostIp": sandbox.address(host), "HostPort": str(port)}]}
            # Plain HTTP to the published port gets no answer: the sidecar speaks mutual TLS only.
            with socket.create_connection((sandbox.address(host), port), timeout=5) as plain:
                plain.sendall(b"GET / HTTP/1.0\r\n\r\n")
                plain.settimeout(5)
                try:
                    answer = plain.recv(100)
                except OSError:
                    answer = b""
            assert not answer.startswith(b"HTTP/"), (host, port, answer)


def test_a_mesh_identity_without_an_intention_is_refused(mesh: Cluster, sandbox: Sandbox) -> None:
    """`web`, with a valid certificate of its own, calls the app from moe: denied by default; the same call as
    the client's identity goes through, so the refusal is the intention's."""
    web = consul_call(mesh, "PUT", "/v1/acl/token", json={"ServiceIdentities": [{"ServiceName": "web"}], "Description": "e2e web"}).json()
    client = consul_call(mesh, "PUT", "/v1/acl/token", json={"ServiceIdentities": [{"ServiceName": CLIENT}]}).json()
    try:
        assert call_through_mesh(mesh, sandbox, "web", web["SecretID"]) == ""
        assert call_through_mesh(mesh, sandbox, CLIENT, client["SecretID"]).startswith("HTTP/1.0 200 OK")
    finally:
        for token in (web, client):
            consul_call(mesh, "DELETE", f"/v1/acl/token/{token['AccessorID']}")


def call_through_mesh(mesh: Cluster, sandbox: Sandbox, service: str, token: str) -> str:
    """What the app answers a GET through an unregistered built-in proxy on moe acting as `service` (empty: refused)."""
    script = (
        f"printf '%s' \"$CA\" > /tmp/ca.pem; "
        f"consul connect proxy -service {service} -upstream {APP}:9999 >/tmp/proxy.log 2>&1 & "
        "for i in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/9999) 2>/dev/null && break; sleep 0.2; done; "
        "exec 3<>/dev/tcp/127.0.0.1/9999; printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&3; timeout 5 cat <&3 || true"
    )
    output = sandbox.docker("moe").containers.run(
        sandbox.registry_images[CONSUL_IMAGE], ["bash", "-c", script], remove=True,
        environment={
            "CONSUL_HTTP_ADDR": mesh.consul_url("moe"), "CONSUL_CACERT": "/tmp/ca.pem", "CONSUL_HTTP_TOKEN": token,
            "CA": mesh.outputs["consulCaCert"],
        },
    )
    return output.decode()


def test_removing_the_allow_intention_stops_the_next_call_and_restoring_it_lets_it_through(mesh: Cluster) -> None:
    before = started(mesh)
    consul_call(mesh, "DELETE", f"{INTENTIONS}/{APP}")
    removed = time.monotonic()
    failure = wait_for("the client's call refused", lambda: (reply := app_reply(mesh)) and "error" in reply and reply, timeout=WITHIN_SECONDS, interval=0.2)
    PHASES.append(("  intention removed -> client's call on moe refused", time.monotonic() - removed))
    assert failure["error"]
    mesh.apply("up --refresh: the intention restored", refresh=True)
    assert mesh.changes() == [("create", "consul:index/configEntryServiceIntentions:ConfigEntryServiceIntentions", f"mesh-{APP}")]
    restored = time.monotonic()
    wait_for("the client's call through again", lambda: "message" in app_reply(mesh), timeout=WITHIN_SECONDS, interval=0.2)
    PHASES.append(("  intention restored -> client's call on moe through", time.monotonic() - restored))
    assert started(mesh) == before


def test_only_tls_crosses_between_the_hosts_sidecars(mesh: Cluster, sandbox: Sandbox) -> None:
    moe = sandbox.docker("moe")
    client = mesh.outputs["clientContainers"]["moe"]
    capture = moe.containers.run(
        sandbox.registry_images[CAPTURE_IMAGE], ["tcpdump", "-i", "eth0", "-U", "-s", "0", "-w", "/tmp/mesh.pcap", "tcp"],
        detach=True, network_mode=f"container:{client}", cap_add=["NET_ADMIN", "NET_RAW"], name=f"{CLUSTER_STACK}-e2e-capture",
    )
    try:
        time.sleep(1)
        for _ in range(4):
            assert "message" in app_reply(mesh)
        time.sleep(1)
        capture.stop(timeout=5)
        bits, _ = capture.get_archive("/tmp/mesh.pcap")
        with tarfile.open(fileobj=io.BytesIO(b"".join(bits))) as archive:
            pcap = archive.extractfile("mesh.pcap").read()
    finally:
        capture.remove(force=True)
    segments = tcp_payloads(pcap)
    to_sidecars = [payload for sport, dport, payload in segments if {sport, dport} & set(SIDECAR_PORTS) and payload]
    assert to_sidecars, "no traffic to the workers' sidecars captured"
    starts = {payload[0] for payload in to_sidecars}
    assert 0x16 in starts and 0x17 in starts and all(payload[1] == 3 for payload in to_sidecars if payload[0] in (0x16, 0x17))
    assert b"HTTP/1." not in b"".join(payload for _, _, payload in segments)  # the API is HTTPS, the proxies mutual TLS
    assert not [1 for sport, dport, _ in segments if 8080 in (sport, dport)]


def leaf_call(mesh: Cluster, sandbox: Sandbox, host: str, port: int) -> tuple[x509.Certificate, bytes]:
    """A GET to a worker's sidecar as the client's sidecar makes it: the client's leaf certificate, Consul's CA only."""
    roots = mesh.consul("larry", "/v1/connect/ca/roots")
    leaf = mesh.consul("moe", f"/v1/agent/connect/ca/leaf/{CLIENT}")
    folder = Path(tempfile.mkdtemp())
    (folder / "cert.pem").write_text(leaf["CertPEM"])
    (folder / "key.pem").write_text(leaf["PrivateKeyPEM"])
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.load_verify_locations(cadata="".join(root["RootCert"] for root in roots["Roots"]))
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    with context.wrap_socket(socket.create_connection((sandbox.address(host), port), timeout=5)) as tls:
        presented = x509.load_der_x509_certificate(tls.getpeercert(binary_form=True))
        tls.sendall(b"GET / HTTP/1.0\r\n\r\n")
        answer = b""
        while chunk := tls.recv(4096):
            answer += chunk
    return presented, answer


def test_sidecars_present_leaf_certificates_of_consuls_ca_with_the_apps_spiffe_identity(mesh: Cluster, sandbox: Sandbox) -> None:
    roots = mesh.consul("larry", "/v1/connect/ca/roots")
    [root] = [x509.load_pem_x509_certificate(r["RootCert"].encode()) for r in roots["Roots"] if r["Active"]]
    for host in WORKERS:
        presented, answer = leaf_call(mesh, sandbox, host, SIDECAR_PORTS[0])
        assert b"200" in answer.split(b"\r\n")[0], host
        assert presented.issuer == root.subject
        root.public_key().verify(presented.signature, presented.tbs_certificate_bytes, ec.ECDSA(presented.signature_hash_algorithm))
        uris = presented.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.UniformResourceIdentifier)
        assert uris == [f"spiffe://{roots['TrustDomain']}/ns/default/dc/dc1/svc/{APP}"]


def test_a_worker_restarted_in_place_answers_through_its_sidecar_again_within_seconds(mesh: Cluster, sandbox: Sandbox) -> None:
    """`docker restart` of server1 on larry: back in its pod's namespace beside its running sidecar, and reached
    through it again (server1 on larry is the sidecar at larry's first port) with no `up` and nothing else restarted."""
    before = started(mesh)
    sandbox.docker("larry").containers.get(f"{CLUSTER_STACK}-server1").restart(timeout=10)
    restarted = time.monotonic()

    def answers() -> bool:
        _, answer = leaf_call(mesh, sandbox, "larry", SIDECAR_PORTS[0])
        return b"200" in answer.split(b"\r\n")[0]

    wait_for("server1 on larry answering through its sidecar again", answers, timeout=WITHIN_SECONDS, interval=0.2)
    PHASES.append(("  worker restarted in place on larry -> answering through its sidecar", time.monotonic() - restarted))
    wait_for("the client's call through the mesh", lambda: "message" in app_reply(mesh), timeout=WITHIN_SECONDS, interval=0.5)
    after = started(mesh)
    moved = ("larry", f"{CLUSTER_STACK}-server1")
    assert after[moved] != before[moved]
    assert {key: at for key, at in after.items() if key != moved} == {key: at for key, at in before.items() if key != moved}


def test_a_second_apply_changes_nothing(mesh: Cluster) -> None:
    mesh.apply("cluster apply again in the mesh (no change)")
    assert mesh.changes() == []
