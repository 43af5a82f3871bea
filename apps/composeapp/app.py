"""Compose-style web app: counts page views in Redis."""
import logging
import os
import signal
import socket
import sys

import redis
from flask import Flask
from redis.backoff import NoBackoff
from redis.retry import Retry
from waitress import serve

app = Flask(__name__)
store = redis.Redis(
    host=os.environ.get("REDIS_HOST", "redis"),
    port=int(os.environ.get("REDIS_PORT", "6379")),
    # Fail fast (503) when Redis is gone instead of hanging; one immediate retry replaces a pooled
    # connection that a Redis restart broke.
    socket_connect_timeout=2,
    socket_timeout=2,
    retry=Retry(NoBackoff(), 1),
)


@app.get("/")
def hello():
    try:
        count = store.incr("hits")
    except redis.RedisError as error:
        return f"Redis is unavailable: {error}\n", 503
    return f"Hello from {socket.gethostname()}! I have been seen {count} times.\n"


@app.get("/health")
def health():
    try:
        store.ping()
    except redis.RedisError:
        return "redis unavailable", 503
    return "ok"


def main():
    logging.basicConfig(level=logging.INFO, format="%(asctime)s composeapp %(levelname)s %(message)s")
    # As PID 1 in a container the process has no default SIGTERM action, so `docker stop` would hang.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    serve(app, host="0.0.0.0", port=int(os.environ.get("PORT", "5000")))


if __name__ == "__main__":
    main()
