"""ApplyHarness: a `pulumi.runtime.Mocks` whose registrations perform the real operations.

Pulumi calls `new_resource` once a resource's inputs and dependencies are
resolved, from several worker threads at once. For each registration the
harness compares the inputs with what it created before (its state, by URN) and
then does what `pulumi up` would: create, leave alone ("same"), update in place,
or replace (delete, then create). `finish_run` deletes what the program no
longer declares; `destroy` deletes everything, dependents first, in parallel.

Typical use:

    harness = ApplyHarness(project_dir=PROJECT_DIR)
    outputs = harness.apply(lambda: run_program(harness, "dev"))
    assert harness.last_run.changes() == []      # on a second apply
    harness.destroy()
"""
from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import threading
import time
from concurrent import futures
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, TypeVar

import pulumi
from pulumi.runtime import MockCallArgs, MockResourceArgs
from pulumi.runtime.mocks import MockMonitor

from . import (
    command_resources,
    consul_acl_resources,
    consul_config_entries,
    consul_resources,
    docker_resources,
    random_resources,
    tls_resources,
)
from .base import HarnessError, HarnessServices, ResourceContext, ResourceHandler
from .engine import EnginePool, default_docker_host
from .exposure import plaintext_exposures
from .state import Operation, ResourceRecord, RunRecord, StateStore
from .values import at_path, contains_secret, plain, provider_inputs, with_path

T = TypeVar("T")

# Providers that need no configuration of their own to run (commands run locally or via docker exec).
_NO_CONFIG_PROVIDERS = ("pulumi:providers:command", "pulumi:providers:random", "pulumi:providers:tls")
STACK_REFERENCE = "pulumi:pulumi:StackReference"
# Packages whose providers are Terraform providers behind pulumi-terraform-bridge (pulumi-command is native).
TERRAFORM_BRIDGED = frozenset({"docker", "consul"})


class _NoopProvider(ResourceHandler):
    def __init__(self, type_token: str) -> None:
        self.type_token = type_token

    def plan(self, old, new_inputs, new_fingerprint) -> str:
        return "same" if old.inputs == dict(new_inputs) else "update"

    def create(self, ctx):
        return f"{ctx.name}-provider", dict(ctx.inputs)

    def update(self, ctx, old):
        return old.id, dict(ctx.inputs)

    def delete(self, ctx, record):
        pass


def ignoring(old: ResourceRecord, new_inputs: Mapping[str, Any], paths: Iterable[str]) -> tuple[ResourceRecord, dict[str, Any]]:
    """What is diffed under `ignoreChanges`: at each path the engine puts the old input in place of the
    new one, and the bridge drops the provider's difference there (the stored outputs taking it too)."""
    inputs = dict(new_inputs)
    for path in paths:
        kept = at_path(old.inputs, path)
        inputs = with_path(inputs, path, kept)
        old = dataclasses.replace(old, outputs=with_path(old.outputs, path, kept))
    return old, inputs


class RegistrationOptions(threading.local):
    """What the engine is told about the registration under way on this thread, beyond its inputs."""

    urn: str = ""
    additional_secret_outputs: tuple[str, ...] = ()
    retain_on_delete: bool = False
    dependencies: tuple[str, ...] = ()
    ignore_changes: tuple[str, ...] = ()
    provider: str = ""
    delete_height: int = 0


class HarnessMonitor(MockMonitor):
    """The mock monitor, handing the harness what `Mocks.new_resource` is not given: URN and options."""

    def __init__(self, harness: "ApplyHarness") -> None:
        super().__init__(harness)
        self._options = harness.registering
        self._harness = harness

    def RegisterResource(self, request):  # noqa: N802 (the gRPC method's name)
        # new_resource runs on this thread, inside super().RegisterResource.
        self._options.urn = self.make_urn(request.parent, request.type, request.name)
        self._options.additional_secret_outputs = tuple(request.additionalSecretOutputs)
        self._options.retain_on_delete = bool(request.retainOnDelete)
        self._options.ignore_changes = tuple(request.ignoreChanges)
        # What must outlive this resource on delete: what it depends on, and its provider.
        provider = [request.provider.rsplit("::", 1)[0]] if request.provider else []
        self._options.dependencies = tuple(request.dependencies) + tuple(provider)
        self._options.provider = request.provider
        self._options.delete_height = self._harness.delete_height(self._options.urn, (*self._options.dependencies, request.parent))
        return super().RegisterResource(request)


class ApplyHarness(pulumi.runtime.Mocks, HarnessServices):
    def __init__(
        self,
        project_dir: str | Path | None = None,
        state_file: str | Path | None = None,
        keep_images: tuple[str, ...] = (),
        remote_hosts_engine: str | None = None,
        stack_outputs: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        """
        project_dir: what the program's relative paths mean (build contexts, command cwd).
        state_file: optional JSON mirror of the state, so a later process can destroy.
        keep_images: images a RemoteImage destroy must never remove (the suites' own base images).
        remote_hosts_engine: engine holding the containers that stand in for SSH hosts.
        stack_outputs: what a StackReference to each stack name (e.g. organization/orchestration/sandbox)
            reads, typically another harness's apply outputs; looked up at each read, so the caller
            may update the mapping between runs.
        """
        self.project_dir = Path(project_dir or os.getcwd()).resolve()
        self.state = StateStore(state_file)
        self.keep_images = frozenset(keep_images)
        self.stack_outputs = stack_outputs if stack_outputs is not None else {}
        self.runs: list[RunRecord] = []
        self._engines = EnginePool()
        self._remote_hosts_config = {"host": default_docker_host(remote_hosts_engine)}
        self._consul_clients: dict[str, consul_resources.ConsulClient] = {}
        self._handlers: dict[str, ResourceHandler] = {
            handler.type_token: handler
            for handler in (
                *docker_resources.HANDLERS,
                *command_resources.HANDLERS,
                *consul_resources.HANDLERS,
                *consul_acl_resources.HANDLERS,
                *consul_config_entries.HANDLERS,
                *random_resources.HANDLERS,
                *tls_resources.HANDLERS,
            )
        }
        self._handlers.update({token: _NoopProvider(token) for token in _NO_CONFIG_PROVIDERS})
        self._lock = threading.Lock()
        self._run: RunRecord | None = None
        self._registered: set[str] = set()
        self._in_flight = 0
        self._idle = threading.Condition(self._lock)
        self.registering = RegistrationOptions()
        # Each registered URN's delete height, components' included (HarnessMonitor).
        self._heights: dict[str, int] = {}
        self.as_operations_start: Callable[[str, str], None] | None = None
        """Called with (operation, resource name) as each create, update or replace starts, where the CLI
        prints its progress line: a test's way to bring a fault at that moment (a host lost mid-change)."""
        self.monitor = HarnessMonitor(self)
        """Run programs with this monitor (run_program and run_inline pick it up) so URNs and options reach the harness."""

    # ------------------------------------------------------------------ runs

    @property
    def last_run(self) -> RunRecord:
        return self.runs[-1]

    def apply(self, program: Callable[[], T], label: str = "apply", refresh: bool = False) -> T:
        """Runs `program` (e.g. run_program under these mocks) as one `pulumi up`; `refresh`: `pulumi up --refresh`."""
        if refresh:
            self.refresh()
        self.begin_run(label)
        try:
            result = program()
        except BaseException:
            end_failed_program()
            self.wait_idle()  # a failed registration does not stop the others already running
            self._run = None
            raise
        self.finish_run()
        return result

    def begin_run(self, label: str = "apply") -> RunRecord:
        with self._lock:
            self._run = RunRecord(label)
            self._registered = set()
            self.runs.append(self._run)
            return self._run

    def finish_run(self) -> RunRecord:
        """Deletes resources in state that this run did not declare, newest first."""
        self.wait_idle()
        run = self._current_run()
        for record in self.state.deletion_order():
            if record.urn not in self._registered:
                self._delete(record, run)
        self._run = None
        return run

    def destroy(self) -> RunRecord:
        """`pulumi destroy`: deletes everything in state in the engine's antichains (StateStore.delete_antichains),
        each antichain's deletes in parallel, the next once they are done; tries all, then reports failures."""
        self.wait_idle()
        run = self.begin_run("destroy")
        failures = [failure for antichain in self.state.delete_antichains() for failure in self._delete_in_parallel(antichain, run)]
        self._run = None
        if failures:
            raise HarnessError("destroy left resources behind:\n" + "\n".join(failures))
        return run

    def refresh(self) -> RunRecord:
        """`pulumi refresh`: every resource read back by its provider, in parallel. What is gone leaves the
        state (a "delete"), what reads back otherwise is stored so (an "update"), and the next apply
        diffs against it, as the engine does."""
        self.wait_idle()
        run = self.begin_run("refresh")
        with futures.ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda record: self._refresh(record, run), list(self.state)))
        self._run = None
        return run

    def delete_height(self, urn: str, below: Iterable[str]) -> int:
        """One more than the longest chain under what `urn` depends on (or is parented to), components
        counted; remembered for what registers after it."""
        def height_of(other: str) -> int:
            record = self.state.get(other)
            return self._heights.get(other, record.delete_height if record else 0)

        with self._lock:
            height = 1 + max((height_of(other) for other in below if other), default=0)
            self._heights[urn] = height
            return height

    def plaintext_exposures(self, credentials: Iterable[str]) -> list[str]:
        """Where any of `credentials` sits unencrypted in the state or in what a command logged."""
        return plaintext_exposures(self.state, credentials)

    def wait_idle(self, timeout: float = 1800) -> None:
        with self._idle:
            if not self._idle.wait_for(lambda: self._in_flight == 0, timeout=timeout):
                raise HarnessError(f"{self._in_flight} resource operations still running after {timeout}s")

    def close(self) -> None:
        self._engines.close()

    # ------------------------------------------------------------------ Mocks API

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict]:
        if args.typ == STACK_REFERENCE:  # a read (no `custom` flag): nothing to create or keep in state
            return self._read_stack_reference(args)
        if not args.custom:
            return None, {}  # component resources only group children; nothing to do remotely
        handler = self._handlers.get(args.typ)
        if handler is None:
            raise HarnessError(f"apply harness: resource type {args.typ!r} (resource {args.name!r}) is not implemented")
        if args.resource_id:
            raise HarnessError(f"apply harness: reading/importing existing resources is not implemented ({args.typ} {args.name} id={args.resource_id})")
        inputs = plain(args.inputs)
        # Stored encrypted by the engine: outputs the program marks secret, and those whose input was a secret.
        secret_outputs = set(self.registering.additional_secret_outputs) | {
            key for key, value in args.inputs.items() if contains_secret(value)
        }
        ctx = ResourceContext(
            args.typ, args.name, self.registering.urn, inputs, self._provider_config(args.typ, args.provider), self.project_dir, self
        )
        with self._operation():
            try:
                return self._register(handler, ctx, sorted(secret_outputs))
            except HarnessError:
                raise
            except Exception as error:  # noqa: BLE001 - an engine or API failure, named as the CLI names it
                raise HarnessError(f"{args.typ} ({args.name}): {error}") from error

    def call(self, args: MockCallArgs) -> dict:
        """Invokes (data sources) the harness can answer; any other fails the run with its token."""
        arguments = plain(args.args)
        if args.token == "command:local:run":
            return command_resources.local_run_invoke(arguments, self.project_dir)
        docker_invoke = docker_resources.INVOKES.get(args.token)
        if docker_invoke:
            return docker_invoke(self.docker_client(self._provider_config(args.token, args.provider)), arguments)
        consul_invoke = consul_acl_resources.INVOKES.get(args.token)
        if consul_invoke:
            return consul_invoke(self.consul_client(self._provider_config(args.token, args.provider)), arguments)
        raise HarnessError(f"apply harness: invoke {args.token!r} is not implemented")

    # ------------------------------------------------------------------ HarnessServices

    def docker_client(self, provider_config: Mapping[str, Any]):
        return self._engines.client(provider_config)

    def consul_client(self, provider_config: Mapping[str, Any]) -> consul_resources.ConsulClient:
        key = json.dumps(provider_config, sort_keys=True, default=str)
        with self._lock:
            if key not in self._consul_clients:
                self._consul_clients[key] = consul_resources.ConsulClient(provider_config)
            return self._consul_clients[key]

    def remote_hosts_client(self):
        return self._engines.client(self._remote_hosts_config)

    # ------------------------------------------------------------------ internals

    def _read_stack_reference(self, args: MockResourceArgs) -> tuple[str, dict]:
        """What the engine answers for a StackReference: the named stack's current outputs."""
        name = args.resource_id or plain(args.inputs).get("name")
        outputs = self.stack_outputs.get(name)
        if outputs is None:
            raise HarnessError(f"apply harness: StackReference {name!r}: no such stack; it serves {sorted(self.stack_outputs)}")
        # Plain values: the harness's stacks export no secrets.
        return name, {"name": name, "outputs": dict(outputs), "secretOutputNames": []}

    def _register(self, handler: ResourceHandler, ctx: ResourceContext, secret_outputs: list[str]) -> tuple[str, dict]:
        run = self._current_run()
        with self._lock:
            if ctx.urn in self._registered:
                raise HarnessError(f"duplicate resource URN {ctx.urn}")
            self._registered.add(ctx.urn)
        started = time.monotonic()
        try:
            handler.configure(ctx)
            old = self.state.get(ctx.urn)
            fingerprint = handler.fingerprint(ctx)
            if old is None:
                op = "create"
            else:
                diffed, ctx.inputs = ignoring(old, ctx.inputs, self.registering.ignore_changes)
                op = handler.plan(diffed, ctx.inputs, fingerprint)
            if op == "same":
                run.add(Operation("same", ctx.type, ctx.name, time.monotonic() - started, started))
                return old.id, old.outputs
            if run.failed:  # as the engine does without --continue-on-error: what is under way ends, nothing new starts
                raise HarnessError(f"{ctx.type} ({ctx.name}): not {op}d: the update stopped at an earlier failure")
            if self.as_operations_start is not None:
                self.as_operations_start(op, ctx.name)
            return self._perform(handler, ctx, old, op, fingerprint, secret_outputs, started)
        except Exception:
            run.failed = True
            raise

    def _perform(
        self, handler: ResourceHandler, ctx: ResourceContext, old: ResourceRecord | None, op: str,
        fingerprint: dict[str, Any], secret_outputs: list[str], started: float,
    ) -> tuple[str, dict]:
        run = self._current_run()
        if op == "update":
            try:
                resource_id, outputs = handler.update(ctx, old)
            except Exception:
                if ctx.type.split(":", 1)[0] in TERRAFORM_BRIDGED:
                    # A Terraform provider's failed update comes back as partial state, its new inputs
                    # over the old outputs, and the engine stores it: the next run diffs against those.
                    self.state.put(dataclasses.replace(old, inputs=ctx.inputs, outputs={**old.outputs, **ctx.inputs}), new_order=False)
                raise
        else:
            if op == "replace":
                self._delete_remotely(old)
                self.state.remove(ctx.urn)
            self.state.begin_create(ctx.urn, ctx.type, ctx.inputs, self.registering.provider)
            try:
                resource_id, outputs = handler.create(ctx)
            except Exception:
                # A create that fails comes back from the provider, and the engine drops its pending
                # operation; only a killed run (nothing comes back) leaves it.
                self.state.end_create(ctx.urn)
                raise
        record = ResourceRecord(
            ctx.urn, ctx.type, ctx.name, resource_id, ctx.inputs, outputs, ctx.provider_config, fingerprint,
            order=old.order if op == "update" else 0, secret_outputs=secret_outputs,
            retain_on_delete=self.registering.retain_on_delete,
            dependencies=list(self.registering.dependencies),
            provider=self.registering.provider,
            delete_height=self.registering.delete_height,
        )
        self.state.put(record, new_order=op != "update")
        self.state.end_create(ctx.urn)
        run.add(Operation(op, ctx.type, ctx.name, time.monotonic() - started, started))
        return resource_id, outputs

    def _refresh(self, record: ResourceRecord, run: RunRecord) -> None:
        started = time.monotonic()
        outputs = self._handlers[record.type].refresh(self._context_for(record), record)
        if outputs is None:
            self.state.remove(record.urn)
            op = "delete"
        elif outputs != record.outputs:
            self.state.put(dataclasses.replace(record, outputs=outputs), new_order=False)
            op = "update"
        else:
            op = "same"
        run.add(Operation(op, record.type, record.name, time.monotonic() - started, started))

    def _delete_in_parallel(self, records: list[ResourceRecord], run: RunRecord) -> list[str]:
        """Deletes `records` (in deletion order), each as soon as none of the others that depends on it is
        left; what failed is reported, not retried, and no longer holds back what it depends on."""
        pending = list(records)
        running: dict[futures.Future, ResourceRecord] = {}
        failures: list[str] = []
        with futures.ThreadPoolExecutor(max_workers=max(1, len(records))) as pool:
            while pending or running:
                needed = {urn for record in (*pending, *running.values()) for urn in record.dependencies}
                ready = [record for record in pending if record.urn not in needed]
                if not ready and not running:  # a cycle, which the engine would refuse: serially, as deletion_order has it
                    ready = pending[:1]
                for record in ready:
                    pending.remove(record)
                    running[pool.submit(self._delete, record, run)] = record
                done, _ = futures.wait(running, return_when=futures.FIRST_COMPLETED)
                for future in done:
                    record = running.pop(future)
                    if future.exception() is not None:
                        failures.append(f"{record.type} {record.name}: {future.exception()}")
        return failures

    def _delete(self, record: ResourceRecord, run: RunRecord) -> None:
        started = time.monotonic()
        self._delete_remotely(record)
        self.state.remove(record.urn)
        run.add(Operation("delete", record.type, record.name, time.monotonic() - started, started))

    def _delete_remotely(self, record: ResourceRecord) -> None:
        """The provider's delete, unless the resource is retained: then it only leaves the state, as it does in Pulumi."""
        if not record.retain_on_delete:
            self._handlers[record.type].delete(self._context_for(record), record)

    def _context_for(self, record: ResourceRecord) -> ResourceContext:
        return ResourceContext(record.type, record.name, record.urn, record.inputs, record.provider_config, self.project_dir, self)

    def _current_run(self) -> RunRecord:
        with self._lock:
            if self._run is None:  # run_program called without apply(): treat it as one run
                self._run = RunRecord("apply")
                self._registered = set()
                self.runs.append(self._run)
            return self._run

    def _provider_config(self, type_token: str, provider_ref: str | None) -> dict[str, Any]:
        """The configuration of the provider a resource belongs to (explicit, else the default one)."""
        if type_token.startswith("pulumi:providers:"):
            return {}
        if provider_ref:
            provider_id = provider_ref.rsplit("::", 1)[-1]
            provider = self.state.find_provider(provider_id)
            if provider is None:
                raise HarnessError(f"provider {provider_ref} is not in the harness state")
            return provider_inputs(provider.inputs)
        package = type_token.split(":", 1)[0]
        if package == "docker":
            return {"host": default_docker_host(pulumi.runtime.get_config("docker:host"))}
        if package == "consul":
            return {
                key: value
                for key, value in {
                    "address": pulumi.runtime.get_config("consul:address") or os.environ.get("CONSUL_HTTP_ADDR"),
                    "scheme": pulumi.runtime.get_config("consul:scheme"),
                    "datacenter": pulumi.runtime.get_config("consul:datacenter"),
                    "token": pulumi.runtime.get_config("consul:token") or os.environ.get("CONSUL_HTTP_TOKEN"),
                }.items()
                if value
            }
        return {}

    @contextlib.contextmanager
    def _operation(self) -> Iterator[None]:
        with self._lock:
            self._in_flight += 1
        try:
            yield
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()


def end_failed_program() -> None:
    """Cancels what a failed program left waiting on the event loop, registrations not sent yet among it.

    The SDK stops at the first failed registration and leaves the others' tasks on the loop; under the CLI
    they end with the program's process, here they would run in the next program on the same loop."""
    loop = asyncio.get_event_loop()
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending and not loop.is_running():
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
