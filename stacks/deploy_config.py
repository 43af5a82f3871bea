"""How workloads are deployed, from config: swarm services placed, sized and rolled out, extra services,
the compose web app as a container or a swarm service, node labels and drains, and the containers' CPU
and memory limits.

Each function checks one key's object and names the failing field as `<key>.<field>` in its error.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from components.container_resources import (
    CPU_LIMIT_MINIMUM,
    MEMORY_MINIMUM,
    SWARM_CPU_RESERVATION_MINIMUM,
    SWARM_MEMORY_RESERVATION_MINIMUM,
    Minimum,
)
from components.swarm_policy import (
    FAILURE_ACTIONS,
    PUBLISH_MODES,
    ROLLOUT_STRATEGIES,
    UPDATE_ORDERS,
    HealthCheck,
    MeshPort,
    Placement,
    Resources,
    Rollout,
)
from stacks.config_values import DNS_LABEL, ConfigValues


SERVICE_MODES = ("replicated", "global")
WEB_MODES = ("container", "swarm")
DEPLOY_FIELDS = ("constraints", "spread", "resources", "rollout", "convergeTimeout")
SERVICE_FIELDS = ("image", "args", "mode", "replicas", "ports", "healthCheck", *DEPLOY_FIELDS)
COMPOSE_WEB_FIELDS = ("mode", "replicas", "publishMode", *DEPLOY_FIELDS)
RESOURCE_FIELDS = ("cpuLimit", "memoryLimitMb", "cpuReservation", "memoryReservationMb")
ROLLOUT_FIELDS = ("strategy", "parallelism", "delay", "order", "monitor", "failureAction")
CONTAINER_KINDS = ("consul", "workers", "client")
HEALTH_CHECK_FIELDS = ("test", "interval", "timeout", "startPeriod", "retries")
# Docker's label keys; values are free text.
_LABEL_KEY = re.compile(r"^[a-zA-Z0-9]([a-zA-Z0-9._-]*[a-zA-Z0-9])?$")
# A Go duration (time.ParseDuration) in whole milliseconds at least, e.g. 10s, 1m30s, 500ms.
_DURATION_PART = re.compile(r"(\d+)(ms|s|m|h)")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000}


@dataclass(frozen=True)
class ServiceDeploy:
    placement: Placement = Placement()
    resources: Resources = Resources()
    rollout: Rollout = Rollout()
    converge_timeout: str = "3m"


@dataclass(frozen=True)
class ConfiguredService:
    """A swarm service the stack runs because config lists it (key `swarmServices`)."""

    name: str
    image: str
    args: tuple[str, ...]
    mode: str
    replicas: int
    ports: tuple[MeshPort, ...]
    health_check: Optional[HealthCheck]
    deploy: ServiceDeploy


@dataclass(frozen=True)
class ComposeWeb:
    """How the compose app's web runs (key `composeWeb`): a container, or a replicated swarm service."""

    mode: str = "container"
    replicas: int = 3
    publish_mode: str = "ingress"
    deploy: ServiceDeploy = ServiceDeploy()


@dataclass(frozen=True)
class SwarmWorkloads:
    heyworld: ServiceDeploy
    services: tuple[ConfiguredService, ...]
    autolock: bool
    compose_web: ComposeWeb = ComposeWeb()


@dataclass(frozen=True)
class ContainerResources:
    """CPU and memory limits per kind of container (key `containerResources`)."""

    consul: Resources = Resources()
    workers: Resources = Resources()
    client: Resources = Resources()


@dataclass(frozen=True)
class NodeSettings:
    labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Host name -> node labels."""
    drained: frozenset[str] = frozenset()


def swarm_workloads(values: ConfigValues) -> SwarmWorkloads:
    heyworld = values.json_value("heyworldDeploy", default={})
    _require_object(values, "heyworldDeploy", heyworld, DEPLOY_FIELDS)
    raw_services = values.json_value("swarmServices", default={})
    _require_object(values, "swarmServices", raw_services, None)
    services = tuple(_service(values, f"swarmServices.{name}", name, spec) for name, spec in raw_services.items())
    return SwarmWorkloads(
        heyworld=deploy(values, "heyworldDeploy", heyworld),
        services=services,
        autolock=values.boolean("swarmAutolock", default=False),
        compose_web=compose_web(values),
    )


def compose_web(values: ConfigValues) -> ComposeWeb:
    raw = values.json_value("composeWeb", default={})
    _require_object(values, "composeWeb", raw, COMPOSE_WEB_FIELDS)
    mode = _choice(values, "composeWeb.mode", raw.get("mode", "container"), WEB_MODES)
    if mode == "container":
        others = sorted(set(raw) - {"mode"})
        if others:
            raise values.fail(f"composeWeb.{others[0]}", "is only read with `mode: swarm`; web runs as a container")
        return ComposeWeb()
    default = ComposeWeb()
    return ComposeWeb(
        mode=mode,
        replicas=_integer(values, "composeWeb.replicas", raw.get("replicas", default.replicas), minimum=1),
        publish_mode=_choice(values, "composeWeb.publishMode", raw.get("publishMode", default.publish_mode), PUBLISH_MODES),
        deploy=deploy(values, "composeWeb", raw),
    )


def container_resources(values: ConfigValues) -> ContainerResources:
    raw = values.json_value("containerResources", default={})
    _require_object(values, "containerResources", raw, CONTAINER_KINDS)
    by_kind = {}
    for kind, spec in raw.items():
        where = f"containerResources.{kind}"
        if isinstance(spec, dict) and "cpuReservation" in spec:
            raise values.fail(f"{where}.cpuReservation", "a container cannot reserve CPUs (only a swarm service can); limit them with cpuLimit")
        by_kind[kind] = _resources(values, where, spec, memory_reservation_minimum=MEMORY_MINIMUM)
    return ContainerResources(**by_kind)


def node_settings(values: ConfigValues, host_names: tuple[str, ...]) -> NodeSettings:
    raw_labels = values.json_value("nodeLabels", default={})
    _require_object(values, "nodeLabels", raw_labels, None)
    labels: dict[str, dict[str, str]] = {}
    for host, host_labels in raw_labels.items():
        where = f"nodeLabels.{host}"
        if host not in host_names:
            raise values.fail(where, f"{host!r} is not a host; expected one of {list(host_names)}")
        _require_object(values, where, host_labels, None)
        for key, value in host_labels.items():
            if not _LABEL_KEY.match(key):
                raise values.fail(f"{where}.{key}", "is not a label key (letters, digits, '.', '_', '-')")
            if not isinstance(value, str):
                raise values.fail(f"{where}.{key}", f"{value!r} is not a string; quote it")
        labels[host] = dict(host_labels)
    drained = values.json_value("drainedHosts", default=[])
    if not isinstance(drained, list) or any(host not in host_names for host in drained):
        raise values.fail("drainedHosts", f"{drained!r}: expected a list of hosts among {list(host_names)}")
    if set(drained) >= set(host_names):
        raise values.fail("drainedHosts", "drains every host, so no task could run anywhere; keep one active")
    return NodeSettings(labels=labels, drained=frozenset(drained))


def deploy(values: ConfigValues, where: str, raw: Mapping[str, Any]) -> ServiceDeploy:
    return ServiceDeploy(
        placement=Placement(
            constraints=tuple(_constraint(values, f"{where}.constraints", item) for item in _list(values, f"{where}.constraints", raw.get("constraints", []))),
            spread=_text(values, f"{where}.spread", raw["spread"]) if "spread" in raw else None,
        ),
        resources=_resources(values, f"{where}.resources", raw.get("resources", {}), memory_reservation_minimum=SWARM_MEMORY_RESERVATION_MINIMUM),
        rollout=_rollout(values, f"{where}.rollout", raw.get("rollout", {})),
        converge_timeout=duration(values, f"{where}.convergeTimeout", raw.get("convergeTimeout", "3m")),
    )


def duration(values: ConfigValues, where: str, raw: Any) -> str:
    """A Go duration, returned as the provider reads it back from the engine (1m30s, 2m, 500ms)."""
    text = raw if isinstance(raw, str) else ""
    if text == "0":
        return "0s"
    if not text or _DURATION_PART.sub("", text):
        raise values.fail(where, f"{raw!r} is not a duration such as 500ms, 10s or 1m30s")
    milliseconds = sum(int(number) * _UNIT_MS[unit] for number, unit in _DURATION_PART.findall(text))
    return _short_duration(milliseconds)


def _short_duration(milliseconds: int) -> str:
    """Go's Duration.String(), then the provider's shortDur: 90s -> 1m30s, 120s -> 2m, 3600s -> 1h."""
    if milliseconds < 1000:
        return f"{milliseconds}ms" if milliseconds else "0s"
    hours, rest = divmod(milliseconds, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds = f"{rest / 1000:.3f}".rstrip("0").rstrip(".")
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if hours or minutes else "") + f"{seconds}s"
    if text.endswith("m0s"):
        text = text[:-2]
    if text.endswith("h0m"):
        text = text[:-2]
    return text


def _service(values: ConfigValues, where: str, name: str, raw: Any) -> ConfiguredService:
    if not DNS_LABEL.match(name):
        raise values.fail(where, f"{name!r} is not a lowercase DNS label (letters, digits, '-')")
    _require_object(values, where, raw, SERVICE_FIELDS)
    if "image" not in raw:
        raise values.fail(f"{where}.image", "required: the image the service runs")
    mode = raw.get("mode", "replicated")
    if mode not in SERVICE_MODES:
        raise values.fail(f"{where}.mode", f"{mode!r} is not one of {list(SERVICE_MODES)}")
    return ConfiguredService(
        name=name,
        image=_text(values, f"{where}.image", raw["image"]),
        args=tuple(_text(values, f"{where}.args", item) for item in _list(values, f"{where}.args", raw.get("args", []))),
        mode=mode,
        replicas=_integer(values, f"{where}.replicas", raw.get("replicas", 1), minimum=0),
        ports=tuple(_port(values, f"{where}.ports[{index}]", item) for index, item in enumerate(_list(values, f"{where}.ports", raw.get("ports", [])))),
        health_check=_health_check(values, f"{where}.healthCheck", raw["healthCheck"]) if "healthCheck" in raw else None,
        deploy=deploy(values, where, raw),
    )


def _resources(values: ConfigValues, where: str, raw: Any, memory_reservation_minimum: Minimum) -> Resources:
    """A container's limits, or a service's (whose memory reservation has Swarm's minimum, not Docker's)."""
    _require_object(values, where, raw, RESOURCE_FIELDS)
    minimums = {
        "cpuLimit": CPU_LIMIT_MINIMUM,
        "cpuReservation": SWARM_CPU_RESERVATION_MINIMUM,
        "memoryLimitMb": MEMORY_MINIMUM,
        "memoryReservationMb": memory_reservation_minimum,
    }
    cpus = {name: _cpus(values, f"{where}.{name}", raw[name], minimums[name]) if name in raw else None for name in ("cpuLimit", "cpuReservation")}
    memory = {
        name: _mebibytes(values, f"{where}.{name}", raw[name], minimums[name]) if name in raw else None
        for name in ("memoryLimitMb", "memoryReservationMb")
    }
    for kind, limit, reservation in (("cpu", cpus["cpuLimit"], cpus["cpuReservation"]), ("memory", memory["memoryLimitMb"], memory["memoryReservationMb"])):
        if limit is not None and reservation is not None and reservation > limit:
            raise values.fail(f"{where}.{kind}Reservation{'Mb' if kind == 'memory' else ''}", f"{reservation} is above the limit of {limit}")
    return Resources(
        cpu_limit=cpus["cpuLimit"],
        memory_limit_bytes=_bytes(memory["memoryLimitMb"]),
        cpu_reservation=cpus["cpuReservation"],
        memory_reservation_bytes=_bytes(memory["memoryReservationMb"]),
    )


def _bytes(mebibytes: Optional[int]) -> Optional[int]:
    return None if mebibytes is None else mebibytes * 1024 * 1024


def _rollout(values: ConfigValues, where: str, raw: Any) -> Rollout:
    _require_object(values, where, raw, ROLLOUT_FIELDS)
    default = Rollout()
    return Rollout(
        strategy=_choice(values, f"{where}.strategy", raw.get("strategy", default.strategy), ROLLOUT_STRATEGIES),
        parallelism=_integer(values, f"{where}.parallelism", raw.get("parallelism", default.parallelism), minimum=1),
        delay=duration(values, f"{where}.delay", raw.get("delay", default.delay)),
        order=_choice(values, f"{where}.order", raw.get("order", default.order), UPDATE_ORDERS),
        monitor=duration(values, f"{where}.monitor", raw["monitor"]) if "monitor" in raw else None,
        failure_action=_choice(values, f"{where}.failureAction", raw.get("failureAction", default.failure_action), FAILURE_ACTIONS),
    )


def _health_check(values: ConfigValues, where: str, raw: Any) -> HealthCheck:
    _require_object(values, where, raw, HEALTH_CHECK_FIELDS)
    test = _list(values, f"{where}.test", raw.get("test"))
    if not test or test[0] not in ("CMD", "CMD-SHELL") or not all(isinstance(item, str) for item in test):
        raise values.fail(f"{where}.test", f"{raw.get('test')!r}: expected a list starting with CMD or CMD-SHELL")
    default = HealthCheck(test=())
    return HealthCheck(
        test=tuple(test),
        interval=duration(values, f"{where}.interval", raw.get("interval", default.interval)),
        timeout=duration(values, f"{where}.timeout", raw.get("timeout", default.timeout)),
        start_period=duration(values, f"{where}.startPeriod", raw.get("startPeriod", default.start_period)),
        retries=_integer(values, f"{where}.retries", raw.get("retries", default.retries), minimum=1),
    )


def _port(values: ConfigValues, where: str, raw: Any) -> MeshPort:
    _require_object(values, where, raw, ("published", "target", "mode"))
    ports = {}
    for name in ("published", "target"):
        port = _integer(values, f"{where}.{name}", raw.get(name), minimum=1)
        if port > 65535:
            raise values.fail(f"{where}.{name}", f"{port} is not a TCP port (1-65535)")
        ports[name] = port
    mode = _choice(values, f"{where}.mode", raw.get("mode", "ingress"), PUBLISH_MODES)
    return MeshPort(target=ports["target"], published=ports["published"], mode=mode)


def _constraint(values: ConfigValues, where: str, raw: Any) -> str:
    if not isinstance(raw, str) or not re.fullmatch(r"\s*[\w.-]+\s*(==|!=)\s*\S.*", raw):
        raise values.fail(where, f"{raw!r} is not a constraint such as node.hostname!=moe or node.labels.zone==a")
    return raw


def _cpus(values: ConfigValues, where: str, raw: Any, minimum: Minimum) -> float:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or raw <= 0:
        raise values.fail(where, f"{raw!r} is not a number of CPUs (e.g. 0.5)")
    _at_least(values, where, raw, minimum)
    return float(raw)


def _mebibytes(values: ConfigValues, where: str, raw: Any, minimum: Minimum) -> int:
    amount = _integer(values, where, raw, minimum=1)
    _at_least(values, where, amount, minimum)
    return amount


def _at_least(values: ConfigValues, where: str, amount: float, minimum: Minimum) -> None:
    problem = minimum.refuses(amount)
    if problem:
        raise values.fail(where, problem)


def _integer(values: ConfigValues, where: str, raw: Any, minimum: int) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise values.fail(where, f"{raw!r} is not a whole number")
    if raw < minimum:
        raise values.fail(where, f"{raw} is below the minimum of {minimum}")
    return raw


def _choice(values: ConfigValues, where: str, raw: Any, allowed: tuple[str, ...]) -> str:
    if raw not in allowed:
        raise values.fail(where, f"{raw!r} is not one of {list(allowed)}")
    return raw


def _text(values: ConfigValues, where: str, raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise values.fail(where, f"{raw!r}: expected a non-empty string")
    return raw


def _list(values: ConfigValues, where: str, raw: Any) -> list:
    if not isinstance(raw, list):
        raise values.fail(where, f"{raw!r}: expected a list")
    return raw


def _require_object(values: ConfigValues, where: str, raw: Any, fields: Optional[tuple[str, ...]]) -> None:
    if not isinstance(raw, dict):
        raise values.fail(where, f"{raw!r}: expected an object")
    unknown = sorted(set(raw) - set(fields)) if fields is not None else []
    if unknown:
        raise values.fail(where, f"unknown fields {unknown}; expected {', '.join(fields or ())}")
