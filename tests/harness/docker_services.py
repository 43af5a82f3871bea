"""pulumi-docker `Service`: a swarm service on the provider's engine (a manager).

Like the provider, every argument but name, auth and the task's extra hosts is
updated in place (`docker service update`), so scaling keeps the service; with
`convergeConfig` create and update wait until every desired task runs. As the
provider does, create asks the registry for the image's digest and platforms and
pins the task to both (QueryRegistry, which the update does not ask for), and the
restart policy, image and platforms are stored as read back from the engine,
which the next run's inputs are diffed against.
"""
from __future__ import annotations

import time
from typing import Any, Mapping

import docker.errors

from .base import HarnessError, ResourceContext, ResourceHandler, changed_keys
from .docker_common import autoname, ignore_missing, registry_auth_for
from .docker_containers import mount_spec
from .state import ResourceRecord
from .values import drop_none, duration_ns, duration_seconds, go_duration, label_list, labels, short_duration


# --------------------------------------------------------------------------- service


class Service(ResourceHandler):
    """Swarm service on the provider's engine (a manager). Only name/auth changes replace it."""

    type_token = "docker:index/service:Service"
    replaces_on = frozenset({"name", "auth"})

    def changed(self, old: ResourceRecord, new_inputs: Mapping[str, Any]) -> set[str]:
        """taskSpec as the provider diffs it: the image and restart policy against what it read back."""
        new_inputs = kept_when_absent(old.inputs, new_inputs)
        changed = changed_keys({**old.inputs, "taskSpec": None}, {**new_inputs, "taskSpec": None})
        stored = stored_task_spec(old.inputs.get("taskSpec") or {}, old.outputs.get("taskSpec") or {})
        if as_planned(new_inputs.get("taskSpec") or {}) != as_planned(stored):
            changed.add("taskSpec")
        return changed

    def plan(self, old, new_inputs, new_fingerprint) -> str:
        changed = self.changed(old, new_inputs)
        if not changed:
            return "same"
        old_hosts = ((old.inputs.get("taskSpec") or {}).get("containerSpec") or {}).get("hosts")
        new_hosts = ((new_inputs.get("taskSpec") or {}).get("containerSpec") or {}).get("hosts")
        return "replace" if changed & self.replaces_on or old_hosts != new_hosts else "update"

    def create(self, ctx: ResourceContext) -> tuple[str, dict[str, Any]]:
        name = ctx.inputs.get("name") or autoname(ctx.name)
        spec = queried_registry(ctx, service_spec(ctx.inputs))
        try:
            created = ctx.docker().api.create_service(name=name, **spec)
        except docker.errors.APIError as error:
            raise HarnessError(f"service {ctx.name}: {error.explanation or error}") from error
        service_id = created["ID"]
        self._converge(ctx, service_id)
        return service_id, self.read(ctx, service_id)

    def update(self, ctx: ResourceContext, old: ResourceRecord) -> tuple[str, dict[str, Any]]:
        ctx.inputs = kept_when_absent(old.inputs, ctx.inputs)
        api = ctx.docker().api
        current = api.inspect_service(old.id)
        spec = service_spec(ctx.inputs)
        api.update_service(old.id, current["Version"]["Index"], name=current["Spec"]["Name"], fetch_current_spec=False, **spec)
        self._converge(ctx, old.id, updating=True)
        return old.id, self.read(ctx, old.id)

    def read(self, ctx: ResourceContext, service_id: str) -> dict[str, Any]:
        found = ctx.docker().api.inspect_service(service_id)
        endpoint = dict(ctx.inputs.get("endpointSpec") or {})
        ports = (found.get("Endpoint") or {}).get("Ports") or []
        if ports:
            endpoint["ports"] = [
                {"targetPort": p["TargetPort"], "publishedPort": p.get("PublishedPort"), "protocol": p.get("Protocol", "tcp"), "publishMode": p.get("PublishMode", "ingress"), **({"name": p["Name"]} if p.get("Name") else {})}
                for p in ports
            ]
        mode = ctx.inputs.get("mode") or {"replicated": {"replicas": 1}}
        task = found["Spec"]["TaskTemplate"]
        task_spec = {
            **(ctx.inputs.get("taskSpec") or {}),
            "containerSpec": {**(ctx.inputs.get("taskSpec") or {}).get("containerSpec", {}), "image": task["ContainerSpec"]["Image"]},
        }
        if "RestartPolicy" in task:
            task_spec["restartPolicy"] = read_restart_policy(task["RestartPolicy"])
        platforms = (task.get("Placement") or {}).get("Platforms")
        if platforms:
            task_spec["placement"] = {**(task_spec.get("placement") or {}), "platforms": [{"architecture": p.get("Architecture", ""), "os": p.get("OS", "")} for p in platforms]}
        return {
            **ctx.inputs,
            "name": found["Spec"]["Name"],
            "mode": mode,
            "endpointSpec": endpoint,
            "labels": label_list(found["Spec"].get("Labels")),
            "taskSpec": task_spec,
        }

    def refresh(self, ctx: ResourceContext, record: ResourceRecord) -> dict[str, Any] | None:
        return self.read(ctx, record.id) if ignore_missing(ctx.docker().api.inspect_service, record.id) else None

    def delete(self, ctx: ResourceContext, record: ResourceRecord) -> None:
        self._remove(ctx, record.id, record.inputs)

    @staticmethod
    def _remove(ctx: ResourceContext, service_id: str, inputs: Mapping[str, Any]) -> None:
        """As the provider's deleteService: only with a stopGracePeriod (other than 0s) does it wait, that
        long at most, for each task container to go, then force-removes it. Without one, tasks stop on
        their own after it returns, and a network they use goes once its delete's retries see them gone."""
        api = ctx.docker().api
        grace = duration_seconds(((inputs.get("taskSpec") or {}).get("containerSpec") or {}).get("stopGracePeriod"), 0)
        containers = api.containers(all=True, filters={"label": f"com.docker.swarm.service.id={service_id}"}) if grace else []
        ignore_missing(api.remove_service, service_id)
        for container in containers:
            deadline = time.monotonic() + grace
            while api.containers(all=True, filters={"id": container["Id"]}) and time.monotonic() < deadline:
                time.sleep(0.5)
            ignore_missing(api.remove_container, container["Id"], force=True, v=True)

    def _converge(self, ctx: ResourceContext, service_id: str, updating: bool = False) -> None:
        """convergeConfig: the provider's wait, state for state (resourceDockerService{Create,Update}RefreshFunc).

        Done once every replica's slot has a running task on a live node; an update is done early when the
        engine says it completed, and fails when it paused or rolled back. A create that times out removes
        the service, as the provider does; either timeout says only that the service did not converge.
        """
        converge = ctx.inputs.get("convergeConfig")
        if converge is None:
            return
        if (ctx.inputs.get("mode") or {}).get("global"):
            # The provider's replicatedConsoleLogUpdater serves every mode, and refuses this one.
            raise HarnessError(f"service {ctx.name}: no replica count (convergeConfig on a global service)")
        timeout = converge.get("timeout") or "3m"
        # An update's first look comes after a fixed 7s, a create's after convergeConfig.delay.
        time.sleep(UPDATE_FIRST_LOOK_SECONDS if updating else duration_seconds(converge.get("delay"), 7))
        deadline = time.monotonic() + duration_seconds(timeout, 180)
        api = ctx.docker().api
        while True:
            if self._converged(ctx, api, service_id, updating):
                return
            if time.monotonic() > deadline:
                if not updating:
                    self._remove(ctx, service_id, ctx.inputs)
                raise HarnessError(
                    f"service {ctx.name}: Service with ID ({service_id}) did not converge after {go_duration(duration_ns(timeout))}"
                )
            time.sleep(1)

    @staticmethod
    def _converged(ctx: ResourceContext, api, service_id: str, updating: bool) -> bool:
        service = api.inspect_service(service_id)
        rollback = False
        if updating and service.get("UpdateStatus"):
            state, message = service["UpdateStatus"].get("State"), service["UpdateStatus"].get("Message", "")
            if state == "completed":
                return True
            if state in UPDATE_FAILURES:
                raise HarnessError(f"service {ctx.name}: {UPDATE_FAILURES[state]}: {message}")
            rollback = state == "rollback_started"
        tasks = api.tasks(filters={"service": service_id, "desired-state": "running"})
        live_nodes = {node["ID"] for node in api.nodes() if node["Status"]["State"] != "down"}
        running = running_slots(tasks, live_nodes)
        if running != service["Spec"]["Mode"]["Replicated"]["Replicas"]:
            return False
        if rollback:
            raise HarnessError(f"service {ctx.name}: service rollback completed: {service['UpdateStatus'].get('Message', '')}")
        return True


# The provider's order of task states (numberedStates): a slot's task is the one with the lowest desired state.
TASK_STATES = {
    state: number
    for number, state in enumerate(
        ("new", "allocated", "pending", "assigned", "accepted", "preparing", "ready", "starting", "running",
         "complete", "shutdown", "failed", "rejected", "remove", "orphaned"),
        start=1,
    )
}
UPDATE_FAILURES = {
    "rollback_completed": "service rollback completed",
    "paused": "service update paused",
    "rollback_paused": "service rollback paused",
}
UPDATE_FIRST_LOOK_SECONDS = 7


def running_slots(tasks: list[Mapping[str, Any]], live_nodes: set[str]) -> int:
    """replicatedConsoleLogUpdater: slots whose chosen task is meant to run and runs."""
    by_slot: dict[Any, Mapping[str, Any]] = {}
    for task in tasks:
        desired, state = TASK_STATES.get(task["DesiredState"], 0), TASK_STATES.get(task["Status"]["State"], 0)
        if not desired or not state:
            continue
        existing = by_slot.get(task.get("Slot"))
        if existing is not None:
            existing_desired = TASK_STATES[existing["DesiredState"]]
            if existing_desired < desired:
                continue
            # Start-first updates: two tasks meant to run in one slot, the one further behind counts.
            if existing_desired == desired and TASK_STATES[existing["Status"]["State"]] <= state:
                continue
        if task.get("NodeID") and task["NodeID"] not in live_nodes:
            continue
        by_slot[task.get("Slot")] = task
    return sum(
        1
        for task in by_slot.values()
        if TASK_STATES[task["DesiredState"]] <= TASK_STATES["running"] and task["Status"]["State"] == "running"
    )


def queried_registry(ctx: ResourceContext, spec: dict[str, Any]) -> dict[str, Any]:
    """QueryRegistry, as the provider's create asks it of the Docker client: where a registry answers for
    the image, the task is pinned to its digest and placed on the platforms it serves, whatever the
    spec said (the client's resolveContainerSpecImage; "arm" loses its architecture there)."""
    container = spec["task_template"]["ContainerSpec"]
    image = container["Image"]
    try:
        found = ctx.docker().api.inspect_distribution(image, auth_config=registry_auth_for(ctx.provider_config, image))
    except docker.errors.APIError:
        return spec  # no registry answers for it (a local image): kept as given
    if "@" not in image:
        container["Image"] = f"{image}@{found['Descriptor']['digest']}"
    platforms = [{"Architecture": "" if p.get("architecture") == "arm" else p.get("architecture", ""), "OS": p.get("os", "")} for p in found.get("Platforms") or []]
    if platforms:
        spec["task_template"]["Placement"] = {**spec["task_template"].get("Placement", {}), "Platforms": platforms}
    return spec


# Optional and Computed in the provider's schema: left out of the config, the provider keeps what it has.
KEPT_TASK_FIELDS = ("placement", "resources")


def kept_when_absent(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """The new inputs with the Optional+Computed blocks they leave out taken from the old ones."""
    kept = dict(new)
    old_task, task = old.get("taskSpec") or {}, dict(new.get("taskSpec") or {})
    for field in KEPT_TASK_FIELDS:
        if field not in task and field in old_task:
            task[field] = old_task[field]
    old_container, container = old_task.get("containerSpec") or {}, dict(task.get("containerSpec") or {})
    if "healthcheck" not in container and "healthcheck" in old_container:
        container["healthcheck"] = old_container["healthcheck"]
    if container:
        task["containerSpec"] = container
    if task:
        kept["taskSpec"] = task
    if "endpointSpec" not in kept and "endpointSpec" in old:
        kept["endpointSpec"] = old["endpointSpec"]
    return kept


def read_restart_policy(policy: Mapping[str, Any]) -> dict[str, Any]:
    """flattenTaskRestartPolicy: what the provider stores."""
    read: dict[str, Any] = {}
    if policy.get("Condition"):
        read["condition"] = policy["Condition"]
    if "Delay" in policy:
        read["delay"] = short_duration(policy["Delay"])
    if "MaxAttempts" in policy:
        read["maxAttempts"] = policy["MaxAttempts"]
    if "Window" in policy:
        read["window"] = short_duration(policy["Window"])
    return read


def stored_task_spec(declared: Mapping[str, Any], stored: Mapping[str, Any]) -> dict[str, Any]:
    """The taskSpec the next diff starts from: what was declared, with what the provider read back from
    the engine over it (container spec, restart policy, and the platforms a create placed it on)."""
    read = dict(declared)
    if "restartPolicy" in stored:
        read["restartPolicy"] = stored["restartPolicy"]
    if "containerSpec" in stored:
        read["containerSpec"] = stored["containerSpec"]
    stored_platforms = (stored.get("placement") or {}).get("platforms")
    if stored_platforms or (declared.get("placement") or {}).get("platforms"):
        read["placement"] = {**(declared.get("placement") or {}), "platforms": stored_platforms}
    return read


def as_planned(task: Mapping[str, Any]) -> dict[str, Any]:
    """A declared taskSpec as the provider's plan holds it: unset strings empty, unset numbers 0."""
    planned = dict(task)
    if "restartPolicy" in planned:
        policy = planned["restartPolicy"] or {}
        planned["restartPolicy"] = {
            "condition": policy.get("condition", ""),
            "delay": policy.get("delay", ""),
            "maxAttempts": policy.get("maxAttempts", 0),
            "window": policy.get("window", ""),
        }
    return planned


def service_spec(i: Mapping[str, Any]) -> dict[str, Any]:
    """pulumi-docker Service inputs -> docker-py create_service/update_service keyword arguments."""
    task = i.get("taskSpec") or {}
    container = task.get("containerSpec") or {}
    restart = task.get("restartPolicy")
    placement = task.get("placement")
    health = container.get("healthcheck")
    mode = i.get("mode") or {}
    privileges = container.get("privileges") or {}
    task_template = drop_none(
        {
            "ContainerSpec": drop_none(
                {
                    "Image": container["image"],
                    "Labels": labels(container.get("labels")),
                    "Command": container.get("commands"),
                    "Args": container.get("args"),
                    "Hostname": container.get("hostname"),
                    "Env": [f"{key}={value}" for key, value in (container.get("env") or {}).items()],
                    "Dir": container.get("dir"),
                    "User": container.get("user"),
                    "Groups": container.get("groups"),
                    "ReadOnly": container.get("readOnly"),
                    "Init": container.get("init"),
                    "Mounts": [mount_spec(m) for m in container.get("mounts") or []],
                    "StopSignal": container.get("stopSignal"),
                    "StopGracePeriod": duration_ns(container.get("stopGracePeriod")),
                    "Healthcheck": drop_none(
                        {
                            "Test": health.get("tests"),
                            "Interval": duration_ns(health.get("interval")),
                            "Timeout": duration_ns(health.get("timeout")),
                            "StartPeriod": duration_ns(health.get("startPeriod")),
                            "Retries": health.get("retries"),
                        }
                    )
                    if health
                    else None,
                    "Hosts": [f"{h['ip']} {h['host']}" for h in container.get("hosts") or []],
                    "DNSConfig": drop_none(
                        {
                            "Nameservers": (container.get("dnsConfig") or {}).get("nameservers"),
                            "Search": (container.get("dnsConfig") or {}).get("searches"),
                            "Options": (container.get("dnsConfig") or {}).get("options"),
                        }
                    ),
                    "Sysctls": container.get("sysctl"),
                    "CapabilityAdd": container.get("capAdds"),
                    "CapabilityDrop": container.get("capDrops"),
                    "Privileges": drop_none({"SELinuxContext": privileges.get("seLinuxContext")}),
                }
            ),
            # createRestartPolicy: every field of the block is sent, an unset one as zero.
            "RestartPolicy": {
                "Condition": restart.get("condition", ""),
                "Delay": duration_ns(restart.get("delay")) or 0,
                "MaxAttempts": restart.get("maxAttempts", 0),
                "Window": duration_ns(restart.get("window")) or 0,
            }
            if restart
            else None,
            "Placement": drop_none(
                {
                    "Constraints": placement.get("constraints"),
                    # stringSetToPlacementPrefs: each pref is the descriptor itself, e.g. node.labels.zone.
                    "Preferences": [{"Spread": {"SpreadDescriptor": pref}} for pref in placement.get("prefs") or []],
                    "MaxReplicas": placement.get("maxReplicas"),
                    "Platforms": [{"Architecture": p["architecture"], "OS": p["os"]} for p in placement.get("platforms") or []],
                }
            )
            if placement
            else None,
            "Networks": [
                drop_none({"Target": n.get("id") or n.get("name"), "Aliases": n.get("aliases"), "DriverOpts": driver_opts(n.get("driverOpts"))})
                for n in task.get("networksAdvanceds") or []
            ],
            "LogDriver": drop_none({"Name": task["logDriver"]["name"], "Options": task["logDriver"].get("options")}) if task.get("logDriver") else None,
            "ForceUpdate": task.get("forceUpdate"),
            "Runtime": task.get("runtime"),
            "Resources": resources_spec(task.get("resources")),
        }
    )
    # createServiceTaskSpec sends both even when undeclared, empty (nil, the engine's updater can crash
    # on a placement-only change).
    task_template.setdefault("Placement", {})
    task_template.setdefault("Resources", {})
    if mode.get("global"):
        mode_spec: dict[str, Any] = {"Global": {}}
    else:
        mode_spec = {"Replicated": {"Replicas": (mode.get("replicated") or {}).get("replicas", 1)}}
    endpoint = i.get("endpointSpec")
    return drop_none(
        {
            "task_template": task_template,
            "labels": labels(i.get("labels")),
            "mode": mode_spec,
            "update_config": update_spec(i.get("updateConfig")),
            "rollback_config": update_spec(i.get("rollbackConfig")),
            "endpoint_spec": drop_none(
                {
                    "Mode": endpoint.get("mode"),
                    "Ports": [
                        drop_none(
                            {
                                "Name": p.get("name"),
                                "Protocol": p.get("protocol", "tcp"),
                                "TargetPort": p["targetPort"],
                                "PublishedPort": p.get("publishedPort"),
                                "PublishMode": p.get("publishMode", "ingress"),
                            }
                        )
                        for p in endpoint.get("ports") or []
                    ],
                }
            )
            if endpoint
            else None,
        }
    )


def update_spec(config: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """update_config/rollback_config with the provider's documented defaults."""
    if not config:
        return None
    return {
        "Parallelism": config.get("parallelism", 1),
        "Delay": duration_ns(config.get("delay", "0s")),
        "FailureAction": config.get("failureAction", "pause"),
        "Monitor": duration_ns(config.get("monitor", "5s")),
        "MaxFailureRatio": float(config.get("maxFailureRatio", "0.0")),
        "Order": config.get("order", "stop-first"),
    }


def resources_spec(resources: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not resources:
        return None
    def one(block):
        block = block or {}
        return drop_none({"NanoCPUs": block.get("nanoCpus"), "MemoryBytes": block.get("memoryBytes")})
    return drop_none({"Limits": one(resources.get("limits")), "Reservations": one(resources.get("reservation"))})


def driver_opts(options: list[str] | None) -> dict[str, str] | None:
    if not options:
        return None
    return dict(option.split("=", 1) for option in options)

