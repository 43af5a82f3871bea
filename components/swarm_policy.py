"""How a swarm service is placed, sized, health-checked and rolled out: plain values and their pulumi-docker form.

Durations are Go durations in the form the provider reads back from the engine ("10s", "1m",
"500ms"), so what is declared is what the next `pulumi up` diffs against.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import pulumi_docker as docker

ROLLOUT_STRATEGIES = ("rolling", "all-at-once")
UPDATE_ORDERS = ("start-first", "stop-first")
FAILURE_ACTIONS = ("rollback", "pause", "continue")


@dataclass(frozen=True)
class Placement:
    constraints: Sequence[str] = ()
    """Swarm constraints, e.g. `node.hostname!=moe`, `node.labels.zone==a`: every one must hold."""
    spread: Optional[str] = None
    """A node attribute to spread tasks evenly over, e.g. `node.labels.zone`."""


@dataclass(frozen=True)
class Resources:
    """Per task; a reservation a node cannot give keeps the task pending (`no suitable node`)."""

    cpu_limit: Optional[float] = None
    memory_limit_bytes: Optional[int] = None
    cpu_reservation: Optional[float] = None
    memory_reservation_bytes: Optional[int] = None


@dataclass(frozen=True)
class Rollout:
    """How a change of the task (its image, say) reaches the running tasks."""

    strategy: str = "rolling"
    """`rolling`: `parallelism` tasks at a time, `delay` apart, each healthy before the next;
    `all-at-once`: every task stopped, then every new one started (no availability promised)."""
    parallelism: int = 1
    delay: str = "10s"
    order: str = "start-first"
    """`start-first` starts the new task before stopping the old one, so capacity never drops."""
    monitor: Optional[str] = None
    """How long a new task is watched for failure; the provider's default (5s) when None."""
    failure_action: str = "rollback"


@dataclass(frozen=True)
class HealthCheck:
    """A task counts as running only once this passes, so a rolling update waits for it."""

    test: Sequence[str]
    """As in a Dockerfile HEALTHCHECK: ["CMD", "curl", "-f", "http://localhost/"] or ["CMD-SHELL", "..."]."""
    interval: str = "2s"
    timeout: str = "3s"
    start_period: str = "0s"
    retries: int = 3


PUBLISH_MODES = ("ingress", "host")


@dataclass(frozen=True)
class MeshPort:
    """A published port. `ingress` (the routing mesh): every node answers and balances over the tasks;
    `host`: only a node running a task answers, and it holds the port, so a node takes one task at most."""

    target: int
    published: Optional[int] = None
    """None: the engine picks one."""
    mode: str = "ingress"
    protocol: str = "tcp"


def placement_args(placement: Placement) -> docker.ServiceTaskSpecPlacementArgs:
    # Declared even when empty: the provider keeps a placement left out of the config (Optional and
    # Computed), so constraints taken out of the config would stay on the service.
    return docker.ServiceTaskSpecPlacementArgs(
        constraints=list(placement.constraints),
        # The provider passes each pref as it is as the spread descriptor (no `spread=` prefix).
        prefs=[placement.spread] if placement.spread else [],
    )


def resources_args(resources: Resources) -> Optional[docker.ServiceTaskSpecResourcesArgs]:
    limits = _resource_args(docker.ServiceTaskSpecResourcesLimitsArgs, resources.cpu_limit, resources.memory_limit_bytes)
    reservation = _resource_args(
        docker.ServiceTaskSpecResourcesReservationArgs, resources.cpu_reservation, resources.memory_reservation_bytes
    )
    if limits is None and reservation is None:
        return None
    return docker.ServiceTaskSpecResourcesArgs(limits=limits, reservation=reservation)


def _resource_args(kind, cpus: Optional[float], memory_bytes: Optional[int]):
    if cpus is None and memory_bytes is None:
        return None
    return kind(nano_cpus=round(cpus * 1e9) if cpus is not None else None, memory_bytes=memory_bytes)


def update_config_args(rollout: Rollout) -> docker.ServiceUpdateConfigArgs:
    if rollout.strategy == "all-at-once":
        # Parallelism 0 updates every task in one step; stop-first frees what the old tasks held.
        return docker.ServiceUpdateConfigArgs(
            parallelism=0, order="stop-first", failure_action=rollout.failure_action, monitor=rollout.monitor
        )
    return docker.ServiceUpdateConfigArgs(
        parallelism=rollout.parallelism,
        delay=rollout.delay,
        failure_action=rollout.failure_action,
        monitor=rollout.monitor,
        order=rollout.order,
    )


def rollback_config_args(rollout: Rollout) -> docker.ServiceRollbackConfigArgs:
    """A rollback goes back the way the rollout came, so it keeps the service answering too."""
    update = update_config_args(rollout)
    return docker.ServiceRollbackConfigArgs(
        parallelism=update.parallelism, delay=update.delay, monitor=update.monitor, order=update.order
    )


def health_check_args(check: HealthCheck) -> docker.ServiceTaskSpecContainerSpecHealthcheckArgs:
    return docker.ServiceTaskSpecContainerSpecHealthcheckArgs(
        tests=list(check.test),
        interval=check.interval,
        timeout=check.timeout,
        start_period=check.start_period,
        retries=check.retries,
    )


def endpoint_args(ports: Sequence[MeshPort]) -> Optional[docker.ServiceEndpointSpecArgs]:
    if not ports:
        return None
    return docker.ServiceEndpointSpecArgs(
        ports=[
            docker.ServiceEndpointSpecPortArgs(
                target_port=port.target,
                published_port=port.published,
                protocol=port.protocol,
                # Ingress is the provider's default.
                publish_mode=port.mode if port.mode != "ingress" else None,
            )
            for port in ports
        ]
    )
