"""pulumi-command resources: local commands run for real, remote ones via `docker exec`.

Local: `create` runs on create, `update` (or `create` again when there is no
`update`) on an in-place change, `delete` on destroy, through the interpreter
(default /bin/sh -c) with `environment` over the harness process environment
and cwd `dir` or the program directory. As the provider does, stdout/stderr lose
one trailing newline, previous outputs are passed as PULUMI_COMMAND_STDOUT/ERR to
update and delete, and a trigger change replaces unless an `update` command exists.

Remote: the SSH stand-in. In tests the "hosts" are containers (docker-in-docker
named e.g. larry/curly/moe on a private network) on the harness's local engine;
`connection.host` is matched against container names, hostnames, network
aliases and IP addresses, and the command runs with `docker exec` as
`connection.user`. Port, password and keys are not used: there is no SSH hop.
"""
from __future__ import annotations

import os
import subprocess
from typing import Any, Mapping

import docker
import docker.errors

from .base import HarnessError, ResourceContext, ResourceHandler, changed_keys
from .state import ResourceRecord

DEFAULT_INTERPRETER = ["/bin/sh", "-c"]
UNSUPPORTED = ("assetPaths", "archivePaths")


def trim(text: str) -> str:
    return text[:-1] if text.endswith("\n") else text


class CommandHandler(ResourceHandler):
    """Shared lifecycle of local and remote commands; subclasses only say how to run one."""

    def plan(self, old: ResourceRecord, new_inputs: Mapping[str, Any], new_fingerprint) -> str:
        changed = changed_keys(old.inputs, new_inputs)
        if not changed:
            return "same"
        if "triggers" in changed and not new_inputs.get("update"):
            return "replace"
        return "update"

    def create(self, ctx: ResourceContext) -> tuple[str, dict[str, Any]]:
        for key in UNSUPPORTED:
            if ctx.inputs.get(key):
                raise HarnessError(f"{ctx.type} {ctx.name}: `{key}` is not implemented by the apply harness")
        return f"{ctx.name}-{os.urandom(4).hex()}", self._run_step(ctx, "create", previous=None)

    def update(self, ctx: ResourceContext, old: ResourceRecord) -> tuple[str, dict[str, Any]]:
        step = "update" if ctx.inputs.get("update") else "create"
        return old.id, self._run_step(ctx, step, previous=old.outputs)

    def delete(self, ctx: ResourceContext, record: ResourceRecord) -> None:
        script = record.inputs.get("delete")
        if script:
            self.run(ctx, "delete", script, self._environment(record.inputs, record.outputs), record.inputs)

    def _run_step(self, ctx: ResourceContext, step: str, previous: Mapping[str, Any] | None) -> dict[str, Any]:
        script = ctx.inputs.get(step)
        stdout = stderr = ""
        if script:
            stdout, stderr = self.run(ctx, step, script, self._environment(ctx.inputs, previous), ctx.inputs)
        return {**ctx.inputs, "stdout": stdout, "stderr": stderr}

    @staticmethod
    def _environment(inputs: Mapping[str, Any], previous: Mapping[str, Any] | None) -> dict[str, str]:
        environment = {key: str(value) for key, value in (inputs.get("environment") or {}).items()}
        if previous is not None and inputs.get("addPreviousOutputInEnv", True):
            environment["PULUMI_COMMAND_STDOUT"] = previous.get("stdout", "")
            environment["PULUMI_COMMAND_STDERR"] = previous.get("stderr", "")
        return environment

    def run(self, ctx: ResourceContext, step: str, script: str, environment: dict[str, str], inputs: Mapping[str, Any]) -> tuple[str, str]:
        raise NotImplementedError


class LocalCommand(CommandHandler):
    type_token = "command:local:Command"

    def run(self, ctx, step, script, environment, inputs):
        return run_local(f"{ctx.type} {ctx.name} ({step})", script, environment, inputs, ctx.project_dir)


def run_local(label: str, script: str, environment: Mapping[str, str], inputs: Mapping[str, Any], project_dir) -> tuple[str, str]:
    interpreter = inputs.get("interpreter") or DEFAULT_INTERPRETER
    cwd = inputs.get("dir") or str(project_dir)
    completed = subprocess.run(
        [*interpreter, script],
        cwd=cwd,
        env={**os.environ, **environment},
        input=inputs.get("stdin"),
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise HarnessError(
            f"{label}: exit status {completed.returncode}: running {script!r}:\n"
            f"stdout: {completed.stdout}\nstderr: {completed.stderr}"
        )
    return trim(completed.stdout), trim(completed.stderr)


class RemoteCommand(CommandHandler):
    type_token = "command:remote:Command"

    def run(self, ctx, step, script, environment, inputs):
        if inputs.get("stdin"):
            raise HarnessError(f"{ctx.type} {ctx.name}: `stdin` is not implemented by the docker-exec stand-in for SSH")
        connection = inputs.get("connection") or {}
        client = ctx.services.remote_hosts_client()
        container = find_host_container(client, connection.get("host", ""))
        api = client.api
        execution = api.exec_create(container["Id"], ["/bin/sh", "-c", script], environment=environment, user=connection.get("user") or "")
        stdout, stderr = api.exec_start(execution["Id"], demux=True)
        exit_code = api.exec_inspect(execution["Id"])["ExitCode"]
        stdout_text = (stdout or b"").decode(errors="replace")
        stderr_text = (stderr or b"").decode(errors="replace")
        if exit_code != 0:
            raise HarnessError(
                f"{ctx.type} {ctx.name} ({step}) on {connection.get('host')}: exit status {exit_code}: running {script!r}:\n"
                f"stdout: {stdout_text}\nstderr: {stderr_text}"
            )
        return trim(stdout_text), trim(stderr_text)


def find_host_container(client: docker.DockerClient, host: str) -> dict[str, Any]:
    """The running container standing in for SSH host `host` (by name, hostname, alias or IP)."""
    for summary in client.api.containers():
        try:
            details = client.api.inspect_container(summary["Id"])
        except docker.errors.NotFound:  # removed meanwhile by someone else
            continue
        names = {details["Name"].lstrip("/"), details["Config"]["Hostname"]}
        for network in (details["NetworkSettings"].get("Networks") or {}).values():
            names.add(network.get("IPAddress"))
            names.update(network.get("Aliases") or [])
        if host in names:
            return details
    raise HarnessError(f"remote command: no running container matches connection host {host!r} (harness stand-in for SSH)")


def local_run_invoke(args: Mapping[str, Any], project_dir) -> dict[str, Any]:
    """`command.local.run` (invoke): runs every time the program runs, like the provider."""
    stdout, stderr = run_local("command:local:run", args["command"], {k: str(v) for k, v in (args.get("environment") or {}).items()}, args, project_dir)
    return {**args, "stdout": stdout, "stderr": stderr}


HANDLERS = [LocalCommand(), RemoteCommand()]
