"""pulumi-consul resources, translated to Consul HTTP API calls on the provider's agent.

Keys -> PUT/DELETE /v1/kv; Node and Service -> /v1/catalog/register and
/v1/catalog/deregister, which is what the Terraform Consul provider does for
consul_keys, consul_node and consul_service. As documented for consul_keys, a
key is deleted on destroy (or when dropped from the resource) only when its
`delete` flag is true; otherwise it stays in Consul.
"""
from __future__ import annotations

import hashlib
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Mapping

import requests

from .base import HarnessError, ResourceContext, ResourceHandler
from .state import ResourceRecord

DEFAULT_ADDRESS = "127.0.0.1:8500"


class ConsulClient:
    """Minimal Consul HTTP client for one provider configuration."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.base = f"{config.get('scheme') or 'http'}://{config.get('address') or DEFAULT_ADDRESS}"
        self.datacenter = config.get("datacenter")
        self.session = requests.Session()
        if config.get("token"):
            self.session.headers["X-Consul-Token"] = config["token"]
        # As the provider: caFile or caPem to verify the agent, certFile/keyFile or certPem/keyPem to show a client certificate.
        # Given with each request: a session's `verify` loses to REQUESTS_CA_BUNDLE in the environment.
        self.verify: str | bool = config.get("caFile") or pem_file(config.get("caPem")) or True
        if config.get("insecureHttps"):
            self.verify = False
        cert = (config.get("certFile") or pem_file(config.get("certPem")), config.get("keyFile") or pem_file(config.get("keyPem")))
        if all(cert):
            self.session.cert = cert

    def request(self, method: str, path: str, *, retries: int = 20, **kwargs) -> requests.Response:
        """Retries while the agent has no leader yet (500 'No cluster leader'), as agents do at startup."""
        for attempt in range(retries):
            try:
                response = self.session.request(method, self.base + path, timeout=30, verify=self.verify, **kwargs)
            except requests.ConnectionError as error:
                if attempt == retries - 1:
                    raise HarnessError(f"consul {self.base}: {error}") from error
                time.sleep(1)
                continue
            if response.status_code == 500 and "leader" in response.text.lower() and attempt < retries - 1:
                time.sleep(1)
                continue
            if response.status_code >= 400:
                raise HarnessError(f"consul {method} {path}: HTTP {response.status_code}: {response.text.strip()}")
            return response
        raise AssertionError("unreachable")

    def agent_datacenter(self) -> str:
        return self.request("GET", "/v1/agent/self").json()["Config"]["Datacenter"]


def pem_file(pem: str | None) -> str | None:
    """requests reads certificates from files only: the PEM in a private file named by its digest (None without one)."""
    if not pem:
        return None
    path = Path(tempfile.gettempdir()) / f"orchestration-harness-{hashlib.sha256(pem.encode()).hexdigest()[:16]}.pem"
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(pem)
    return str(path)


class ConsulProvider(ResourceHandler):
    type_token = "pulumi:providers:consul"

    def plan(self, old, new_inputs, new_fingerprint) -> str:
        return "same" if old.inputs == dict(new_inputs) else "update"

    def create(self, ctx: ResourceContext) -> tuple[str, dict[str, Any]]:
        return str(uuid.uuid4()), dict(ctx.inputs)

    def update(self, ctx: ResourceContext, old: ResourceRecord) -> tuple[str, dict[str, Any]]:
        return old.id, dict(ctx.inputs)

    def delete(self, ctx: ResourceContext, record: ResourceRecord) -> None:
        pass


def _datacenter(ctx: ResourceContext, inputs: Mapping[str, Any]) -> str:
    client = ctx.consul()
    return inputs.get("datacenter") or client.datacenter or client.agent_datacenter()


class Keys(ResourceHandler):
    type_token = "consul:index/keys:Keys"
    in_place = frozenset({"keys", "token"})

    def create(self, ctx: ResourceContext) -> tuple[str, dict[str, Any]]:
        datacenter = _datacenter(ctx, ctx.inputs)
        self._write(ctx, ctx.inputs.get("keys") or [], datacenter)
        return "consul", {**ctx.inputs, "datacenter": datacenter}

    def update(self, ctx: ResourceContext, old: ResourceRecord) -> tuple[str, dict[str, Any]]:
        datacenter = _datacenter(ctx, ctx.inputs)
        new_keys = ctx.inputs.get("keys") or []
        kept = {key["path"] for key in new_keys}
        self._delete(ctx, [key for key in old.inputs.get("keys") or [] if key["path"] not in kept], datacenter)
        self._write(ctx, new_keys, datacenter)
        return old.id, {**ctx.inputs, "datacenter": datacenter}

    def delete(self, ctx: ResourceContext, record: ResourceRecord) -> None:
        self._delete(ctx, record.inputs.get("keys") or [], record.outputs.get("datacenter"))

    def _write(self, ctx: ResourceContext, keys: list[Mapping[str, Any]], datacenter: str) -> None:
        for key in keys:
            params = {"dc": datacenter, **({"flags": key["flags"]} if key.get("flags") else {})}
            ctx.consul().request("PUT", f"/v1/kv/{key['path'].lstrip('/')}", params=params, data=str(key.get("value", "")).encode())

    def _delete(self, ctx: ResourceContext, keys: list[Mapping[str, Any]], datacenter: str | None) -> None:
        for key in keys:
            if key.get("delete"):
                ctx.consul().request("DELETE", f"/v1/kv/{key['path'].lstrip('/')}", params={"dc": datacenter} if datacenter else {})


class Node(ResourceHandler):
    type_token = "consul:index/node:Node"
    in_place = frozenset({"meta", "token"})

    def create(self, ctx: ResourceContext) -> tuple[str, dict[str, Any]]:
        i = ctx.inputs
        datacenter = _datacenter(ctx, i)
        ctx.consul().request(
            "PUT", "/v1/catalog/register", json={"Datacenter": datacenter, "Node": i["name"], "Address": i["address"], "NodeMeta": i.get("meta") or {}}
        )
        return f"{i['name']}-{i['address']}", {**i, "datacenter": datacenter}

    def update(self, ctx: ResourceContext, old: ResourceRecord) -> tuple[str, dict[str, Any]]:
        return self.create(ctx)

    def delete(self, ctx: ResourceContext, record: ResourceRecord) -> None:
        ctx.consul().request("PUT", "/v1/catalog/deregister", json={"Datacenter": record.outputs["datacenter"], "Node": record.inputs["name"]})


class Service(ResourceHandler):
    type_token = "consul:index/service:Service"
    # Re-registering changes everything but identity in place.
    in_place = frozenset({"address", "port", "tags", "meta", "checks", "enableTagOverride", "weights", "external"})

    def create(self, ctx: ResourceContext) -> tuple[str, dict[str, Any]]:
        i = ctx.inputs
        client = ctx.consul()
        datacenter = _datacenter(ctx, i)
        node = client.request("GET", f"/v1/catalog/node/{i['node']}", params={"dc": datacenter}).json()
        if not node:
            raise HarnessError(f"consul service {ctx.name}: node {i['node']!r} does not exist in the catalog")
        service_id = i.get("serviceId") or i["name"]
        client.request(
            "PUT",
            "/v1/catalog/register",
            json={
                "Datacenter": datacenter,
                "Node": i["node"],
                "Address": node["Node"]["Address"],
                "SkipNodeUpdate": True,
                "Service": {
                    "ID": service_id,
                    "Service": i["name"],
                    "Tags": i.get("tags") or [],
                    "Address": i.get("address") or "",
                    "Port": i.get("port") or 0,
                    "Meta": i.get("meta") or {},
                    "EnableTagOverride": bool(i.get("enableTagOverride", False)),
                    **({"Weights": {"Passing": i["weights"].get("passing", 1), "Warning": i["weights"].get("warning", 1)}} if i.get("weights") else {}),
                },
                "Checks": [check_definition(check, i["node"], service_id) for check in i.get("checks") or []],
            },
        )
        return service_id, {**i, "serviceId": service_id, "datacenter": datacenter, "address": i.get("address") or node["Node"]["Address"]}

    def update(self, ctx: ResourceContext, old: ResourceRecord) -> tuple[str, dict[str, Any]]:
        return self.create(ctx)

    def delete(self, ctx: ResourceContext, record: ResourceRecord) -> None:
        ctx.consul().request(
            "PUT",
            "/v1/catalog/deregister",
            json={"Datacenter": record.outputs["datacenter"], "Node": record.inputs["node"], "ServiceID": record.id},
        )


def check_definition(check: Mapping[str, Any], node: str, service_id: str) -> dict[str, Any]:
    headers = {header["name"]: header["values"] for header in check.get("headers") or []}
    return {
        "Node": node,
        "CheckID": check["checkId"],
        "Name": check["name"],
        "Notes": check.get("notes", ""),
        "Status": check.get("status", "critical"),
        "ServiceID": service_id,
        "Definition": {
            "HTTP": check.get("http", ""),
            "Header": headers,
            "Method": check.get("method", "GET"),
            "TLSSkipVerify": bool(check.get("tlsSkipVerify", False)),
            "TCP": check.get("tcp", ""),
            "Interval": check.get("interval"),
            "Timeout": check.get("timeout"),
            "DeregisterCriticalServiceAfter": check.get("deregisterCriticalServiceAfter", "30s"),
        },
    }


HANDLERS = [ConsulProvider(), Keys(), Node(), Service()]
