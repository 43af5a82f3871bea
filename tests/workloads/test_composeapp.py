"""composeapp against a real redis-server."""
import re

import pytest
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


@pytest.mark.parametrize("variable, value", [("PORT", "web"), ("REDIS_PORT", "70000")])
def test_a_port_that_is_no_port_ends_it_with_one_line(start_app, variable, value):
    web = start_app("composeapp", **{"PORT": free_port(), "REDIS_HOST": "127.0.0.1", variable: value})
    web.popen.wait(15)
    output = web.output()
    assert web.popen.returncode == 1, output
    assert output.count("\n") == 1 and f"composeapp ERROR {variable} is {value!r}, not a port number (1-65535)" in output, output


def test_a_redis_name_dns_has_no_record_for_is_one_line_per_request_and_the_app_keeps_serving(start_app):
    # Redis found through Consul DNS (redisThroughConsul) before its record exists: `.invalid` never resolves.
    port = free_port()
    web = start_app("composeapp", PORT=port, REDIS_HOST="redis.service.invalid")
    url = f"http://127.0.0.1:{port}"
    assert wait_until(lambda: requests.get(f"{url}/health", timeout=5).status_code, 15, "composeapp answering") == 503
    page = requests.get(url, timeout=10)
    assert page.status_code == 503 and page.text.startswith("Redis is unavailable: ") and page.text.count("\n") == 1
    warnings = [line for line in web.output().splitlines() if " WARNING " in line]
    assert len(warnings) == 1 and "Redis at redis.service.invalid:6379 is unavailable: " in warnings[0], web.output()
    assert "Traceback" not in web.output()
    assert web.running()
