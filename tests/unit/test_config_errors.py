"""Bad config is refused before any resource is registered, with a message naming the key."""
from __future__ import annotations

import pulumi
import pytest

from stacks.config_values import ConfigError
from tests.unit.conftest import deploy_rejected

LARRY = {"name": "larry", "docker": "tcp://10.0.0.11:2376", "address": "10.0.0.11", "roles": ["consul-server", "app"]}
CURLY = {"name": "curly", "docker": "tcp://10.0.0.12:2376", "address": "10.0.0.12", "roles": ["consul-server", "app"]}
MOE = {"name": "moe", "docker": "tcp://10.0.0.13:2376", "address": "10.0.0.13", "roles": ["consul-server", "client"]}


def cluster(**overrides):
    config = {"environment": "cluster", "hosts": [LARRY, CURLY, MOE], "registry": "10.0.0.11:5000"}
    config.update(overrides)
    return config


def host(base: dict, **fields) -> dict:
    return {**base, **fields}


BAD_CONFIGS = {
    "a typo in a key": (
        {"heyworldReplica": 3},
        "config `orchestration:heyworldReplica`: is not a setting of this program; did you mean `orchestration:heyworldReplicas`?",
    ),
    "unknown environment": (
        {"environment": "moon"},
        "config `orchestration:environment`: 'moon' is not one of ['local', 'cluster', 'sandbox']",
    ),
    "even server count": ({"consulServers": 2}, "config `orchestration:consulServers`: '2' is not one of [1, 3, 5]"),
    # Keys Pulumi.yaml types are checked by the CLI itself, before the program runs.
    "server count not a number": ({"consulServers": "three"}, "Stack 'dev' with configuration key 'consulServers' must be of type 'integer'"),
    "negative replicas": ({"heyworldReplicas": -1}, "config `orchestration:heyworldReplicas`: -1 is below the minimum of 0"),
    "no workers": ({"appWorkers": 0}, "config `orchestration:appWorkers`: 0 is below the minimum of 1"),
    "port out of range": ({"webPort": 70000}, "config `orchestration:webPort`: 70000 is not a TCP port (1-65535)"),
    "same host port twice": (
        {"webPort": 8500},
        "config `orchestration:webPort`: port 8500 is also published by `orchestration:consulHttpPort` on the same engine",
    ),
    "publish address not an IP": ({"publishAddress": "localhost"}, "config `orchestration:publishAddress`: 'localhost' is not an IP address"),
    "docker host not a docker URL": (
        {"dockerHost": "http://localhost:2375"},
        "config `orchestration:dockerHost`: 'http://localhost:2375' is not a Docker host URL: expected unix:///path, tcp://host:port or ssh://user@host",
    ),
    "subnet not CIDR": ({"networkSubnet": "172.29.0.0"}, "config `orchestration:networkSubnet`: '172.29.0.0': expected an IPv4 subnet of /28 or larger"),
    "boolean not a boolean": ({"redisThroughConsul": "yes"}, "Stack 'dev' with configuration key 'redisThroughConsul' must be of type 'boolean'"),
    "datacenter Docker and DNS reject": ({"datacenter": "DC 1"}, "config `orchestration:datacenter`: 'DC 1' is not a lowercase DNS label"),
    "empty image": ({"consulImage": " "}, "config `orchestration:consulImage`: must not be empty"),
    "cluster without hosts": (
        {"environment": "cluster", "registry": "r:5000"},
        "config `orchestration:hosts`: required for the cluster environment: a list of {name, docker, address, roles}",
    ),
    "duplicate host names": (
        cluster(hosts=[LARRY, host(CURLY, name="larry"), MOE]),
        "config `orchestration:hosts`: duplicate host name ['larry']",
    ),
    "duplicate host addresses": (
        cluster(hosts=[LARRY, host(CURLY, address="10.0.0.11"), MOE]),
        "config `orchestration:hosts`: duplicate host address ['10.0.0.11']",
    ),
    "unknown role": (
        cluster(hosts=[LARRY, host(CURLY, roles=["consul-server", "db"]), MOE]),
        "config `orchestration:hosts[1].roles`: ['consul-server', 'db']: expected a list of ['consul-server', 'app', 'client']",
    ),
    "a role no host has": (
        cluster(hosts=[LARRY, CURLY, host(MOE, roles=["consul-server"])]),
        "config `orchestration:hosts`: no host has the role 'client'",
    ),
    "swarm manager not a host": (
        cluster(swarmManager="shemp"),
        "config `orchestration:swarmManager`: 'shemp' is not a host; expected one of ['larry', 'curly', 'moe']",
    ),
    "even number of servers": (
        cluster(hosts=[LARRY, CURLY, host(MOE, roles=["client"])]),
        "config `orchestration:hosts`: 2 hosts have the role 'consul-server'; Consul needs an odd quorum",
    ),
    "missing registry": (
        {key: value for key, value in cluster().items() if key != "registry"},
        "config `orchestration:registry`: required for the cluster environment",
    ),
    "host name Docker and DNS reject": (
        cluster(hosts=[host(LARRY, name="Larry_1"), CURLY, MOE]),
        "config `orchestration:hosts[0].name`: 'Larry_1' is not a lowercase DNS label",
    ),
    "host without docker URL": (
        cluster(hosts=[LARRY, CURLY, {k: v for k, v in MOE.items() if k != "docker"}]),
        "config `orchestration:hosts[2]`: missing fields ['docker']; expected name, docker, address and optionally roles",
    ),
    "host with unknown field": (
        cluster(hosts=[LARRY, CURLY, host(MOE, ip="10.0.0.13")]),
        "config `orchestration:hosts[2]`: unknown fields ['ip']",
    ),
    "worker ports on Consul's": (
        cluster(workerPort=8499, appWorkers=3),
        "config `orchestration:workerPort`: worker server3: port 8501 is also published by the Consul server on host 'larry'",
    ),
    "a raft multiplier below Consul's minimum": (
        {"consulRaftMultiplier": 0},
        "config `orchestration:consulRaftMultiplier`: 0 is below the minimum of 1",
    ),
    "worker ports on Consul's plain HTTP port, without TLS": (
        cluster(workerPort=8499, appWorkers=3, consulTls=False),
        "config `orchestration:workerPort`: worker server2: port 8500 is also published by the Consul server on host 'larry'",
    ),
    "rollout order Swarm does not know": (
        {"heyworldDeploy": {"rollout": {"order": "random"}}},
        "config `orchestration:heyworldDeploy.rollout.order`: 'random' is not one of ['start-first', 'stop-first']",
    ),
    "rollout delay not a duration": (
        {"heyworldDeploy": {"rollout": {"delay": "ten seconds"}}},
        "config `orchestration:heyworldDeploy.rollout.delay`: 'ten seconds' is not a duration such as 500ms, 10s or 1m30s",
    ),
    "unknown deploy field": (
        {"heyworldDeploy": {"replicas": 3}},
        "config `orchestration:heyworldDeploy`: unknown fields ['replicas']",
    ),
    "constraint without an operator": (
        {"heyworldDeploy": {"constraints": ["node.hostname"]}},
        "config `orchestration:heyworldDeploy.constraints`: 'node.hostname' is not a constraint",
    ),
    "reservation above the limit": (
        {"heyworldDeploy": {"resources": {"memoryLimitMb": 64, "memoryReservationMb": 128}}},
        "config `orchestration:heyworldDeploy.resources.memoryReservationMb`: 128 is above the limit of 64",
    ),
    "cpus not a number": (
        {"heyworldDeploy": {"resources": {"cpuLimit": "half"}}},
        "config `orchestration:heyworldDeploy.resources.cpuLimit`: 'half' is not a number of CPUs",
    ),
    "service without image": (
        {"swarmServices": {"web": {"replicas": 2}}},
        "config `orchestration:swarmServices.web.image`: required",
    ),
    "health check not CMD": (
        {"swarmServices": {"web": {"image": "web:1", "healthCheck": {"test": ["curl", "localhost"]}}}},
        "config `orchestration:swarmServices.web.healthCheck.test`: ['curl', 'localhost']: expected a list starting with CMD or CMD-SHELL",
    ),
    "two services on one mesh port": (
        {"swarmServices": {"a": {"image": "a:1", "ports": [{"published": 8090, "target": 80}]}, "b": {"image": "b:1", "ports": [{"published": 8090, "target": 80}]}}},
        "config `orchestration:swarmServices.b.ports[0]`: port 8090 is also published by `orchestration:swarmServices.a.ports[0]` on the same engine",
    ),
    "a CPU reservation for a container": (
        {"containerResources": {"consul": {"cpuReservation": 0.5}}},
        "config `orchestration:containerResources.consul.cpuReservation`: a container cannot reserve CPUs (only a swarm service can)",
    ),
    "an unknown kind of container": (
        {"containerResources": {"redis": {"memoryLimitMb": 64}}},
        "config `orchestration:containerResources`: unknown fields ['redis']; expected consul, workers, client",
    ),
    "labels for a host that is not one": (
        cluster(nodeLabels={"shemp": {"zone": "a"}}),
        "config `orchestration:nodeLabels.shemp`: 'shemp' is not a host; expected one of ['larry', 'curly', 'moe']",
    ),
    "label value not text": (
        cluster(nodeLabels={"larry": {"ssd": True}}),
        "config `orchestration:nodeLabels.larry.ssd`: True is not a string; quote it",
    ),
    "every host drained": (
        cluster(drainedHosts=["larry", "curly", "moe"]),
        "config `orchestration:drainedHosts`: drains every host, so no task could run anywhere",
    ),
    "half the TLS material": (
        cluster(dockerTlsCa="-----BEGIN CERTIFICATE-----"),
        "config `orchestration:dockerTlsCert`: dockerTlsCa, dockerTlsCert and dockerTlsKey go together",
    ),
}


CREDENTIALS = ("registryPassword", "dockerTlsCa", "dockerTlsCert", "dockerTlsKey")


@pytest.mark.parametrize("overrides, message", BAD_CONFIGS.values(), ids=BAD_CONFIGS.keys())
def test_bad_config_is_refused_before_anything_is_registered(overrides: dict, message: str) -> None:
    error, registered = deploy_rejected("dev", overrides, secret_keys=CREDENTIALS)
    assert error.startswith(message), error
    assert registered == []


@pytest.mark.parametrize("credential", CREDENTIALS)
def test_a_credential_in_plain_text_is_refused(credential: str) -> None:
    tls = {key: "PEM" for key in CREDENTIALS[1:]}
    overrides = cluster(registryUsername="ci", registryPassword="hunter2", **tls)
    error, registered = deploy_rejected("dev", overrides, secret_keys=tuple(key for key in CREDENTIALS if key != credential))
    assert error == (
        f"config `orchestration:{credential}`: holds a credential, so it must be encrypted: "
        f"pulumi config set --secret {credential} <value>"
    )
    assert registered == []


def test_a_stack_name_docker_cannot_use_is_refused() -> None:
    error, registered = deploy_rejected("dev stack", {})
    assert "stack name 'dev stack' cannot prefix Docker names" in error
    assert registered == []


def test_config_errors_are_errors_pulumi_shows_without_a_traceback() -> None:
    # The Python language host logs a RunError's message alone; any other exception with its traceback.
    assert issubclass(ConfigError, pulumi.RunError)

