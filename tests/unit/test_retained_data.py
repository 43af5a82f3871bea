"""Consul's and Redis's data volumes outlive `pulumi destroy` by default; `retainData: false` lets them go."""
from __future__ import annotations

from tests.unit.conftest import deploy, deploy_rejected

VOLUME = "docker:index/volume:Volume"


def test_data_volumes_are_retained_and_nothing_else_is() -> None:
    dev = deploy("dev", {"consulServers": 3})
    retained = sorted(r.name for r in dev.registrations if r.retain_on_delete)
    assert retained == ["compose-redis-data", "consul-consul-1-data", "consul-consul-2-data", "consul-consul-3-data"]
    assert {r.type for r in dev.registrations if r.retain_on_delete} == {VOLUME}


def test_the_cluster_retains_each_servers_data() -> None:
    cluster = deploy("cluster")
    assert sorted(r.name for r in cluster.registrations if r.retain_on_delete) == [
        "consul-curly-data", "consul-larry-data", "consul-moe-data"
    ]


def test_opting_out_retains_nothing() -> None:
    dev = deploy("dev", {"retainData": False})
    assert [r.name for r in dev.registrations if r.retain_on_delete] == []
    assert len(dev.of_type(VOLUME)) == 2


def test_a_non_boolean_is_refused_naming_the_key() -> None:
    message, _ = deploy_rejected("dev", {"retainData": "sometimes"})
    assert "retainData" in message
