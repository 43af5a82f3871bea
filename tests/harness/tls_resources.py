"""pulumi-tls's keys and certificates, made as terraform-provider-tls makes them.

PrivateKey: RSA (2048 bits by default), ECDSA (P224 by default) or ED25519; `privateKeyPem` is
PKCS#1 for RSA, SEC 1 for ECDSA and PKCS#8 for ED25519, as Go's x509 marshals them; every
private form is secret. Certificates: a random 128-bit serial (the id), valid from now for
`validityPeriodHours`, key usages and extended key usages from `allowedUses`, basic constraints
always present (CA or not), a subject key id when asked (for a CA always, as Go's x509 does), and
the CA's key id as authority key id on a locally signed certificate. Every input but
`earlyRenewalHours` forces a new resource, and so does a certificate that is due for renewal
(`readyForRenewal`: past its end less `earlyRenewalHours`) when the next plan runs.
"""
from __future__ import annotations

import base64
import datetime
import hashlib
import ipaddress
import secrets
from typing import Any, Mapping

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .base import HarnessError, ResourceContext, ResourceHandler
from .state import ResourceRecord

CURVES = {"P224": ec.SECP224R1, "P256": ec.SECP256R1, "P384": ec.SECP384R1, "P521": ec.SECP521R1}
KEY_USAGES = {
    "digital_signature": "digital_signature", "content_commitment": "content_commitment",
    "key_encipherment": "key_encipherment", "data_encipherment": "data_encipherment",
    "key_agreement": "key_agreement", "cert_signing": "key_cert_sign", "crl_signing": "crl_sign",
    "encipher_only": "encipher_only", "decipher_only": "decipher_only",
}
EXTENDED_KEY_USAGES = {
    "any_extended": ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE, "server_auth": ExtendedKeyUsageOID.SERVER_AUTH,
    "client_auth": ExtendedKeyUsageOID.CLIENT_AUTH, "code_signing": ExtendedKeyUsageOID.CODE_SIGNING,
    "email_protection": ExtendedKeyUsageOID.EMAIL_PROTECTION, "timestamping": ExtendedKeyUsageOID.TIME_STAMPING,
    "ocsp_signing": ExtendedKeyUsageOID.OCSP_SIGNING,
}
SUBJECT_FIELDS = {
    "commonName": NameOID.COMMON_NAME, "organization": NameOID.ORGANIZATION_NAME,
    "organizationalUnit": NameOID.ORGANIZATIONAL_UNIT_NAME, "country": NameOID.COUNTRY_NAME,
    "province": NameOID.STATE_OR_PROVINCE_NAME, "locality": NameOID.LOCALITY_NAME,
    "postalCode": NameOID.POSTAL_CODE, "serialNumber": NameOID.SERIAL_NUMBER, "emailAddress": NameOID.EMAIL_ADDRESS,
}
PEM = serialization.Encoding.PEM


def _algorithm_of(key: Any) -> str:
    if isinstance(key, rsa.RSAPrivateKey):
        return "RSA"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return "ECDSA"
    return "ED25519"


def _load_key(pem: str, what: str) -> Any:
    try:
        return serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as error:
        raise HarnessError(f"{what}: failed to decode private key PEM: {error}") from None


def _signature_hash(key: Any) -> hashes.HashAlgorithm | None:
    return None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()


def _subject(fields: Mapping[str, Any] | None) -> x509.Name:
    attributes = []
    for key, oid in SUBJECT_FIELDS.items():
        if (fields or {}).get(key):
            attributes.append(x509.NameAttribute(oid, str(fields[key])))
    for street in (fields or {}).get("streetAddresses") or []:
        attributes.append(x509.NameAttribute(NameOID.STREET_ADDRESS, street))
    return x509.Name(attributes)


def _alternative_names(inputs: Mapping[str, Any]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = [x509.DNSName(name) for name in inputs.get("dnsNames") or []]
    names += [x509.IPAddress(ipaddress.ip_address(address)) for address in inputs.get("ipAddresses") or []]
    names += [x509.UniformResourceIdentifier(uri) for uri in inputs.get("uris") or []]
    return names


def _rfc3339(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _due_for_renewal(record: ResourceRecord, early_renewal_hours: int) -> bool:
    end = datetime.datetime.strptime(record.outputs["validityEndTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    return datetime.datetime.now(datetime.timezone.utc) >= end - datetime.timedelta(hours=early_renewal_hours)


def _openssh_forms(key: Any) -> dict[str, str]:
    """The OpenSSH encodings and fingerprints; empty where OpenSSH has no such key type (ECDSA P224), as the provider leaves them."""
    try:
        public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        private = key.private_bytes(PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()).decode()
    except ValueError:
        return dict.fromkeys(("privateKeyOpenssh", "publicKeyOpenssh", "publicKeyFingerprintMd5", "publicKeyFingerprintSha256"), "")
    blob = base64.b64decode(public.split()[1])
    return {
        "privateKeyOpenssh": private,
        "publicKeyOpenssh": public.decode() + "\n",
        "publicKeyFingerprintMd5": ":".join(f"{byte:02x}" for byte in hashlib.md5(blob).digest()),
        "publicKeyFingerprintSha256": "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("="),
    }


class PrivateKey(ResourceHandler):
    type_token = "tls:index/privateKey:PrivateKey"

    def create(self, ctx: ResourceContext) -> tuple[str, dict[str, Any]]:
        algorithm = ctx.inputs["algorithm"]
        curve = ctx.inputs.get("ecdsaCurve") or "P224"
        bits = int(ctx.inputs.get("rsaBits") or 2048)
        if algorithm == "RSA":
            key: Any = rsa.generate_private_key(public_exponent=65537, key_size=bits)
            private_format = serialization.PrivateFormat.TraditionalOpenSSL
        elif algorithm == "ECDSA":
            if curve not in CURVES:
                raise HarnessError(f"private key {ctx.name}: invalid ecdsa_curve {curve!r}; one of {sorted(CURVES)}")
            key = ec.generate_private_key(CURVES[curve]())
            private_format = serialization.PrivateFormat.TraditionalOpenSSL
        elif algorithm == "ED25519":
            key = ed25519.Ed25519PrivateKey.generate()
            private_format = serialization.PrivateFormat.PKCS8
        else:
            raise HarnessError(f"private key {ctx.name}: invalid algorithm {algorithm!r}; one of ECDSA, ED25519, RSA")
        none = serialization.NoEncryption()
        public_pem = key.public_key().public_bytes(PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        outputs = {
            "algorithm": algorithm,
            "ecdsaCurve": curve,
            "rsaBits": bits,
            "privateKeyPem": key.private_bytes(PEM, private_format, none).decode(),
            "privateKeyPemPkcs8": key.private_bytes(PEM, serialization.PrivateFormat.PKCS8, none).decode(),
            "publicKeyPem": public_pem,
            **_openssh_forms(key),
        }
        return hashlib.sha1(public_pem.encode()).hexdigest(), outputs

    def delete(self, ctx: ResourceContext, record: ResourceRecord) -> None:
        pass  # nothing exists outside the state


class CertRequest(ResourceHandler):
    type_token = "tls:index/certRequest:CertRequest"

    def create(self, ctx: ResourceContext) -> tuple[str, dict[str, Any]]:
        key = _load_key(ctx.inputs["privateKeyPem"], f"cert request {ctx.name}")
        builder = x509.CertificateSigningRequestBuilder().subject_name(_subject(ctx.inputs.get("subject")))
        alternative = _alternative_names(ctx.inputs)
        if alternative:
            builder = builder.add_extension(x509.SubjectAlternativeName(alternative), critical=False)
        pem = builder.sign(key, _signature_hash(key)).public_bytes(PEM).decode()
        return hashlib.sha1(pem.encode()).hexdigest(), {**ctx.inputs, "certRequestPem": pem, "keyAlgorithm": _algorithm_of(key)}

    def delete(self, ctx: ResourceContext, record: ResourceRecord) -> None:
        pass


class _Certificate(ResourceHandler):
    in_place = frozenset({"earlyRenewalHours"})

    def changed(self, old: ResourceRecord, new_inputs: Mapping[str, Any]) -> set[str]:
        changed = super().changed(old, new_inputs)
        if _due_for_renewal(old, int(new_inputs.get("earlyRenewalHours") or 0)):
            changed.add("readyForRenewal")
        return changed

    def update(self, ctx: ResourceContext, old: ResourceRecord) -> tuple[str, dict[str, Any]]:
        return old.id, {**old.outputs, "earlyRenewalHours": int(ctx.inputs.get("earlyRenewalHours") or 0)}

    def delete(self, ctx: ResourceContext, record: ResourceRecord) -> None:
        pass

    def _issue(
        self, ctx: ResourceContext, subject: x509.Name, public_key: Any, alternative: list[x509.GeneralName],
        issuer: x509.Name, signing_key: Any, issuer_key_id: bytes | None,
    ) -> tuple[str, dict[str, Any]]:
        inputs = ctx.inputs
        uses = list(inputs.get("allowedUses") or [])
        unknown = [use for use in uses if use not in KEY_USAGES and use not in EXTENDED_KEY_USAGES]
        if unknown:
            raise HarnessError(f"certificate {ctx.name}: allowed_uses {unknown} are not supported by the harness")
        is_ca = bool(inputs.get("isCaCertificate"))
        start = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        end = start + datetime.timedelta(hours=int(inputs["validityPeriodHours"]))
        serial = secrets.randbits(128)
        builder = (
            x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
            .serial_number(serial).not_valid_before(start).not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=is_ca, path_length=inputs.get("maxPathLength") if is_ca else None), critical=True)
        )
        usages = {flag: False for flag in KEY_USAGES.values()}
        usages.update({KEY_USAGES[use]: True for use in uses if use in KEY_USAGES})
        if any(usages.values()):
            builder = builder.add_extension(x509.KeyUsage(**usages), critical=True)
        extended = [EXTENDED_KEY_USAGES[use] for use in uses if use in EXTENDED_KEY_USAGES]
        if extended:
            builder = builder.add_extension(x509.ExtendedKeyUsage(extended), critical=False)
        if inputs.get("setSubjectKeyId") or is_ca:
            builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        if issuer_key_id:
            builder = builder.add_extension(x509.AuthorityKeyIdentifier(issuer_key_id, None, None), critical=False)
        if alternative:
            builder = builder.add_extension(x509.SubjectAlternativeName(alternative), critical=False)
        certificate = builder.sign(signing_key, _signature_hash(signing_key))
        outputs = {
            **inputs,
            "certPem": certificate.public_bytes(PEM).decode(),
            "validityStartTime": _rfc3339(start),
            "validityEndTime": _rfc3339(end),
            "readyForRenewal": False,
            "earlyRenewalHours": int(inputs.get("earlyRenewalHours") or 0),
            "isCaCertificate": is_ca,
            "setSubjectKeyId": bool(inputs.get("setSubjectKeyId")),
        }
        return str(serial), outputs


class SelfSignedCert(_Certificate):
    type_token = "tls:index/selfSignedCert:SelfSignedCert"

    def create(self, ctx: ResourceContext) -> tuple[str, dict[str, Any]]:
        key = _load_key(ctx.inputs["privateKeyPem"], f"self-signed certificate {ctx.name}")
        subject = _subject(ctx.inputs.get("subject"))
        own_key_id = x509.SubjectKeyIdentifier.from_public_key(key.public_key()).digest if ctx.inputs.get("setAuthorityKeyId") else None
        cert_id, outputs = self._issue(ctx, subject, key.public_key(), _alternative_names(ctx.inputs), subject, key, own_key_id)
        return cert_id, {**outputs, "keyAlgorithm": _algorithm_of(key), "setAuthorityKeyId": bool(ctx.inputs.get("setAuthorityKeyId"))}


class LocallySignedCert(_Certificate):
    type_token = "tls:index/locallySignedCert:LocallySignedCert"

    def create(self, ctx: ResourceContext) -> tuple[str, dict[str, Any]]:
        ca_key = _load_key(ctx.inputs["caPrivateKeyPem"], f"locally signed certificate {ctx.name}")
        ca = x509.load_pem_x509_certificate(ctx.inputs["caCertPem"].encode())
        if ca.public_key().public_bytes(PEM, serialization.PublicFormat.SubjectPublicKeyInfo) != ca_key.public_key().public_bytes(
            PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ):
            raise HarnessError(f"locally signed certificate {ctx.name}: the CA's private key does not match its certificate")
        request = x509.load_pem_x509_csr(ctx.inputs["certRequestPem"].encode())
        try:
            alternative = list(request.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
        except x509.ExtensionNotFound:
            alternative = []
        try:
            ca_key_id = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
        except x509.ExtensionNotFound:
            ca_key_id = None
        cert_id, outputs = self._issue(ctx, request.subject, request.public_key(), alternative, ca.subject, ca_key, ca_key_id)
        return cert_id, {**outputs, "caKeyAlgorithm": _algorithm_of(ca_key)}


HANDLERS = [PrivateKey(), CertRequest(), SelfSignedCert(), LocallySignedCert()]
