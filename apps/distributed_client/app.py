"""Reports the healthy instances of a service as Consul sees them, through its HTTP API and its DNS
interface, plus the application's configuration from Consul KV."""
import argparse
import base64
import json
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

import dns.exception
import dns.rdatatype
import dns.resolver
import requests


# How long a client in the mesh waits for the app to answer through its sidecar before its first report.
UPSTREAM_WAIT_SECONDS = 60


class Fatal(Exception):
    """An error that ends a one-shot run with a one-line message and a non-zero exit."""


@dataclass
class Settings:
    consul: str
    service_name: str
    dns_server: str  # empty: the host of the Consul HTTP address
    dns_port: int
    kv_prefix: str
    token: str  # Consul ACL token; empty where ACLs are off
    ca_cert: str  # the CA file Consul's HTTPS certificate is checked against; empty: the system's
    interval: float
    app_url: str  # empty: the report does not call the app; else the app's root page, such as a mesh upstream
    service_id: str  # with sidecar_port: the client's own registration, whose sidecar carries its upstream
    sidecar_port: int  # 0: no sidecar
    upstream: str  # "<service>:<local port>", what the sidecar listens for on loopback


def settings_from_env(env) -> Settings:
    if not env.get("CONSUL_HTTP_ADDR"):
        raise Fatal("missing required environment variable CONSUL_HTTP_ADDR (e.g. http://consul:8500)")
    consul = consul_url(env["CONSUL_HTTP_ADDR"])
    try:
        return Settings(
            consul=consul,
            service_name=env.get("SERVICE_NAME", "distributed_app"),
            dns_server=env.get("CONSUL_DNS_SERVER", "") or urlsplit(consul).hostname,
            dns_port=int(env.get("CONSUL_DNS_PORT", "8600")),
            kv_prefix=env.get("CONSUL_KV_PREFIX", ""),
            token=env.get("CONSUL_HTTP_TOKEN", ""),
            ca_cert=ca_cert_from_env(env),
            interval=float(env.get("INTERVAL") or 0),
            app_url=env.get("APP_URL", ""),
            service_id=env.get("SERVICE_ID", ""),
            sidecar_port=int(env.get("SIDECAR_PORT") or 0),
            upstream=env.get("UPSTREAM", ""),
        )
    except ValueError as error:
        raise Fatal(f"bad number in environment: {error}") from None


def consul_url(address: str) -> str:
    """CONSUL_HTTP_ADDR may be given with or without a scheme, like Consul's own CLI accepts it."""
    address = address.strip().rstrip("/")
    return address if "://" in address else f"http://{address}"


def ca_cert_from_env(env) -> str:
    """CONSUL_CACERT, as Consul's CLI reads it: a PEM file of the CA that signed the servers' certificates."""
    path = env.get("CONSUL_CACERT", "")
    if path and not os.path.isfile(path):
        raise Fatal(f"CONSUL_CACERT names no file: {path}")
    return path


def tls_verify(settings: Settings):
    """requests' `verify`: the cluster's CA where one is given, else the system's trust store."""
    return settings.ca_cert or True


def consul_headers(settings: Settings) -> dict:
    return {"X-Consul-Token": settings.token} if settings.token else {}


def root_cause(error: BaseException) -> str:
    """The innermost cause, e.g. 'Connection refused', instead of requests' nested wrapper text."""
    while error.__cause__ or error.__context__:
        error = error.__cause__ or error.__context__
    return getattr(error, "strerror", None) or str(error) or type(error).__name__


def consul_get(settings: Settings, path: str, **params):
    """JSON of a Consul API answer; None for 404 (how KV says "no such key")."""
    try:
        response = requests.get(f"{settings.consul}{path}", params=params, headers=consul_headers(settings),
                                timeout=5, verify=tls_verify(settings))
    except requests.RequestException as error:
        raise Fatal(f"Consul at {settings.consul} is unreachable: {root_cause(error)}") from None
    if response.status_code == 404:
        return None
    if not response.ok:
        raise Fatal(f"Consul at {settings.consul} answered GET {path} with HTTP {response.status_code}: "
                    f"{response.text.strip()}")
    return response.json()


def instances_over_http(settings: Settings, passing_only: bool) -> list:
    params = {"passing": "true"} if passing_only else {}
    entries = consul_get(settings, f"/v1/health/service/{quote(settings.service_name)}", **params) or []
    return sorted(
        (
            {
                "id": entry["Service"]["ID"],
                "node": entry["Node"]["Node"],
                # An empty service address means "the node's address", as in Consul's DNS answers.
                "address": entry["Service"]["Address"] or entry["Node"]["Address"],
                "port": entry["Service"]["Port"],
            }
            for entry in entries
        ),
        key=lambda instance: instance["id"],
    )


def kv_config(settings: Settings) -> dict:
    if not settings.kv_prefix:
        return {}
    entries = consul_get(settings, f"/v1/kv/{quote(settings.kv_prefix)}", recurse="true") or []
    return {
        entry["Key"][len(settings.kv_prefix):]: base64.b64decode(entry["Value"]).decode("utf-8", "replace")
        for entry in entries
        if entry["Value"] is not None  # "folders" carry no value
    }


def expected_workers(settings: Settings, kv: dict):
    """How many workers the stack deploys, as it keeps it in KV (`workers`); None where it keeps none."""
    raw = kv.get("workers")
    if raw is None:
        return None
    if not raw.strip().isdigit():
        raise Fatal(f"KV {settings.kv_prefix}workers holds {raw!r}, not a whole number of workers")
    return int(raw)


def instances_over_dns(settings: Settings) -> tuple:
    """A addresses and SRV records of <service>.service.consul, from Consul's DNS interface."""
    resolver = dns.resolver.Resolver(configure=False)
    try:
        resolver.nameservers = [socket.gethostbyname(settings.dns_server)]
    except OSError as error:
        raise Fatal(f"cannot resolve CONSUL_DNS_SERVER {settings.dns_server!r}: "
                    f"{root_cause(error)}") from None
    resolver.port = settings.dns_port
    resolver.lifetime = 5
    # Without EDNS, Consul answers at most 3 records over UDP and drops the rest silently.
    resolver.use_edns(0, 0, 4096)
    name = f"{settings.service_name}.service.consul."
    try:
        a_answer = resolver.resolve(name, "A", raise_on_no_answer=False)
        srv_answer = resolver.resolve(name, "SRV", raise_on_no_answer=False)
    except dns.resolver.NXDOMAIN:  # Consul's answer when no instance is healthy
        return [], []
    except dns.exception.DNSException as error:
        raise Fatal(f"Consul DNS at {resolver.nameservers[0]}:{settings.dns_port} failed: {error}") from None
    # Consul puts each SRV target's address in the additional section.
    target_addresses = {
        rrset.name.to_text(): rrset[0].address
        for rrset in srv_answer.response.additional
        if rrset.rdtype == dns.rdatatype.A
    }
    addresses = sorted({record.address for record in a_answer})
    services = sorted(
        (
            {"target": record.target.to_text(), "port": record.port,
             "address": target_addresses.get(record.target.to_text())}
            for record in srv_answer
        ),
        key=lambda record: (record["address"] or "", record["port"]),
    )
    return addresses, services


def consul_put(settings: Settings, path: str, payload=None) -> None:
    try:
        response = requests.put(f"{settings.consul}{path}", json=payload, headers=consul_headers(settings),
                                timeout=5, verify=tls_verify(settings))
    except requests.RequestException as error:
        raise Fatal(f"Consul at {settings.consul} failed on PUT {path}: {root_cause(error)}") from None
    if not response.ok:
        raise Fatal(f"Consul refused PUT {path}: HTTP {response.status_code} {response.text.strip()}")


def local_address_towards(url: str) -> str:
    """The local IP that routes to Consul: where the agent's check finds the sidecar's public listener."""
    parts = urlsplit(url)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect((parts.hostname, parts.port or 80))  # a UDP connect sends nothing: it picks the route
        return probe.getsockname()[0]


def mesh_registration(settings: Settings, address: str) -> dict:
    """The client as a mesh service: its sidecar proxies the upstream from loopback to the service's sidecars."""
    destination, _, port = settings.upstream.rpartition(":")
    if not destination or not port.isdigit():
        raise Fatal(f"UPSTREAM {settings.upstream!r} is not <service>:<local port>")
    return {
        "ID": settings.service_id,
        "Name": "distributed_client",
        "Address": address,
        "Port": 0,
        "Connect": {
            "SidecarService": {
                "Port": settings.sidecar_port,
                "Proxy": {"Upstreams": [{"DestinationName": destination, "LocalBindAddress": "127.0.0.1", "LocalBindPort": int(port)}]},
            }
        },
    }


def register_in_mesh(settings: Settings) -> None:
    if not settings.service_id:
        raise Fatal("SIDECAR_PORT needs SERVICE_ID, the client's service instance in Consul")
    consul_put(settings, "/v1/agent/service/register", mesh_registration(settings, local_address_towards(settings.consul)))


def deregister_from_mesh(settings: Settings) -> None:
    consul_put(settings, f"/v1/agent/service/deregister/{quote(settings.service_id)}")


def app_reply(settings: Settings) -> dict:
    """What the app answers at APP_URL (through the mesh, its upstream on loopback): its message, or why not."""
    try:
        # A new connection for every call: the sidecars authorize each connection, so a changed intention
        # holds from the next report on.
        response = requests.get(settings.app_url, timeout=5, headers={"Connection": "close"})
        response.raise_for_status()
        return {"url": settings.app_url, "message": response.json()["message"]}
    except (requests.RequestException, ValueError, KeyError) as error:
        return {"url": settings.app_url, "error": root_cause(error)}


def collect_report(settings: Settings) -> dict:
    healthy = instances_over_http(settings, passing_only=True)
    registered = instances_over_http(settings, passing_only=False)
    dns_a, dns_srv = instances_over_dns(settings)
    if healthy and not dns_a and not dns_srv:
        # Consul's DNS answers from the same catalog: an empty answer means something else answered.
        raise Fatal(f"DNS at {settings.dns_server}:{settings.dns_port} answered {settings.service_name}.service.consul "
                    f"with no records while Consul's HTTP API lists {len(healthy)} healthy instance(s): "
                    f"are CONSUL_DNS_SERVER and CONSUL_DNS_PORT Consul's DNS interface?")
    kv = kv_config(settings)
    return {
        "service": settings.service_name,
        "consul": settings.consul,
        "registered": len(registered),
        "http": healthy,
        "dns_a": dns_a,
        "dns_srv": dns_srv,
        "kv_prefix": settings.kv_prefix,
        "kv": kv,
        "expected": expected_workers(settings, kv),
        **({"app": app_reply(settings)} if settings.app_url else {}),
    }


def human_report(report: dict) -> str:
    name, healthy, registered = report["service"], report["http"], report["registered"]
    expected = "" if report["expected"] is None else f", {report['expected']} expected"
    lines = [f"Service {name!r} in Consul at {report['consul']}"]
    if healthy:
        lines.append(f"HTTP API: {len(healthy)} healthy instance(s) of {registered} registered{expected}:")
        lines += [f"  {i['id']} on node {i['node']} at {i['address']}:{i['port']}" for i in healthy]
    elif registered:
        lines.append(f"HTTP API: {registered} instance(s) registered, none passing its health check.")
    else:
        lines.append(f"HTTP API: no instance of {name!r} is registered.")
    if report["dns_srv"]:
        lines.append(f"DNS {name}.service.consul: A {', '.join(report['dns_a'])}")
        lines += [f"  SRV {r['target']} port {r['port']} ({r['address']})" for r in report["dns_srv"]]
    else:
        lines.append(f"DNS {name}.service.consul: no records (no healthy instance).")
    if report["kv_prefix"]:
        lines.append(f"Configuration under KV {report['kv_prefix']!r}:" if report["kv"]
                     else f"Configuration: no keys under KV {report['kv_prefix']!r}.")
        lines += [f"  {key} = {value}" for key, value in sorted(report["kv"].items())]
    if "app" in report:
        app = report["app"]
        lines.append(f"App at {app['url']}: {app['message']}" if "message" in app
                     else f"App at {app['url']} failed: {app['error']}")
    return "\n".join(lines)


def print_report(settings: Settings, as_json: bool) -> None:
    report = collect_report(settings)
    if as_json:
        # stdout carries only the JSON line, so callers can parse it; the human report goes to stderr.
        print(human_report(report), file=sys.stderr, flush=True)
        print(json.dumps(report), flush=True)
    else:
        print(human_report(report), flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true",
                        help="print the report as one JSON line on stdout (the human report goes to stderr); "
                             "same as REPORT_FORMAT=json")
    as_json = parser.parse_args(argv).json or os.environ.get("REPORT_FORMAT") == "json"
    # As PID 1 in a container the process has no default SIGTERM action, so `docker stop` would hang.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        settings = settings_from_env(os.environ)
        if not settings.interval:
            print_report(settings, as_json)
            return 0
        if settings.sidecar_port:
            register_in_mesh(settings)
    except Fatal as error:
        print(f"distributed_client: {error}", file=sys.stderr)
        return 1
    try:
        if settings.sidecar_port and settings.app_url:
            wait_for_the_app(settings)
        report_forever(settings, as_json)
    finally:
        if settings.sidecar_port:
            try:
                deregister_from_mesh(settings)
            except Fatal as error:
                print(f"distributed_client: {error}", file=sys.stderr, flush=True)
    return 0


def wait_for_the_app(settings: Settings) -> None:
    """Until the app answers through the upstream on loopback, or UPSTREAM_WAIT_SECONDS have passed: the
    sidecar starts only once the client has registered it, and its upstream takes connections a moment
    before it can pass them on, so a first report at once would show the proxy not ready, and the next
    only INTERVAL later."""
    deadline = time.monotonic() + UPSTREAM_WAIT_SECONDS
    while time.monotonic() < deadline and "message" not in app_reply(settings):
        time.sleep(0.2)


def report_forever(settings: Settings, as_json: bool) -> None:
    while True:
        try:
            print_report(settings, as_json)
        except Fatal as error:  # a long-running client reports the failure and tries again next round
            print(f"distributed_client: {error}", file=sys.stderr, flush=True)
        time.sleep(settings.interval)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(0)
