"""A certificate authority for one Consul cluster and a certificate for each of its agents.

Agents verify each other on RPC (`verify_incoming`, `verify_outgoing`, `verify_server_hostname`),
so each server's certificate names `server.<datacenter>.consul` and serves as both server and client;
a client agent's names `client.<datacenter>.consul` only, so no client agent can pose as a server.
The HTTP API is HTTPS only, on every agent with the agent's own certificate; its clients check the
agent against the CA but show no certificate of their own: ACL tokens say who they are, and a
browser can still open the UI.

Client agents get certificates from this CA rather than Consul's auto-encrypt: an auto-encrypted
agent serves its HTTPS API with a certificate of Consul's service-mesh CA, which the workloads (who
trust this CA) would refuse (hashicorp/consul#8636), and auto-encrypt needs `allow_tls` on every
server, a rolling replacement of the servers of every existing stack.
"""
from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional, Sequence

import pulumi
import pulumi_docker as docker

from components.options import preparation_options, component_options

if TYPE_CHECKING:  # imported where certificates are made: a stack without TLS never needs the SDK
    import pulumi_tls as tls

HTTPS_PORT = 8501
TLS_DIR = "/consul/config/tls"
CA_FILE = f"{TLS_DIR}/ca.pem"
CERT_FILE = f"{TLS_DIR}/server.pem"
KEY_FILE = f"{TLS_DIR}/server-key.pem"
TLS_CONFIG_FILE = "/consul/config/tls.json"
# Where a workload finds the CA: Consul's own CLI reads CONSUL_CACERT, and so do this project's apps.
WORKLOAD_CA_FILE = "/etc/consul/ca.pem"
WORKLOAD_CA_ENV = f"CONSUL_CACERT={WORKLOAD_CA_FILE}"
KEY_ALGORITHM = "ECDSA"
KEY_CURVE = "P256"
CA_VALIDITY_HOURS = 10 * 365 * 24
AGENT_VALIDITY_HOURS = 365 * 24
# Re-issued by the first `pulumi up` in the certificate's last month, before it expires.
EARLY_RENEWAL_HOURS = 30 * 24


@dataclass(frozen=True)
class AgentIdentity:
    """The names and addresses one agent is reached at: each must be in its certificate."""

    node_name: str
    addresses: Sequence[str]
    """Host names or IP addresses, as clients and the other servers dial them."""


@dataclass(frozen=True)
class ConsulCertificatesArgs:
    datacenter: str
    servers: Sequence[AgentIdentity]
    clients: Sequence[AgentIdentity] = ()
    """Client agents: certificates that name `client.<datacenter>.consul`, never a server's name."""


@dataclass(frozen=True)
class AgentTls:
    """What one agent needs for TLS: the cluster's CA, its certificate and its key."""

    ca_cert_pem: pulumi.Input[str]
    cert_pem: pulumi.Input[str]
    key_pem: pulumi.Input[str]
    """Give it as a secret, as pulumi-tls keeps every private key."""

    def uploads(self) -> list[docker.ContainerUploadArgs]:
        files = {TLS_CONFIG_FILE: agent_tls_config(), CA_FILE: self.ca_cert_pem, CERT_FILE: self.cert_pem, KEY_FILE: self.key_pem}
        return [docker.ContainerUploadArgs(file=path, content=content) for path, content in files.items()]


def agent_tls_config() -> str:
    """The agent configuration that turns TLS on: HTTPS only, verified RPC between agents."""
    return json.dumps(
        {
            "tls": {
                "defaults": {"ca_file": CA_FILE, "cert_file": CERT_FILE, "key_file": KEY_FILE, "verify_outgoing": True},
                "internal_rpc": {"verify_incoming": True, "verify_server_hostname": True},
                "https": {"verify_incoming": False},
            },
            # -1 turns plain HTTP off: a request without TLS finds nothing listening.
            "ports": {"http": -1, "https": HTTPS_PORT},
        },
        indent=2,
    )


def workload_ca_uploads(ca_pem: Optional[pulumi.Input[str]]) -> Optional[list[docker.ContainerUploadArgs]]:
    """The upload that gives a workload's container the cluster's CA, at WORKLOAD_CA_FILE; None without TLS."""
    return [docker.ContainerUploadArgs(file=WORKLOAD_CA_FILE, content=ca_pem)] if ca_pem is not None else None


def _split_addresses(addresses: Sequence[str]) -> tuple[list[str], list[str]]:
    names: list[str] = []
    ips: list[str] = []
    for address in dict.fromkeys(addresses):
        try:
            ips.append(str(ipaddress.ip_address(address)))
        except ValueError:
            names.append(address)
    return names, ips


class ConsulCertificates(pulumi.ComponentResource):
    ca_cert_pem: pulumi.Output[str]
    servers: dict[str, AgentTls]
    """Node name -> what that server needs for TLS."""
    clients: dict[str, AgentTls]
    """Node name -> what that client agent needs for TLS."""

    def __init__(self, name: str, args: ConsulCertificatesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        import pulumi_tls as tls

        super().__init__("orchestration:consul:ConsulCertificates", name, None, component_options(opts))
        ca_key = self._private_key(f"{name}-ca-key")
        ca = tls.SelfSignedCert(
            f"{name}-ca",
            private_key_pem=ca_key.private_key_pem,
            is_ca_certificate=True,
            subject=tls.SelfSignedCertSubjectArgs(common_name=f"Consul CA {args.datacenter}"),
            allowed_uses=["cert_signing", "crl_signing", "digital_signature"],
            validity_period_hours=CA_VALIDITY_HOURS,
            opts=preparation_options(self),
        )
        self.ca_cert_pem = ca.cert_pem
        self.servers = {
            server.node_name: self._agent_tls(name, args.datacenter, server, "server", ca_key, ca) for server in args.servers
        }
        self.clients = {
            client.node_name: self._agent_tls(name, args.datacenter, client, "client", ca_key, ca) for client in args.clients
        }
        self.register_outputs({"ca_cert_pem": self.ca_cert_pem})

    def _agent_tls(
        self, name: str, datacenter: str, agent: AgentIdentity, role: str, ca_key: tls.PrivateKey, ca: tls.SelfSignedCert
    ) -> AgentTls:
        import pulumi_tls as tls

        key = self._private_key(f"{name}-{agent.node_name}-key")
        names, ips = _split_addresses(agent.addresses)
        request = tls.CertRequest(
            f"{name}-{agent.node_name}-request",
            private_key_pem=key.private_key_pem,
            subject=tls.CertRequestSubjectArgs(common_name=f"{role}.{datacenter}.consul"),
            dns_names=[f"{role}.{datacenter}.consul", "localhost", *names],
            ip_addresses=["127.0.0.1", *ips],
            opts=preparation_options(self),
        )
        cert = tls.LocallySignedCert(
            f"{name}-{agent.node_name}-cert",
            cert_request_pem=request.cert_request_pem,
            ca_private_key_pem=ca_key.private_key_pem,
            ca_cert_pem=ca.cert_pem,
            allowed_uses=["digital_signature", "key_encipherment", "server_auth", "client_auth"],
            validity_period_hours=AGENT_VALIDITY_HOURS,
            early_renewal_hours=EARLY_RENEWAL_HOURS,
            opts=preparation_options(self),
        )
        return AgentTls(ca_cert_pem=ca.cert_pem, cert_pem=cert.cert_pem, key_pem=pulumi.Output.secret(key.private_key_pem))

    def _private_key(self, name: str) -> tls.PrivateKey:
        import pulumi_tls as tls

        return tls.PrivateKey(name, algorithm=KEY_ALGORITHM, ecdsa_curve=KEY_CURVE, opts=preparation_options(self))
