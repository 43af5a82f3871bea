"""The dev stack with Consul's service mesh (`consulMesh`), ACLs and TLS on, applied for real through the harness.

One deployment serves the module, made by docs/mesh.md's "Turning it on" as pasted (its `pulumi` served by
tests/harness/cli.py), whose other blocks run as pasted too, each command's output checked against what the
doc shows beside it (test_dev_mesh_real_pulumi.py runs them through the real CLI): the client's report
comes through the mesh; nothing reaches a worker
but through its sidecar, and a mesh identity without an intention is refused; removing the allow
intention stops the client's next call and restoring it lets the next one through, within seconds and
with no container restarted; a capture on the stack's network shows only TLS between the sidecars; the
certificates they present are signed by Consul's CA and carry the service's SPIFFE identity; a second
`up` changes nothing.
"""
from __future__ import annotations

import io
import json
import re
import socket
import ssl
import struct
import tarfile
import tempfile
import time
from pathlib import Path

import docker
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from components.consul_tls import HTTPS_PORT
from components.mesh_sidecar import SIDECAR_PORT
from tests.harness.local_images import BASE_IMAGE, PROJECT_DIR, require_base_image
from tests.support.docs import Command

from .doc_runner import Shell, harness_cli_shell, prints_nothing_to_check, project_doc, run_documented, scratch_folder
from .support import PHASES, STATE_DIR, DevStack, build_stand_in_images, client_report, machine_config, phase, wait_for

pytestmark = pytest.mark.docker

DOC = project_doc("docs/mesh.md")
RUNNER = "tests/e2e/test_dev_mesh.py"
# docs/mesh.md's commands as a user pastes them on dev (the stack `make up` selected), block by block.
TURN_ON = [
    "pulumi config set consulMesh true",
    "pulumi config set consulAcl true",
    "pulumi config set consulTls true",
    "pulumi up",
]
TURNED_ON = {"consulMesh": True, "consulAcl": True, "consulTls": True}
LOGS = "docker logs --tail 12 dev-client"
ONE_REPORT = "docker exec -e INTERVAL=0 dev-client python app.py --json"
CA_FILE = "pulumi stack output consulCaCert > consul-ca.pem"
TOKEN = 'export CONSUL_HTTP_TOKEN="$(pulumi stack output --show-secrets consulManagementToken)"'
REMOVE = 'curl -s --cacert consul-ca.pem -H "X-Consul-Token: $CONSUL_HTTP_TOKEN" -X DELETE https://localhost:8500/v1/config/service-intentions/distributed_app'
AGENTS_HEAR = "sleep 2"
RESTORE = "pulumi up --refresh"
# This machine's, under the doc's: the stand-in images, and a subnet of its own (a network another test
# left on the default one does not stop it).
MACHINE = {**machine_config(), "networkSubnet": "10.213.90.0/24"}
MESH = {**TURNED_ON, "networkSubnet": MACHINE["networkSubnet"]}
CAPTURE_IMAGE = "orchestration-e2e/capture:latest"
INTENTIONS = "/v1/config/service-intentions"
APP, CLIENT = "distributed_app", "distributed_client"
# How soon a worker restarted in place answers through its sidecar again.
RESTART_SECONDS = 20


@pytest.fixture(scope="module")
def doc_shell() -> Shell:
    """A terminal whose `pulumi` is the harness's, over a backend folder of its own."""
    with scratch_folder() as folder:
        yield harness_cli_shell(Path(folder), STATE_DIR, {"dev": MACHINE})


@pytest.fixture(scope="module")
def mesh(engine, doc_shell: Shell) -> DevStack:
    build_stand_in_images(engine)
    stack = DevStack(engine, MESH)
    try:
        with phase("first apply (dev stack in the mesh): docs/mesh.md's commands through the harness's pulumi"):
            doc_shell.run("pulumi stack select --create dev --secrets-provider passphrase")  # what `make up` did
            run_documented(DOC, RUNNER, dict.fromkeys(TURN_ON, prints_nothing_to_check), doc_shell)
        configured = json.loads((Path(doc_shell.cwd) / "backend" / "dev.config.json").read_text())
        assert configured == {key: "true" for key in TURNED_ON}
        stack.adopt(json.loads(doc_shell.run("pulumi stack output --json --show-secrets")))
        yield stack
    finally:
        try:
            stack.destroy()
        finally:
            stack.close()


def app_reply(engine: docker.DockerClient, mesh: DevStack) -> dict:
    """The client's one-shot report's call to the app, through its sidecar's upstream."""
    return client_report(engine, mesh.outputs["clientContainer"])["app"]


def consul_call(mesh: DevStack, method: str, path: str, **kwargs) -> requests.Response:
    response = requests.request(method, mesh.consul_http + path, headers=mesh.management, timeout=10, verify=mesh.verify, **kwargs)
    response.raise_for_status()
    return response


def started(engine: docker.DockerClient) -> dict[str, tuple[str, int]]:
    """Every dev container's start time and restart count."""
    found = {}
    for container in engine.containers.list(all=True, filters={"name": "dev-"}):
        state = engine.api.inspect_container(container.id)
        found[container.name] = (state["State"]["StartedAt"], state["RestartCount"])
    return found


def client_logs_show_the_app_through_the_mesh(output: str, command: Command) -> None:
    """`... App at http://127.0.0.1:9191/: Hello from Consul KV from server1 on server1`: the last report's call."""
    calls = re.findall(r"^App at .*$", output, flags=re.MULTILINE)
    assert calls and re.fullmatch(r"App at http://127\.0\.0\.1:9191/: Hello from Consul KV from server\d on server\d", calls[-1]), output


def _reported_call(output: str) -> dict:
    """The `app` of the one report's JSON line."""
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    app = json.loads(lines[0])["app"]
    assert app["url"] == "http://127.0.0.1:9191/", app
    return app


def one_report_through_the_mesh(output: str, command: Command) -> None:
    """`"app": {"url": "http://127.0.0.1:9191/", "message": ...}`"""
    app = _reported_call(output)
    assert app.get("message", "").startswith("Hello from Consul KV from server"), app


def one_report_refused(output: str, command: Command) -> None:
    """`"app": {"url": ..., "error": ...}: refused`"""
    app = _reported_call(output)
    assert app.get("error") and "message" not in app, app


def consul_deleted_it(output: str, command: Command) -> None:
    """`{}`: Consul's answer to a config entry's DELETE, not a refusal (`Permission denied` without the token)."""
    assert output.strip() == "{}", output


REMOVED = {CA_FILE: prints_nothing_to_check, TOKEN: prints_nothing_to_check, REMOVE: consul_deleted_it,
           AGENTS_HEAR: prints_nothing_to_check, ONE_REPORT: one_report_refused}
THROUGH_AGAIN = {AGENTS_HEAR: prints_nothing_to_check, ONE_REPORT: one_report_through_the_mesh}


def the_harness_recreated_one(output: str, command: Command) -> None:
    """`the intention is recreated: 1 created`: the harness's `pulumi up` counts its changes."""
    assert re.search(r"\b1 changes\b", output), output


def test_docs_then_block_as_pasted(mesh: DevStack, doc_shell: Shell) -> None:
    run_documented(DOC, RUNNER, {LOGS: client_logs_show_the_app_through_the_mesh, ONE_REPORT: one_report_through_the_mesh}, doc_shell)


def test_the_clients_report_comes_through_the_mesh(mesh: DevStack, engine) -> None:
    reply = app_reply(engine, mesh)
    assert reply["url"] == "http://127.0.0.1:9191/"
    assert reply["message"].startswith("Hello from Consul KV from server"), reply
    # Through the mesh the upstream spreads the calls over the workers.
    seen = {app_reply(engine, mesh)["message"].split(" from ")[-1].split(" on ")[0] for _ in range(12)}
    assert seen == {"server1", "server2"}


def test_consul_lists_each_worker_and_the_client_with_a_sidecar(mesh: DevStack) -> None:
    proxies = mesh.consul("/v1/health/connect/distributed_app", passing="true")
    assert sorted(entry["Service"]["Proxy"]["DestinationServiceID"] for entry in proxies) == ["server1", "server2"]
    assert {entry["Service"]["Port"] for entry in proxies} == {SIDECAR_PORT}
    [client] = mesh.consul("/v1/health/connect/distributed_client")
    assert client["Service"]["Proxy"]["Upstreams"][0]["DestinationName"] == APP


def test_workers_listen_on_loopback_and_publish_nothing(mesh: DevStack, engine) -> None:
    for worker in ("dev-server1", "dev-server2"):
        assert engine.api.inspect_container(worker)["HostConfig"]["PortBindings"] in (None, {})
    # From the compose web container, on the same network: the worker's port is closed; its sidecar asks for a certificate.
    web = engine.containers.get("dev-web")
    ip = mesh.container_ip("dev-server1-pod")  # the worker is in its pod's namespace
    probe = (
        "import socket, ssl, sys\n"
        "try:\n    socket.create_connection((sys.argv[1], 8080), timeout=3); print('open')\n"
        "except OSError as error:\n    print('closed', error)\n"
        "context = ssl.create_default_context(); context.check_hostname = False; context.verify_mode = ssl.CERT_NONE\n"
        "try:\n"
        "    with context.wrap_socket(socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3)) as tls:\n"
        "        tls.sendall(b'GET / HTTP/1.0\\r\\n\\r\\n'); print('answered', tls.recv(100))\n"
        "except (OSError, ssl.SSLError) as error:\n    print('refused', type(error).__name__)\n"
    )
    result = web.exec_run(["python", "-c", probe, ip, str(SIDECAR_PORT)])
    lines = result.output.decode().splitlines()
    assert lines[0].startswith("closed") and "refused" in lines[0].lower(), lines
    assert lines[1].startswith("refused") or lines[1] == "answered b''", lines


def test_a_mesh_identity_without_an_intention_is_refused(mesh: DevStack, engine) -> None:
    """`web` with a valid certificate of its own (a service-identity token) calls the app: denied by default."""
    token = consul_call(mesh, "PUT", "/v1/acl/token", json={"ServiceIdentities": [{"ServiceName": "web"}], "Description": "e2e web"}).json()
    try:
        assert curl_through_mesh(engine, mesh, "web", token["SecretID"]) == ""
        # The same call as the client's identity goes through: the refusal is the intention's.
        client_token = consul_call(mesh, "PUT", "/v1/acl/token", json={"ServiceIdentities": [{"ServiceName": CLIENT}]}).json()
        try:
            assert curl_through_mesh(engine, mesh, CLIENT, client_token["SecretID"]).startswith("HTTP/1.0 200 OK")
        finally:
            consul_call(mesh, "DELETE", f"/v1/acl/token/{client_token['AccessorID']}")
    finally:
        consul_call(mesh, "DELETE", f"/v1/acl/token/{token['AccessorID']}")


def curl_through_mesh(engine: docker.DockerClient, mesh: DevStack, service: str, token: str) -> str:
    """What the app answers a GET through an unregistered built-in proxy acting as `service` (empty: refused, the
    connection closed or reset)."""
    script = (
        f"consul connect proxy -service {service} -upstream {APP}:9999 >/tmp/proxy.log 2>&1 & "
        "for i in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/9999) 2>/dev/null && break; sleep 0.2; done; "
        "exec 3<>/dev/tcp/127.0.0.1/9999; printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&3; timeout 5 cat <&3 || true"
    )
    ca = Path(tempfile.mkdtemp()) / "ca.pem"
    ca.write_text(mesh.outputs["consulCaCert"])
    output = engine.containers.run(
        "orchestration-e2e/consul:latest", ["bash", "-c", script], remove=True, network="dev-net",
        environment={"CONSUL_HTTP_ADDR": f"https://consul-1:{HTTPS_PORT}", "CONSUL_CACERT": "/ca.pem", "CONSUL_HTTP_TOKEN": token},
        volumes={str(ca): {"bind": "/ca.pem", "mode": "ro"}},
    )
    return output.decode()


def test_docs_intentions_block_as_pasted_stops_the_calls_and_up_refresh_lets_them_through(mesh: DevStack, engine, doc_shell: Shell) -> None:
    """docs/mesh.md's "Intentions": the allow removed through Consul's API (with the doc's token and CA)
    refuses the client's call 2 s later; the doc's `pulumi up --refresh` recreates it and the call 2 s after
    goes through, with no container restarted."""
    before = started(engine)
    try:
        with phase("docs/mesh.md's intention removed, the client refused"):
            run_documented(DOC, RUNNER, REMOVED, doc_shell)
        with phase("docs/mesh.md's pulumi up --refresh, the client through again"):
            run_documented(DOC, RUNNER, {RESTORE: the_harness_recreated_one, **THROUGH_AGAIN}, doc_shell)
    finally:
        mesh.adopt(json.loads(doc_shell.run("pulumi stack output --json --show-secrets")))
        if requests.get(f"{mesh.consul_http}{INTENTIONS}/{APP}", headers=mesh.management, timeout=10, verify=mesh.verify).status_code == 404:
            mesh.apply("up --refresh: the intention the doc's commands left removed", refresh=True)  # for the tests after
    [allow] = consul_call(mesh, "GET", f"{INTENTIONS}/{APP}").json()["Sources"]
    assert (allow["Name"], allow["Action"]) == (CLIENT, "allow")
    assert started(engine) == before


def test_only_tls_crosses_the_network_between_the_sidecars(mesh: DevStack, engine) -> None:
    require_base_image(engine)
    with phase("build capture image (tcpdump from Debian)"):
        engine.images.build(path=str(PROJECT_DIR / "tests/e2e/capture"), tag=CAPTURE_IMAGE, buildargs={"BASE_IMAGE": BASE_IMAGE}, rm=True)
    client = mesh.outputs["clientContainer"]
    capture = engine.containers.run(
        CAPTURE_IMAGE, ["tcpdump", "-i", "eth0", "-U", "-s", "0", "-w", "/tmp/mesh.pcap", "tcp"],
        detach=True, network_mode=f"container:{client}", cap_add=["NET_ADMIN", "NET_RAW"], name="dev-e2e-capture",
    )
    try:
        time.sleep(1)
        for _ in range(4):
            assert "message" in app_reply(engine, mesh)
        time.sleep(1)
        capture.stop(timeout=5)
        bits, _ = capture.get_archive("/tmp/mesh.pcap")
        with tarfile.open(fileobj=io.BytesIO(b"".join(bits))) as archive:
            pcap = archive.extractfile("mesh.pcap").read()
    finally:
        capture.remove(force=True)
    sidecar_payloads = [payload for (sport, dport, payload) in tcp_payloads(pcap) if SIDECAR_PORT in (sport, dport) and payload]
    assert sidecar_payloads, "no traffic to the workers' sidecars captured"
    # TLS records only: handshake (0x16) then application data (0x17), version 3.x.
    starts = {payload[0] for payload in sidecar_payloads}
    assert 0x16 in starts and 0x17 in starts and all(payload[1] == 3 for payload in sidecar_payloads if payload[0] in (0x16, 0x17))
    everything = b"".join(payload for _, _, payload in tcp_payloads(pcap))
    assert b"HTTP/1." not in everything  # no plain HTTP: the proxies speak mutual TLS, Consul's API is HTTPS
    assert not [1 for sport, dport, _ in tcp_payloads(pcap) if 8080 in (sport, dport)]


def tcp_payloads(pcap: bytes) -> list[tuple[int, int, bytes]]:
    """(source port, destination port, payload) of each TCP segment over IPv4 in a classic pcap of Ethernet frames."""
    found, offset = [], 24
    while offset + 16 <= len(pcap):
        captured = struct.unpack("<I", pcap[offset + 8 : offset + 12])[0]
        frame = pcap[offset + 16 : offset + 16 + captured]
        offset += 16 + captured
        if len(frame) < 34 or frame[12:14] != b"\x08\x00" or frame[23] != 6:
            continue
        ip_header = (frame[14] & 0x0F) * 4
        tcp = frame[14 + ip_header :]
        total = struct.unpack("!H", frame[16:18])[0]
        sport, dport = struct.unpack("!HH", tcp[:4])
        found.append((sport, dport, tcp[(tcp[12] >> 4) * 4 : total - ip_header]))
    return found


def test_sidecars_present_leaf_certificates_of_consuls_ca_with_the_services_spiffe_identity(mesh: DevStack) -> None:
    roots = mesh.consul("/v1/connect/ca/roots")
    [root] = [x509.load_pem_x509_certificate(r["RootCert"].encode()) for r in roots["Roots"] if r["Active"]]
    trust_domain = roots["TrustDomain"]
    # Call a worker's sidecar as the client would: with the client's leaf certificate, trusting Consul's CA only.
    leaf = mesh.consul(f"/v1/agent/connect/ca/leaf/{CLIENT}")
    folder = Path(tempfile.mkdtemp())
    (folder / "cert.pem").write_text(leaf["CertPEM"])
    (folder / "key.pem").write_text(leaf["PrivateKeyPEM"])
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.load_verify_locations(cadata=roots["Roots"][0]["RootCert"])
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    with context.wrap_socket(socket.create_connection((mesh.container_ip("dev-server1-pod"), SIDECAR_PORT), timeout=5)) as tls:
        presented = x509.load_der_x509_certificate(tls.getpeercert(binary_form=True))
        tls.sendall(b"GET / HTTP/1.0\r\n\r\n")
        answer = tls.recv(4096)
    assert b"200" in answer.split(b"\r\n")[0]
    assert presented.issuer == root.subject
    root.public_key().verify(presented.signature, presented.tbs_certificate_bytes, ec.ECDSA(presented.signature_hash_algorithm))
    uris = presented.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.UniformResourceIdentifier)
    assert uris == [f"spiffe://{trust_domain}/ns/default/dc/dc1/svc/{APP}"]


def answering_workers(engine: docker.DockerClient, mesh: DevStack, calls: int = 8) -> set[str]:
    """The workers that answer the client's calls through the mesh, out of `calls` of them."""
    replies = [app_reply(engine, mesh) for _ in range(calls)]
    return {reply["message"].split(" from ")[-1].split(" on ")[0] for reply in replies if "message" in reply}


def test_a_worker_restarted_in_place_answers_through_its_sidecar_again_within_seconds(mesh: DevStack, engine) -> None:
    """`docker restart` of a worker (as a crash or Docker would): it comes back into its pod's namespace, where its
    sidecar still runs, and the client's calls reach it again with no `up` and nothing else restarted."""
    assert engine.api.inspect_container("dev-server1")["HostConfig"]["NetworkMode"] == (
        "container:" + engine.api.inspect_container("dev-server1-pod")["Id"]
    )
    before = started(engine)
    engine.containers.get("dev-server1").restart(timeout=10)
    restarted = time.monotonic()
    wait_for("server1 answering through the mesh again", lambda: "server1" in answering_workers(engine, mesh), timeout=RESTART_SECONDS, interval=0.2)
    PHASES.append(("  worker restarted in place -> answering through its sidecar", time.monotonic() - restarted))
    after = started(engine)
    assert after["dev-server1"] != before["dev-server1"]
    assert {name: at for name, at in after.items() if name != "dev-server1"} == {
        name: at for name, at in before.items() if name != "dev-server1"
    }


def test_a_second_apply_changes_nothing(mesh: DevStack) -> None:
    mesh.apply("second apply (mesh, nothing to do)")
    assert mesh.harness.last_run.changes() == []
