"""A service's `deploy`, and what `docker compose up` makes of it and of `scale`, `mem_limit`, `cpus` and
`mem_reservation` on plain containers: that many replicas, the memory and CPU limits, the memory reservation."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional

from components.compose_project.reading import Reading, number_text
from components.compose_project.source import Path
from components.container_resources import (
    CPU_LIMIT_MINIMUM,
    MEMORY_MINIMUM,
    SWARM_CPU_RESERVATION_MINIMUM,
    SWARM_MEMORY_RESERVATION_MINIMUM,
    Minimum,
)

# What the engines take for a service's deploy.resources, by part (see components.container_resources).
DEPLOY_MINIMUMS = {
    "limits": {"cpus": CPU_LIMIT_MINIMUM, "memory": MEMORY_MINIMUM},
    "reservations": {"cpus": SWARM_CPU_RESERVATION_MINIMUM, "memory": SWARM_MEMORY_RESERVATION_MINIMUM},
}
# Docker's minimum for a container's memory reservation (moby's verifyPlatformContainerResources).
CONTAINER_MEMORY_RESERVATION_MINIMUM = MEMORY_MINIMUM


@dataclass(frozen=True)
class Deploy:
    mode: str = "replicated"
    replicas: int = 1
    update_config: Mapping[str, Any] = field(default_factory=dict)
    rollback_config: Mapping[str, Any] = field(default_factory=dict)
    limits: Mapping[str, Any] = field(default_factory=dict)
    """`cpus` (a number) and `memory` (bytes)."""
    reservations: Mapping[str, Any] = field(default_factory=dict)
    constraints: tuple[str, ...] = ()


@dataclass(frozen=True)
class ContainerLimits:
    """What `docker compose up` sets on each of a service's containers (compose's getDeployResources)."""

    replicas: int = 1
    memory_mb: Optional[int] = None
    memory_reservation_mb: Optional[int] = None
    cpus: Optional[str] = None
    swarm_only: tuple[str, ...] = ()
    refusals: tuple[str, ...] = ()


class DeployReading(Reading):
    def deploy(self, at: Path, raw: dict) -> Deploy:
        resources = raw.get("resources") or {}

        def amounts(part: str) -> dict[str, Any]:
            given = resources.get(part) or {}
            where = at + ("resources", part)
            result: dict[str, Any] = {}
            if "cpus" in given:
                result["cpus"] = self.at_least(where + ("cpus",), float(given["cpus"]), DEPLOY_MINIMUMS[part]["cpus"])
            if "memory" in given:
                result["memory"] = self.bytes(where + ("memory",), given["memory"])
                self.at_least(where + ("memory",), result["memory"] / 1024**2, DEPLOY_MINIMUMS[part]["memory"])
            return result

        return Deploy(
            mode=raw.get("mode", "replicated"),
            replicas=self.not_negative(at + ("replicas",), raw.get("replicas", 1)),
            update_config=self.update_policy(at + ("update_config",), raw.get("update_config") or {}),
            rollback_config=self.update_policy(at + ("rollback_config",), raw.get("rollback_config") or {}),
            limits=amounts("limits"),
            reservations=amounts("reservations"),
            constraints=tuple((raw.get("placement") or {}).get("constraints") or ()),
        )

    def update_policy(self, at: Path, raw: dict) -> dict[str, Any]:
        """`update_config` or `rollback_config`, with what Swarm would refuse in it refused here."""
        if "parallelism" in raw:
            self.not_negative(at + ("parallelism",), raw["parallelism"])
        for key in ("delay", "monitor"):
            self.duration(at + (key,), raw.get(key))
        return dict(raw)

    def container_limits(self, at: Path, raw: dict) -> ContainerLimits:
        deploy = raw.get("deploy") or {}
        resources = deploy.get("resources") or {}
        limits, reservations = resources.get("limits") or {}, resources.get("reservations") or {}
        at_deploy = at + ("deploy",)
        replicas = self.same(at, raw, "scale", deploy, "replicas", "deploy.replicas")
        count = self.not_negative(at + ("scale",) if "scale" in raw else at_deploy + ("replicas",), 1 if replicas is None else replicas)
        if raw.get("container_name") and count > 1:
            raise self.source.error(at + ("container_name",), f"a container name for {count} replicas: Compose refuses it, as names are unique")
        refusals: list[str] = []

        def megabytes(key: str, part: str, amount: Any, minimum: Minimum) -> Optional[int]:
            where = at + (key,) if key in raw else at_deploy + ("resources", part, "memory")
            size = self.bytes(where, amount)
            problem = minimum.refuses(size / 1024**2)
            if not problem and size % 1024**2:
                problem = f"{amount!r} is not a whole number of megabytes, the unit pulumi-docker takes"
            if problem and key in raw:
                raise self.source.error(where, problem)
            if problem:
                # What `deploy` gives a swarm service takes bytes and Swarm's minimums: refused only for containers.
                refusals.append(str(self.source.error(where, f"{problem} (for a container; a swarm service takes it)")))
                return None
            return size // 1024**2

        def size(amount: Any) -> int:
            return self.bytes(at, amount)

        memory = self.same(at, raw, "mem_limit", limits, "memory", "deploy.resources.limits.memory", size)
        reservation = self.same(at, raw, "mem_reservation", reservations, "memory", "deploy.resources.reservations.memory", size)
        cpus = self.same(at, raw, "cpus", limits, "cpus", "deploy.resources.limits.cpus", float)
        cpus_at = at + ("cpus",) if "cpus" in raw else at_deploy + ("resources", "limits", "cpus")
        swarm_only = [key for key in ("update_config", "rollback_config", "placement", "labels") if key in deploy]
        if deploy.get("mode") == "global":
            swarm_only.append("mode")
        if "cpus" in reservations:
            # compose's setReservations: a CPU reservation is a swarm option.
            swarm_only.append("resources.reservations.cpus")
        return ContainerLimits(
            replicas=count,
            memory_mb=megabytes("mem_limit", "limits", memory, MEMORY_MINIMUM) if memory is not None else None,
            memory_reservation_mb=megabytes("mem_reservation", "reservations", reservation, CONTAINER_MEMORY_RESERVATION_MINIMUM)
            if reservation is not None
            else None,
            cpus=number_text(self.at_least(cpus_at, float(cpus), CPU_LIMIT_MINIMUM)) if cpus is not None else None,
            swarm_only=tuple(f"deploy.{key}" for key in swarm_only),
            refusals=tuple(refusals),
        )

    def same(self, at: Path, raw: dict, key: str, part: dict, part_key: str, part_name: str, value: Callable[[Any], Any] = str) -> Any:
        """A value given at the service's `key` or at deploy's `part_key`: Compose takes either, and refuses two that differ."""
        if key in raw and part_key in part and value(raw[key]) != value(part[part_key]):
            raise self.source.error(at + (key,), f"differs from `{part_name}`: Compose refuses two different values")
        return raw.get(key, part.get(part_key))
