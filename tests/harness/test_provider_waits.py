"""pulumi-docker's own waits, which the harness keeps so a destroy or an up through it takes what the
real provider takes (terraform-provider-docker, internal/provider/resource_docker_network_funcs.go and
resource_docker_volume.go): a network's create and read, and a network's or volume's delete, wait 2 s
(`Delay`) before their first try; a delete still refused (endpoints, in use) tries again 5 s later
(`MinTimeout`)."""
from __future__ import annotations

from types import SimpleNamespace

import docker.errors
import pytest

from tests.harness import docker_common, docker_resources
from tests.harness.state import ResourceRecord


class Engine:
    def __init__(self, refusals: int, refusal: str) -> None:
        self.refusals, self.refusal, self.calls = refusals, refusal, []

    def _maybe_refuse(self, call: str) -> None:
        self.calls.append(call)
        if self.refusals:
            self.refusals -= 1
            raise docker.errors.APIError(self.refusal)

    def remove_network(self, network_id: str) -> None:
        self._maybe_refuse("remove_network")

    def remove_volume(self, volume_id: str) -> None:
        self._maybe_refuse("remove_volume")


@pytest.fixture
def slept(monkeypatch) -> list[float]:
    waits: list[float] = []
    monkeypatch.setattr(docker_common, "provider_wait", waits.append)
    return waits


@pytest.mark.parametrize(
    "handler, refusal",
    [(docker_resources.Network(), "error while removing network: network x has active endpoints"), (docker_resources.Volume(), "volume is in use")],
)
def test_a_delete_waits_2_s_then_retries_every_5_s(slept, handler, refusal) -> None:
    engine = Engine(refusals=2, refusal=refusal)
    ctx = SimpleNamespace(docker=lambda: SimpleNamespace(api=engine))
    handler.delete(ctx, ResourceRecord("urn:x", handler.type_token, "x", "x-id", {}, {}, {}))
    assert slept == [2, 5, 5]
    assert len(engine.calls) == 3


def test_a_network_create_waits_2_s_before_reading_it_back(slept) -> None:
    created = {"Id": "n1"}
    found = {"Name": "net", "Driver": "bridge", "Scope": "local", "Internal": False, "Attachable": False, "EnableIPv6": False, "IPAM": {}}
    api = SimpleNamespace(create_network=lambda *a, **k: created, inspect_network=lambda network_id: found)
    ctx = SimpleNamespace(docker=lambda: SimpleNamespace(api=api), inputs={"name": "net"}, name="net")
    docker_resources.Network().create(ctx)
    assert slept == [2]
