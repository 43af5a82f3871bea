"""A `pulumi up` that UPDATES a deployed dev stack, killed part-way, through the real CLI and providers
(see real_pulumi.py), recovered by `make recover`, after which `make up` converges with nothing lost
(docs/day-2.md, "A killed deploy"). test_killed_deploy_real_pulumi.py kills a first `up`; this kills
the `up` of a change:

- during a swarm service rollout: heyworld goes from 2 to 3 replicas on a new image, which swarm rolls
  out one task at a time (10 s apart), and the `up` is killed while `heyworld-service updating` shows;
- during a Consul server replacement: three servers, a new Consul image, and the `up` is killed while
  the second server's replacement starts (the first is replaced, the second deleted, its new one made).

Then `make recover`, `make up`, a preview expecting no changes, no operation left pending, Consul with
a leader and the stack's KV settings (and a key written before the update, still there), the service
at its new replica count on its new image, and a destroy that leaves nothing.
"""
from __future__ import annotations

import base64
import json
import signal
from typing import Any

import pytest
import requests

from tests.harness.engine import objects_named_with, sweep
from tests.harness.local_images import BASE_IMAGE, CONSUL_IMAGE

from .real_pulumi import RealProject, deployed
from .support import PHASES, rolled
from .kill_support import killed_up, make

pytestmark = pytest.mark.docker

ROLLED_HEYWORLD = "orchestration-e2e/heyworld:rolled"
ROLLED_CONSUL = "orchestration-e2e/consul:rolled"
KEPT_KEY = "real/kept-through-the-killed-update"

# name: (config of the first up, the change the killed up applies, the moment in its progress, seconds after it, signals)
CASES: dict[str, tuple[dict[str, Any], dict[str, Any], str, float, tuple[signal.Signals, ...]]] = {
    "SIGKILL during the heyworld rollout": (
        {}, {"heyworldReplicas": 3, "heyworldImage": ROLLED_HEYWORLD}, r"heyworld-service updating", 3, (signal.SIGKILL,),
    ),
    "two SIGINTs during the heyworld rollout": (
        {}, {"heyworldReplicas": 3, "heyworldImage": ROLLED_HEYWORLD}, r"heyworld-service updating", 3, (signal.SIGINT, signal.SIGINT),
    ),
    # A server's create makes and starts it, then waits for it to be healthy: 2 s in, it runs.
    "SIGKILL while the second Consul server is replaced": (
        {"consulServers": 3}, {"consulImage": ROLLED_CONSUL}, r"consul-consul-2-agent creating replacement", 2, (signal.SIGKILL,),
    ),
}


def consul_url(project: RealProject) -> str:
    return f"http://{project.outputs()['consulHttpAddress']}"


def kv(consul: str) -> dict[str, str]:
    found = requests.get(f"{consul}/v1/kv/", params={"recurse": "true"}, timeout=5)
    found.raise_for_status()
    return {entry["Key"]: base64.b64decode(entry["Value"] or "").decode() for entry in found.json()}


def pending_names(project: RealProject) -> list[str]:
    """The operations the state has pending, and the resources it marks as awaiting their deletion or replacement."""
    deployment = json.loads(project.exported_state())["deployment"]
    return [f"{op['type']} {op['resource']['urn'].rsplit('::', 1)[-1]}" for op in deployment.get("pending_operations") or []] + [
        f"{flag} {resource['urn'].rsplit('::', 1)[-1]}"
        for resource in deployment["resources"]
        for flag in ("delete", "pendingReplacement")
        if resource.get(flag)
    ]


@pytest.mark.parametrize("case", list(CASES))
def test_a_killed_update_is_recovered_by_one_command_and_converges(engine, case: str) -> None:
    first, change, moment, delay, signals = CASES[case]
    rolled(BASE_IMAGE, ROLLED_HEYWORLD)
    rolled(CONSUL_IMAGE, ROLLED_CONSUL)
    sweep(engine, "dev-")  # what an earlier run on this engine left (a dev-net) would fail the first up
    swarm_was_active = engine.info()["Swarm"]["LocalNodeState"] == "active"
    try:
        with deployed(engine, **first) as project:
            consul = consul_url(project)
            settings = kv(consul)
            assert settings["distributed_app/dev/workers"] == "2", settings
            requests.put(f"{consul}/v1/kv/{KEPT_KEY}", data="yes", timeout=5).raise_for_status()

            project.set_config(change)
            printed = killed_up(project, moment, delay, signals)
            pending = pending_names(project)
            print(f"\n{case}: pending at the kill: {pending}")
            print(f"{case}: the killed up's last lines:\n{''.join(printed.splitlines(keepends=True)[-8:])}")
            recovered = make(project, "recover")
            print(f"{case}: make recover said:\n{recovered.stdout}{recovered.stderr}")
            up = make(project, "up")
            assert "recover:" not in up.stdout + up.stderr, "make up found something left to recover after make recover"

            project.run("preview", "--expect-no-changes", "--diff", label="real: preview --expect-no-changes after recovery")
            assert pending_names(project) == [], "the state still has an operation pending"
            leader = requests.get(f"{consul}/v1/status/leader", timeout=5).json()
            assert leader, "no Consul leader after recovery"
            assert len(requests.get(f"{consul}/v1/status/peers", timeout=5).json()) == first.get("consulServers", 1)
            after = kv(consul)
            assert {key: after.get(key) for key in settings} == settings, "a KV setting the stack wrote was lost"
            assert after[KEPT_KEY] == "yes", "Consul's data did not outlive the killed update"

            if "heyworldReplicas" in change:
                spec = engine.api.inspect_service("dev-heyworld")["Spec"]
                assert spec["Mode"]["Replicated"]["Replicas"] == 3
                running = [
                    task for task in engine.api.tasks(filters={"service": "dev-heyworld", "desired-state": "running"})
                    if task["Status"]["State"] == "running"
                ]
                assert len(running) == 3, running
                assert {task["Spec"]["ContainerSpec"]["Image"].split("@")[0] for task in running} == {ROLLED_HEYWORLD}
            if "consulImage" in change:
                # A container is made from its RemoteImage's id, not the tag.
                images = {name: engine.api.inspect_container(f"dev-consul-{name}")["Image"] for name in (1, 2, 3)}
                assert set(images.values()) == {engine.api.inspect_image(ROLLED_CONSUL)["Id"]}, images
            print(f"{case}: timings: " + ", ".join(f"{name} {seconds:.1f}s" for name, seconds in project.timings.items() if name.startswith("real:")))
    finally:
        # A stack `make recover` could not settle keeps its lock, and the destroy fails: what it left is
        # swept, so the next case (and whoever uses the engine next) starts clean; the check below still fails.
        left = objects_named_with(engine, "dev-")
        swarm_after = engine.info()["Swarm"]["LocalNodeState"]
        sweep(engine, "dev-")
        if not swarm_was_active and swarm_after == "active":
            engine.swarm.leave(force=True)
    assert left == {"services": [], "containers": [], "networks": [], "volumes": []}, left
    if not swarm_was_active:
        assert swarm_after == "inactive", "the swarm the stack made outlived the destroy"
    assert PHASES  # the timings went to the run's summary
