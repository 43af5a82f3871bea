"""pulumi-tls through the harness: a CA and a certificate it signs, that a TLS client accepts for the
names asked for, private keys kept secret, re-issued only when an input other than
earlyRenewalHours changes or the certificate is due for renewal."""
from __future__ import annotations

import datetime
import socket
import ssl
import threading
from pathlib import Path

import pulumi
import pulumi_tls as tls
import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from tests.harness import ApplyHarness
from tests.harness.base import HarnessError, ResourceContext
from tests.harness.exposure import private_key_line
from tests.harness.inline import run_inline
from tests.harness.tls_resources import PrivateKey

SIGNED = "tls:index/locallySignedCert:LocallySignedCert"
REQUEST = "tls:index/certRequest:CertRequest"


def handshake(tmp_path: Path, cert_pem: str, key_pem: str, ca_pem: str, server_name: str) -> str:
    """A real TLS handshake against a server holding cert_pem: the name the client verified, or the error."""
    (tmp_path / "cert.pem").write_text(cert_pem)
    (tmp_path / "key.pem").write_text(key_pem)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        connection, _ = listener.accept()
        try:
            with server_context.wrap_socket(connection, server_side=True) as wrapped:
                wrapped.recv(1)
        except (ssl.SSLError, OSError):
            pass

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    client_context = ssl.create_default_context(cadata=ca_pem)
    try:
        with socket.create_connection(listener.getsockname(), timeout=5) as raw:
            with client_context.wrap_socket(raw, server_hostname=server_name) as wrapped:
                wrapped.sendall(b"x")
                return server_name
    except ssl.SSLCertVerificationError as error:
        return error.verify_message
    finally:
        server.join(5)
        listener.close()


def test_a_ca_signs_a_server_certificate_a_tls_client_accepts(tmp_path: Path) -> None:
    inputs = {"dns_names": ["server.dc1.consul", "localhost"], "early_renewal_hours": 24}

    def program() -> None:
        ca_key = tls.PrivateKey("ca-key", algorithm="ECDSA", ecdsa_curve="P256")
        ca = tls.SelfSignedCert(
            "ca", private_key_pem=ca_key.private_key_pem, is_ca_certificate=True,
            subject=tls.SelfSignedCertSubjectArgs(common_name="Test CA"),
            allowed_uses=["cert_signing", "crl_signing", "digital_signature"], validity_period_hours=48,
        )
        key = tls.PrivateKey("server-key", algorithm="ECDSA", ecdsa_curve="P256")
        request = tls.CertRequest(
            "server-request", private_key_pem=key.private_key_pem,
            subject=tls.CertRequestSubjectArgs(common_name="server.dc1.consul"),
            dns_names=inputs["dns_names"], ip_addresses=["127.0.0.1"],
        )
        cert = tls.LocallySignedCert(
            "server-cert", cert_request_pem=request.cert_request_pem, ca_private_key_pem=ca_key.private_key_pem,
            ca_cert_pem=ca.cert_pem, validity_period_hours=24 * 30, early_renewal_hours=inputs["early_renewal_hours"],
            allowed_uses=["digital_signature", "key_encipherment", "server_auth", "client_auth"],
        )
        pulumi.export("ca", ca.cert_pem)
        pulumi.export("cert", cert.cert_pem)
        pulumi.export("key", key.private_key_pem)

    harness = ApplyHarness(project_dir=tmp_path, state_file=tmp_path / "state.json")
    try:
        outputs = harness.apply(lambda: run_inline(harness, program))
        ca = x509.load_pem_x509_certificate(outputs["ca"].encode())
        cert = x509.load_pem_x509_certificate(outputs["cert"].encode())
        cert.verify_directly_issued_by(ca)
        assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
        assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
        assert set(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == {
            ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH,
        }
        lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
        assert lifetime == datetime.timedelta(hours=24 * 30)

        assert handshake(tmp_path, outputs["cert"], outputs["key"], outputs["ca"], "server.dc1.consul") == "server.dc1.consul"
        assert "mismatch" in handshake(tmp_path, outputs["cert"], outputs["key"], outputs["ca"], "server.dc2.consul")

        keys = [r for r in harness.state if r.type == "tls:index/privateKey:PrivateKey"]
        assert all({"privateKeyPem", "privateKeyPemPkcs8", "privateKeyOpenssh"} <= set(r.secret_outputs) for r in keys)
        assert harness.plaintext_exposures([private_key_line(r.outputs["privateKeyPem"]) for r in keys]) == []

        assert harness.apply(lambda: run_inline(harness, program))["cert"] == outputs["cert"]
        assert harness.last_run.changes() == []

        inputs["early_renewal_hours"] = 48
        assert harness.apply(lambda: run_inline(harness, program))["cert"] == outputs["cert"]
        assert harness.last_run.changes() == [("update", SIGNED, "server-cert")]

        inputs["dns_names"] = ["server.dc1.consul", "localhost", "consul-1"]
        reissued = harness.apply(lambda: run_inline(harness, program))["cert"]
        assert set(harness.last_run.changes()) == {("replace", REQUEST, "server-request"), ("replace", SIGNED, "server-cert")}
        assert reissued != outputs["cert"]

        # Due for renewal once within earlyRenewalHours of its end: the next apply issues a new one.
        inputs["early_renewal_hours"] = 24 * 30
        harness.apply(lambda: run_inline(harness, program))
        assert ("replace", SIGNED, "server-cert") in harness.last_run.changes()
    finally:
        harness.destroy()
        harness.close()


@pytest.mark.parametrize(
    ("algorithm", "curve", "header"),
    [("ECDSA", None, "BEGIN EC PRIVATE KEY"), ("RSA", None, "BEGIN RSA PRIVATE KEY"), ("ED25519", None, "BEGIN PRIVATE KEY")],
)
def test_private_keys_are_encoded_as_the_provider_encodes_them(algorithm: str, curve: str | None, header: str) -> None:
    ctx = ResourceContext("tls:index/privateKey:PrivateKey", "k", "urn", {"algorithm": algorithm}, {}, Path("."), None)  # type: ignore[arg-type]
    _, outputs = PrivateKey().create(ctx)
    assert header in outputs["privateKeyPem"]
    assert "BEGIN PRIVATE KEY" in outputs["privateKeyPemPkcs8"]
    # OpenSSH has no P224 keys: the provider leaves their OpenSSH forms empty.
    assert outputs["publicKeyFingerprintSha256"].startswith("SHA256:") == (algorithm != "ECDSA")
    # The provider's defaults: 2048-bit RSA, and P224 for ECDSA.
    assert (outputs["rsaBits"], outputs["ecdsaCurve"]) == (2048, "P224")


def test_an_unknown_algorithm_is_refused_as_the_provider_refuses_it() -> None:
    ctx = ResourceContext("tls:index/privateKey:PrivateKey", "k", "urn", {"algorithm": "DSA"}, {}, Path("."), None)  # type: ignore[arg-type]
    with pytest.raises(HarnessError, match="invalid algorithm 'DSA'"):
        PrivateKey().create(ctx)
