"""Compose-style web app: counts page views in Redis."""
import logging
import os
import signal
import socket
import sys

import redis
from flask import Flask, current_app
from redis.backoff import NoBackoff
from redis.retry import Retry
from waitress import serve

log = logging.getLogger("composeapp")
app = Flask(__name__)


class Fatal(Exception):
    """An error that ends the app with a one-line message and a non-zero exit."""


def port_from_env(env, name: str, default: str) -> int:
    raw = env.get(name, default)
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise Fatal(f"{name} is {raw!r}, not a port number (1-65535)")
    return int(raw)


def redis_from_env(env) -> redis.Redis:
    return redis.Redis(
        host=env.get("REDIS_HOST", "redis"),
        port=port_from_env(env, "REDIS_PORT", "6379"),
        # Fail fast (503) when Redis is gone instead of hanging; one immediate retry replaces a pooled
        # connection that a Redis restart broke.
        socket_connect_timeout=2,
        socket_timeout=2,
        retry=Retry(NoBackoff(), 1),
    )


@app.get("/")
def hello():
    store = current_app.config["REDIS"]
    try:
        count = store.incr("hits")
    except redis.RedisError as error:
        # Redis may come (back) later, e.g. once Consul's DNS has its record: answer 503 and say why, once per request.
        where = store.connection_pool.connection_kwargs
        log.warning("Redis at %s:%s is unavailable: %s", where["host"], where["port"], error)
        return f"Redis is unavailable: {error}\n", 503
    return f"Hello from {socket.gethostname()}! I have been seen {count} times.\n"


@app.get("/health")
def health():
    try:
        current_app.config["REDIS"].ping()
    except redis.RedisError:
        return "redis unavailable", 503
    return "ok"


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s composeapp %(levelname)s %(message)s")
    # As PID 1 in a container the process has no default SIGTERM action, so `docker stop` would hang.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        port = port_from_env(os.environ, "PORT", "5000")
        app.config["REDIS"] = redis_from_env(os.environ)
    except Fatal as error:
        log.error("%s", error)
        return 1
    serve(app, host="0.0.0.0", port=port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
