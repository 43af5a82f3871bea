"""A container's CPU and memory limits, as pulumi-docker `Container` arguments.

Written as the provider reads them back from the engine, so the next `pulumi up` finds nothing
changed: `cpus` in its decimal form ("1.0", "0.5"), and `memory_swap` equal to the memory limit
(the engine would otherwise make it twice the limit, which the provider would then try to undo).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from components.swarm_policy import Resources

_MEBIBYTE = 1024 * 1024


@dataclass(frozen=True)
class Minimum:
    """The smallest value an engine takes for a setting, and whose rule it is."""

    amount: float
    unit: str
    whose: str
    why: str = ""

    def refuses(self, amount: float) -> Optional[str]:
        """Why the engine would refuse `amount`, or None (0 sets no limit, which every engine takes)."""
        if 0 < amount < self.amount:
            return f"{amount:g}{self.unit} is below {self.whose} minimum of {self.amount:g}{self.unit}{self.why}"
        return None


# The smallest limits the engines take (moby's verifyPlatformContainerResources, swarmkit's validateResources).
# A swarm task is a container, so a service's limits meet Docker's minimums as its tasks start; only its
# reservations, which the scheduler alone reads, stop at Swarm's. Docker sets a CPU limit as a quota per
# 100 ms period, and the kernel refuses a quota under 1 ms.
MEMORY_MINIMUM = Minimum(6, " MiB", "Docker's")
SWARM_MEMORY_RESERVATION_MINIMUM = Minimum(4, " MiB", "Swarm's")
CPU_LIMIT_MINIMUM = Minimum(0.01, " CPUs", "the kernel's", " (a CPU quota of 1 ms per 100 ms)")
SWARM_CPU_RESERVATION_MINIMUM = Minimum(0.001, " CPUs", "Swarm's")


def container_resource_args(resources: Resources) -> dict[str, Any]:
    """Keyword arguments for docker.Container. A container has no CPU reservation: that is refused."""
    if resources.cpu_reservation is not None:
        raise ValueError("a container cannot reserve CPUs (only a swarm service can); limit them with cpu_limit")
    memory_mb = _mebibytes(resources.memory_limit_bytes)
    return {
        "cpus": cpus_text(resources.cpu_limit),
        "memory": memory_mb,
        # No swap beyond the limit: the limit is what the container gets.
        "memory_swap": memory_mb,
        "memory_reservation": _mebibytes(resources.memory_reservation_bytes),
    }


def _mebibytes(amount: Optional[int]) -> Optional[int]:
    """The provider takes a container's memory in MiB."""
    if amount is None:
        return None
    if amount % _MEBIBYTE:
        raise ValueError(f"a container's memory is set in whole MiB, not {amount} bytes")
    return amount // _MEBIBYTE


def cpus_text(cpus: Optional[float]) -> Optional[str]:
    """The provider's nanoInt64ToDecimalString: 1 -> "1.0", 0.5 -> "0.5", 0.25 -> "0.25"."""
    if cpus is None:
        return None
    nanos = round(cpus * 1e9)
    whole, fraction = divmod(nanos, 10**9)
    if fraction == 0:
        return f"{whole}.0"
    return f"{whole}.{fraction:09d}".rstrip("0")
