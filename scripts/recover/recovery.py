"""Recovery of one stack after a killed or failed `pulumi up`: the stale lock, then the pending
operations, then, after a failed update, what the state says of the stack.

Nothing is changed while anything is refused: a stack is either recovered whole or left as it was,
with every refusal named.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional

from .backend import FileBackend
from .deployment import Deployment, PendingOperation, settled
from .engine import Engine
from .locks import describe, live_holders, pulumi_runs
from .plan import decide
from .pulumi_cli import Cli


@dataclass
class Outcome:
    done: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


def recover(
    stack: str,
    backend: Optional[FileBackend],
    cli: Cli,
    connect: Callable[[Mapping[str, Any]], Engine],
    hostname: Optional[str] = None,
    runs: Callable[[int], bool] = pulumi_runs,
) -> Outcome:
    """`connect` opens the engine a docker provider's inputs name; `hostname` and `runs` judge locks."""
    outcome = Outcome()
    if backend is not None:
        locks = backend.locks(stack)
        holders = live_holders(locks, hostname, runs)
        if holders:
            outcome.refused.extend(f"stack {stack} is {holder}" for holder in holders)
            return outcome
        if locks:
            cli.cancel()
            outcome.done.extend(f"cleared the stale lock taken by {describe(lock)}" for lock in locks)
        checkpoint = backend.checkpoint(stack)
        if checkpoint is not None and not checkpoint.get("pending_operations"):
            # The usual case, seen without starting the CLI.
            _reread_after_a_failure(backend.last_update(stack), cli, outcome)
            return outcome
    exported = cli.export()
    if Deployment.from_export(exported).pending:
        _settle(exported, cli, connect, outcome)
    if not outcome.refused:
        _reread_after_a_failure(backend.last_update(stack) if backend is not None else cli.last_update(), cli, outcome)
    return outcome


def _reread_after_a_failure(last: Optional[Mapping[str, Any]], cli: Cli, outcome: Outcome) -> None:
    """After a failed update, the whole stack read again. An update that fails part-way (a host lost
    while its containers change) leaves what it was changing recorded with the new values, as the
    Terraform providers behind pulumi-docker and pulumi-consul hand a failed update back; the next `up`
    would see nothing left to do. A refresh reads what is really there, and that `up` finishes the change."""
    if last is None or last.get("result") != "failed" or last.get("kind") not in ("update", "destroy"):
        return
    cli.refresh_everything()
    outcome.done.append(f"the last {last['kind']} failed: read the whole stack again, so this up finishes what it left")


def _settle(exported: Mapping[str, Any], cli: Cli, connect: Callable[[Mapping[str, Any]], Engine], outcome: Outcome) -> None:
    """Records what is adopted and drops every pending operation (`pulumi stack import`), then reads
    again what was adopted or interrupted while changing (`pulumi refresh --target`)."""
    deployment = Deployment.from_export(exported)
    engines: dict[str, Engine] = {}

    def engine_for(operation: PendingOperation) -> Engine:
        if operation.provider not in engines:
            engines[operation.provider] = connect(deployment.provider_inputs(operation.provider))
        return engines[operation.provider]

    decisions = decide(deployment, engine_for)
    refusals = [decision for decision in decisions if decision.action == "refuse"]
    if refusals:
        outcome.refused.append("nothing changed; a killed deploy left what this can't take for the stack's own:")
        outcome.refused.extend(decision.describe() for decision in refusals)
        return
    for decision in decisions:
        if decision.action == "remove":
            engine_for(decision.operation).remove_container(decision.object_id)
    adopted = {decision.operation.urn: decision.object_id for decision in decisions if decision.action == "import"}
    cli.replace_state(settled(exported, adopted))
    reread = [d.operation.urn for d in decisions if d.action == "reread" and deployment.recorded(d.operation.urn)]
    # Only these are read again: a whole refresh would also take in drift nobody asked about.
    if adopted or reread:
        cli.refresh([*adopted, *reread])
    outcome.done.extend(decision.describe() for decision in decisions)
    after = Deployment.from_export(cli.export())
    lost = [urn for urn in adopted if after.recorded(urn) is None]
    if after.pending or lost:
        outcome.refused.append(
            "the stack is not settled: "
            + "; ".join([f"{op.urn} still pending ({op.kind})" for op in after.pending] + [f"{urn} not adopted" for urn in lost])
        )
