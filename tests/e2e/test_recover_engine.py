"""Recovery's engine lookups (scripts/recover/engine.py) on the real engine: an object is found by its
exact name only, with the id pulumi-docker records for it, and a never-started container is told apart."""
from __future__ import annotations

import contextlib
import secrets

import docker.errors
import pytest

from scripts.recover.deployment import Deployment
from scripts.recover.engine import DockerEngine
from scripts.recover.plan import decide
from tests.e2e.support import BASE_IMAGE
from tests.unit.recovery_support import consul_container, consul_volume, export

pytestmark = pytest.mark.docker


def test_objects_are_found_by_exact_name_and_judged_as_declared(engine) -> None:
    prefix = f"rc{secrets.token_hex(3)}"
    image_id = engine.images.get(BASE_IMAGE).id
    created = engine.containers.create(BASE_IMAGE, ["sleep", "30"], name=f"{prefix}-consul-1")
    volume = engine.volumes.create(f"{prefix}-consul-1-data")
    lookups = DockerEngine({})
    try:
        found = lookups.container(f"{prefix}-consul-1")
        assert found["Id"] == created.id and found["State"]["Status"] == "created"
        assert lookups.container(created.id[:12]) is None, "an id prefix is not a name"
        assert lookups.volume(f"{prefix}-consul-1-data")["Name"] == volume.name

        container = consul_container(image=image_id)
        container["inputs"]["name"] = f"{prefix}-consul-1"
        data = consul_volume()
        data["inputs"]["name"] = volume.name
        deployment = Deployment.from_export(export([("creating", container), ("creating", data)]))
        assert [(d.action, d.object_id) for d in decide(deployment, lambda operation: lookups)] == [
            ("remove", created.id), ("import", volume.name)
        ]
        created.start()
        assert decide(deployment, lambda operation: lookups)[0].action == "import"
    finally:
        lookups.close()
        with contextlib.suppress(docker.errors.NotFound):
            created.remove(force=True)
        with contextlib.suppress(docker.errors.NotFound):
            volume.remove(force=True)
