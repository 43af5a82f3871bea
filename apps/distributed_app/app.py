"""Web worker that registers itself in Consul, serves its Consul KV config, and deregisters on SIGTERM."""
import base64
import json
import logging
import os
import re
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, urlsplit

import requests

log = logging.getLogger("distributed_app")


class Fatal(Exception):
    """An error that ends the worker with a one-line message and a non-zero exit."""


@dataclass
class Settings:
    consul: str
    service_id: str
    service_name: str
    port: int
    address: str  # empty: the local address that routes to Consul
    advertised_port: int
    kv_prefix: str
    token: str  # Consul ACL token; empty where ACLs are off
    ca_cert: str  # the CA file Consul's HTTPS certificate is checked against; empty: the system's
    wait_seconds: float
    check_interval: str
    tags: list
    listen_address: str  # 127.0.0.1 in the service mesh, where only the sidecar may reach the worker
    sidecar_port: int  # 0: no sidecar; else the port its public (mutual TLS) listener binds
    node_address: str  # with a sidecar reached at its node's address (published there): that address; else empty


def settings_from_env(env) -> Settings:
    missing = [name for name in ("CONSUL_HTTP_ADDR", "SERVICE_ID") if not env.get(name)]
    if missing:
        raise Fatal(f"missing required environment variable(s): {', '.join(missing)}")
    try:
        port = int(env.get("PORT", "8080"))
        return Settings(
            consul=consul_url(env["CONSUL_HTTP_ADDR"]),
            service_id=env["SERVICE_ID"],
            service_name=env.get("SERVICE_NAME", "distributed_app"),
            port=port,
            address=env.get("SERVICE_ADDRESS", ""),
            advertised_port=int(env.get("SERVICE_PORT", port)),
            kv_prefix=env.get("CONSUL_KV_PREFIX", ""),
            token=env.get("CONSUL_HTTP_TOKEN", ""),
            ca_cert=ca_cert_from_env(env),
            wait_seconds=float(env.get("CONSUL_WAIT_SECONDS", "60")),
            check_interval=env.get("CHECK_INTERVAL", "5s"),
            tags=[tag for tag in env.get("SERVICE_TAGS", "http").split(",") if tag],
            listen_address=env.get("LISTEN_ADDRESS", "0.0.0.0"),
            sidecar_port=int(env.get("SIDECAR_PORT") or 0),
            node_address=env.get("NODE_ADDRESS", ""),
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


def wait_for_consul(settings: Settings, stop: threading.Event) -> bool:
    """Polls until Consul answers and has a leader (KV reads fail before that); False if stopped meanwhile."""
    deadline = time.monotonic() + settings.wait_seconds
    reported = None
    while True:
        try:
            response = requests.get(f"{settings.consul}/v1/status/leader", timeout=5, verify=tls_verify(settings))
            if response.ok and response.json():
                return True
            problem = f"HTTP {response.status_code}, leader {response.text.strip() or 'unknown'}"
        except requests.RequestException as error:
            problem = root_cause(error)
        if time.monotonic() >= deadline:
            raise Fatal(f"Consul at {settings.consul} not ready after {settings.wait_seconds:g}s: {problem}")
        if problem != reported:  # once per kind of problem, not every second
            log.info("waiting up to %gs for Consul at %s: %s",
                     settings.wait_seconds, settings.consul, problem)
            reported = problem
        if stop.wait(1):
            return False


def read_kv_config(settings: Settings) -> dict:
    """All keys under the prefix, relative to it, with their values as bytes."""
    if not settings.kv_prefix:
        return {}
    response = requests.get(
        f"{settings.consul}/v1/kv/{quote(settings.kv_prefix)}", params={"recurse": "true"},
        headers=consul_headers(settings), timeout=5, verify=tls_verify(settings),
    )
    if response.status_code == 404:  # Consul's answer for "no key under this prefix"
        return {}
    response.raise_for_status()
    return {
        entry["Key"][len(settings.kv_prefix):]: base64.b64decode(entry["Value"])
        for entry in response.json()
        if entry["Value"] is not None
    }


def kv_text(settings: Settings, config: dict, key: str, default: str) -> str:
    """A setting the worker uses as text: UTF-8, whatever else is kept beside it."""
    if key not in config:
        return default
    try:
        return config[key].decode("utf-8")
    except UnicodeDecodeError:
        raise Fatal(f"KV {settings.kv_prefix}{key} holds {len(config[key])} bytes that are not UTF-8 text") from None


def local_address_towards(url: str) -> str:
    """The local IP that routes to Consul: the address Consul and its health checks can reach us on."""
    parts = urlsplit(url)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        # A UDP connect sends nothing: it only picks the route.
        probe.connect((parts.hostname, parts.port or 80))
        return probe.getsockname()[0]


def registration(settings: Settings, address: str, answering: bool = False) -> dict:
    """`answering`: the worker has seen its check's URL answer, so the check starts out passing."""
    service = {
        "ID": settings.service_id,
        "Name": settings.service_name,
        "Address": address,
        "Port": settings.advertised_port,
        "Tags": settings.tags,
    }
    if not settings.sidecar_port:
        service["Check"] = {
            "Name": f"{settings.service_id} HTTP /health",
            "HTTP": check_url(address, settings),
            "Interval": settings.check_interval,
            "Timeout": "2s",
            "DeregisterCriticalServiceAfter": "1m",
        }
        if answering:
            # Else Consul says critical until the check's first run, at a random point in its interval.
            service["Check"]["Status"] = "passing"
        return service
    # In the mesh the worker listens on loopback, out of the agent's reach: it checks itself and reports
    # to a TTL check instead (see report_health), and Consul registers its sidecar with it.
    service["Check"] = {
        "CheckID": health_check_id(settings),
        "Name": f"{settings.service_id} /health on loopback",
        "TTL": ttl(settings),
        "DeregisterCriticalServiceAfter": "1m",
    }
    if settings.node_address:
        # Reached at its node's address, where its host publishes the sidecar's port: no address of its own,
        # so Consul gives it and its sidecar the node's, and the proxies, which bind the sidecar's registered
        # address (every address where there is none), listen on every address of the worker's namespace.
        service["Address"] = ""
    listener = f"{settings.node_address or address}:{settings.sidecar_port}"
    service["Connect"] = {
        "SidecarService": {
            "Port": settings.sidecar_port,
            "Proxy": {"LocalServiceAddress": "127.0.0.1", "LocalServicePort": settings.port},
            # Consul's default checks, but at the address the listener is reached on and at the worker's
            # interval: a sidecar registered again (the worker restarted) is found passing within seconds.
            "Checks": [
                {"Name": "Connect Sidecar Listening", "TCP": listener, "Interval": settings.check_interval},
                {"Name": f"Connect Sidecar Aliasing {settings.service_id}", "AliasService": settings.service_id},
            ],
        }
    }
    return service


def check_url(address: str, settings: Settings) -> str:
    """What Consul's HTTP check asks: the advertised address and port."""
    return f"http://{address}:{settings.advertised_port}/health"


def answers_at(url: str) -> bool:
    """Whether `url` answers 200 within a second or so (a published port may take a moment to route)."""
    for _ in range(10):
        try:
            if requests.get(url, timeout=0.5).ok:
                return True
        except requests.RequestException:
            pass
        time.sleep(0.1)
    log.info("%s did not answer the worker itself: Consul's check decides when it passes", url)
    return False


def health_check_id(settings: Settings) -> str:
    return f"service:{settings.service_id}"


def interval_seconds(settings: Settings) -> float:
    """CHECK_INTERVAL as Consul writes durations: 500ms, 1s, 2m."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m)", settings.check_interval)
    if not match:
        raise Fatal(f"CHECK_INTERVAL {settings.check_interval!r} is not a duration such as 1s or 500ms")
    return float(match.group(1)) * {"ms": 0.001, "s": 1, "m": 60}[match.group(2)]


def ttl(settings: Settings) -> str:
    """Three missed reports turn the check critical."""
    return f"{max(1, round(3 * interval_seconds(settings)))}s"


def report_health(settings: Settings, stop: threading.Event) -> None:
    """Every check interval, the worker's own /health on loopback, told to its TTL check."""
    url = f"http://127.0.0.1:{settings.port}/health"
    while not stop.wait(interval_seconds(settings)):
        try:
            healthy = requests.get(url, timeout=2).ok
        except requests.RequestException:
            healthy = False
        try:
            consul_put(settings, f"/v1/agent/check/{'pass' if healthy else 'fail'}/{quote(health_check_id(settings))}")
        except Fatal as error:
            log.warning("%s", error)


def consul_put(settings: Settings, path: str, payload=None) -> None:
    try:
        response = requests.put(f"{settings.consul}{path}", json=payload, headers=consul_headers(settings),
                                timeout=5, verify=tls_verify(settings))
    except requests.RequestException as error:
        raise Fatal(f"Consul at {settings.consul} failed on PUT {path}: {root_cause(error)}") from None
    if not response.ok:
        raise Fatal(f"Consul refused PUT {path}: HTTP {response.status_code} {response.text.strip()}")


def make_handler(page: dict):
    body = json.dumps(page).encode()

    class WorkerHandler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/health":
                self.reply(200, "text/plain", b"ok")
            elif self.path == "/":
                self.reply(200, "application/json", body)
            else:
                self.reply(404, "text/plain", b"not found")

        def reply(self, status: int, content_type: str, content: bytes):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        def log_message(self, format, *args):
            if self.path != "/health":  # Consul's checks every few seconds would drown everything else
                log.info("%s %s", self.address_string(), format % args)

    return WorkerHandler


def run(settings: Settings, stop: threading.Event) -> None:
    if not wait_for_consul(settings, stop):
        return
    try:
        raw_config = read_kv_config(settings)
    except requests.RequestException as error:
        raise Fatal(f"reading KV {settings.kv_prefix!r} from {settings.consul} failed: "
                    f"{root_cause(error)}") from None
    address = settings.address or local_address_towards(settings.consul)
    greeting = kv_text(settings, raw_config, "greeting", "Hello")
    config = {key: value.decode("utf-8", "replace") for key, value in raw_config.items()}
    page = {
        "service_id": settings.service_id,
        "service_name": settings.service_name,
        "hostname": socket.gethostname(),
        "address": address,
        "port": settings.advertised_port,
        "greeting": greeting,
        "message": f"{greeting} from {settings.service_id} on {socket.gethostname()}",
        "config": config,
    }
    try:
        server = ThreadingHTTPServer((settings.listen_address, settings.port), make_handler(page))
    except OSError as error:
        raise Fatal(f"cannot listen on port {settings.port}: {error.strerror}") from None
    # shutdown() waits for the loop to look at its flag, every poll_interval (0.5 s by default): a stop
    # (a destroy, a replace) waited for it after deregistering.
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        answering = not settings.sidecar_port and answers_at(check_url(address, settings))
        consul_put(settings, "/v1/agent/service/register", registration(settings, address, answering))
        log.info("registered %s (%s) at %s:%s in %s", settings.service_id, settings.service_name,
                 address, settings.advertised_port, settings.consul)
        if settings.sidecar_port:
            interval_seconds(settings)  # a bad CHECK_INTERVAL fails here, not in the thread
            consul_put(settings, f"/v1/agent/check/pass/{quote(health_check_id(settings))}")
            threading.Thread(target=report_health, args=(settings, stop), daemon=True).start()
        stop.wait()
        consul_put(settings, f"/v1/agent/service/deregister/{quote(settings.service_id)}")
        log.info("deregistered %s", settings.service_id)
    finally:
        server.shutdown()


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s distributed_app %(levelname)s %(message)s")
    stop = threading.Event()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signal_number, lambda *_: stop.set())
    try:
        run(settings_from_env(os.environ), stop)
    except Fatal as error:
        log.error("%s", error)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
