"""composeapp against a real redis-server."""
import re

import requests

from .support import free_port, wait_until


def start_web(start_app, redis_server):
    port = free_port()
    web = start_app("composeapp", PORT=port, REDIS_HOST="127.0.0.1", REDIS_PORT=redis_server.port)
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: requests.get(f"{url}/health", timeout=2).ok, 15, "composeapp /health")
    return web, url


def seen_count(url: str) -> int:
    response = requests.get(url, timeout=5)
    response.raise_for_status()
    return int(re.search(r"seen (\d+) times", response.text).group(1))


def test_counter_increments_and_continues_after_web_restart(start_app, redis_server):
    web, url = start_web(start_app, redis_server)
    assert [seen_count(url) for _ in range(3)] == [1, 2, 3]
    assert web.stop() == 0, web.output()

    _, url = start_web(start_app, redis_server)
    assert seen_count(url) == 4


def test_health_follows_redis(start_app, redis_server):
    _, url = start_web(start_app, redis_server)
    health = requests.get(f"{url}/health", timeout=5)
    assert (health.status_code, health.text) == (200, "ok")

    redis_server.stop()
    assert requests.get(f"{url}/health", timeout=10).status_code == 503
    assert requests.get(url, timeout=10).status_code == 503

    redis_server.start()  # same port: the app reconnects by itself
    assert requests.get(f"{url}/health", timeout=10).status_code == 200
