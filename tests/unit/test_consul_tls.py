"""Consul TLS (`consulTls`: on in cluster, available in dev): a CA and a certificate per server made
with pulumi-tls, the API on HTTPS only, RPC verified both ways, and every client given the CA."""
from __future__ import annotations

import json

import pytest

from components.consul_tls import CA_FILE, CERT_FILE, KEY_FILE, TLS_CONFIG_FILE, WORKLOAD_CA_FILE
from tests.unit.conftest import Deployment, deploy

CONTAINER = "docker:index/container:Container"
PRIVATE_KEY = "tls:index/privateKey:PrivateKey"
CA_CERT = "tls:index/selfSignedCert:SelfSignedCert"
REQUEST = "tls:index/certRequest:CertRequest"
SIGNED = "tls:index/locallySignedCert:LocallySignedCert"
ADDRESSES = {"larry": "10.0.0.11", "curly": "10.0.0.12", "moe": "10.0.0.13"}


@pytest.fixture(scope="module")
def cluster() -> Deployment:
    return deploy("cluster")


@pytest.fixture(scope="module")
def dev_with_tls() -> Deployment:
    return deploy("dev", {"consulTls": True, "consulServers": 3})


def uploads(container) -> dict[str, str]:
    return {upload["file"]: upload["content"] for upload in container.inputs.get("uploads") or []}


def env(container) -> dict[str, str]:
    return dict(item.split("=", 1) for item in container.inputs["envs"])


def test_one_ca_signs_a_certificate_for_each_server_naming_every_address_it_is_dialled_at(cluster: Deployment) -> None:
    [ca] = cluster.of_type(CA_CERT)
    assert ca.inputs["isCaCertificate"] is True and "cert_signing" in ca.inputs["allowedUses"]
    assert "privateKeyPem" in ca.secret_inputs
    assert {key.name for key in cluster.of_type(PRIVATE_KEY)} == {"consul-tls-ca-key", *(f"consul-tls-{h}-key" for h in ADDRESSES)}
    for host, address in ADDRESSES.items():
        request = cluster.one(REQUEST, f"consul-tls-{host}-request")
        # verify_server_hostname: a server proves it is one by the name server.<datacenter>.consul.
        assert request.inputs["dnsNames"][0] == "server.dc1.consul" and host in request.inputs["dnsNames"]
        # Its own address, and where Pulumi reaches the API (the first server's).
        assert set(request.inputs["ipAddresses"]) == {"127.0.0.1", address, "10.0.0.11"}
        cert = cluster.one(SIGNED, f"consul-tls-{host}-cert")
        assert {"server_auth", "client_auth"} <= set(cert.inputs["allowedUses"])
        assert cert.inputs["caCertPem"] == "certificate-of-consul-tls-ca"
        assert "caPrivateKeyPem" in cert.secret_inputs
        assert cert.inputs["earlyRenewalHours"] < cert.inputs["validityPeriodHours"]
        assert cluster.by_urn(cert.parent).type == "orchestration:consul:ConsulCertificates"


def test_every_server_serves_https_only_and_verifies_rpc_both_ways(cluster: Deployment) -> None:
    for host in ADDRESSES:
        agent = cluster.one(CONTAINER, f"consul-{host}-agent")
        files = uploads(agent)
        config = json.loads(files[TLS_CONFIG_FILE])
        assert config["ports"] == {"http": -1, "https": 8501}
        assert config["tls"]["defaults"]["verify_outgoing"] is True
        assert config["tls"]["internal_rpc"] == {"verify_incoming": True, "verify_server_hostname": True}
        assert (files[CA_FILE], files[CERT_FILE], files[KEY_FILE]) == (
            "certificate-of-consul-tls-ca", f"certificate-of-consul-tls-{host}-cert", f"private-key-of-consul-tls-{host}-key",
        )
        assert "uploads" in agent.secret_inputs
        command = agent.inputs["command"]
        assert f"-config-file={TLS_CONFIG_FILE}" in command
        assert not any(flag.startswith("-http-port") for flag in command)
        assert env(agent)["CONSUL_HTTP_ADDR"] == "https://127.0.0.1:8501" and env(agent)["CONSUL_CACERT"] == CA_FILE


def test_pulumi_and_the_workloads_speak_https_and_verify_with_the_ca(cluster: Deployment) -> None:
    ca = "certificate-of-consul-tls-ca"
    ready = cluster.one("command:local:Command", "consul-ready")
    assert ready.inputs["environment"]["CONSUL_HTTP_ADDR"] == "https://10.0.0.11:8501"
    assert ready.inputs["environment"]["CONSUL_CACERT_PEM"] == ca
    for name in ("consul-api", "access-catalog-api"):
        provider = cluster.one("pulumi:providers:consul", name)
        assert (provider.inputs["address"], provider.inputs["scheme"], provider.inputs["caPem"]) == ("10.0.0.11:8501", "https", ca)
    for name in ("app-larry-server1", "client-moe-container"):
        workload = cluster.one(CONTAINER, name)
        assert uploads(workload) == {WORKLOAD_CA_FILE: ca}
        assert env(workload)["CONSUL_CACERT"] == WORKLOAD_CA_FILE
        assert env(workload)["CONSUL_HTTP_ADDR"].startswith("https://")
    assert cluster.outputs["consulCaCert"] == ca
    assert cluster.outputs["consulUiUrl"] == "https://10.0.0.11:8501/ui"


def test_dev_publishes_https_on_its_consul_http_port(dev_with_tls: Deployment) -> None:
    first = dev_with_tls.one(CONTAINER, "consul-consul-1-agent")
    https = [port for port in first.inputs["ports"] if port["internal"] == 8501]
    assert [(port["external"], port["ip"]) for port in https] == [(8500, "127.0.0.1")]
    assert not [port for port in first.inputs["ports"] if port["internal"] == 8500]
    request = dev_with_tls.one(REQUEST, "consul-tls-consul-1-request")
    # Workers dial the first server by its name on the stack network, Pulumi by the published address.
    assert "consul-1" in request.inputs["dnsNames"]
    assert {"127.0.0.1", "172.29.0.254"} <= set(request.inputs["ipAddresses"])
    worker = dev_with_tls.one(CONTAINER, "app-server1")
    assert env(worker)["CONSUL_HTTP_ADDR"] == "https://consul-1:8501"


def test_without_tls_nothing_changes(tmp_path) -> None:
    dev = deploy("dev")
    assert not dev.of_type(CA_CERT) and not dev.of_type(PRIVATE_KEY)
    agent = dev.one(CONTAINER, "consul-consul-1-agent")
    assert "-http-port=8500" in agent.inputs["command"]
    assert TLS_CONFIG_FILE not in uploads(agent)
    assert "scheme" not in dev.one("pulumi:providers:consul", "consul-api").inputs
    assert "CONSUL_CACERT" not in env(dev.one(CONTAINER, "app-server1"))
    assert "consulCaCert" not in dev.outputs
