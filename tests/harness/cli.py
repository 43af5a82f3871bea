"""`pulumi` for a doc's stack commands run as pasted through the apply harness: `stack init`/`select`,
`config set`, `up`, `destroy` and `stack output`, each as the CLI takes it (3.277), over a backend folder;
and `stack export` and `stack history`, which `make up` asks (scripts/recover) before its `up`.

`install` puts it on a PATH. The folder holds, per stack, its config (`<stack>.config.json`, what
`config set` wrote) and outputs (`<stack>.outputs.json`, what the last `up` gave); the harness's state is
`<state dir>/<stack>-state.json`, the file the e2e suite's own stacks keep, so a test goes on with a stack
a doc's commands made. This machine's settings a doc leaves to the reader (`machine.json`, by stack: the
stand-in images) lie under the stack's config, as the real-CLI tests `config set` them before a doc's `up`.
A StackReference reads the outputs of the stack it names, `organization/<project>/<stack>`.
The program is the project's whose `Pulumi.yaml` is found from the folder `pulumi` runs in upward, as the
CLI finds it (this checkout's where there is none, a doc's scratch folder, or where it is a copy of this one);
`up` reads the stack's file, Pulumi.<stack>.yaml, in the folder found (a copy's own, which a doc's reader edits).
A project of another name runs with its own virtualenv's packages (`runtime.options.virtualenv`) ahead of
this checkout's, that virtualenv made first where it is missing, with the project's requirements.txt, as
the CLI's language host makes it; its stacks' state is `<state dir>/<project>.<stack>-state.json`.
Other commands and flags are refused, saying so: those run through the real CLI's tests.
"""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any, Mapping

BACKEND = "ORCH_HARNESS_BACKEND"
STATE_DIR = "ORCH_HARNESS_STATE_DIR"
CALLER_DIR = "ORCH_HARNESS_CALLER_DIR"
# Without a terminal the CLI proceeds only when told to (pkg/cmd/pulumi/operations/up.go).
NOT_CONFIRMED = "error: --yes or --skip-preview or --preview-only must be passed in to proceed when running in non-interactive mode"
# The CLI's exit codes (3.277) for what a doc's commands may meet.
FAILED, NOT_CONFIRMED_CODE, NO_STACK = 1, 2, 6


class Refused(Exception):
    """What the CLI prints on stderr, and its exit code."""

    def __init__(self, message: str, code: int = FAILED) -> None:
        super().__init__(message)
        self.code = code


def install(bin_dir: Path, backend: Path, state_dir: Path, machine: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """A `pulumi` in `bin_dir` over `backend`, `machine` the settings laid under each stack's config;
    returns the environment that uses it (scripts/recover finds that backend holds no lock)."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    backend.mkdir(parents=True, exist_ok=True)
    (backend / "machine.json").write_text(json.dumps(dict(machine)))
    wrapper = bin_dir / "pulumi"
    project = Path(__file__).resolve().parents[2]
    wrapper.write_text(
        f'#!/bin/sh\nexport {CALLER_DIR}="$PWD"\ncd "{project}" && exec "{sys.executable}" -m tests.harness.cli "$@"\n'
    )
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return {
        BACKEND: str(backend), STATE_DIR: str(state_dir), "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}",
        "PULUMI_BACKEND_URL": f"file://{backend}",
    }


def project_folder(folder: Path) -> Path | None:
    """The folder of the `Pulumi.yaml` in `folder` or above it, as the CLI finds it."""
    return next((candidate for candidate in (folder, *folder.parents) if (candidate / "Pulumi.yaml").is_file()), None)


def find_project(folder: Path) -> Path:
    """The program's folder: the project found from `folder`; this checkout where there is none, or where
    it is this project's (a copy of the checkout, whose program is the checkout's)."""
    from tests.support.program import PROJECT, PROJECT_DIR

    found = project_folder(folder) or PROJECT_DIR
    return PROJECT_DIR if _project_file(found)["name"] == PROJECT else found


class Backend:
    def __init__(self, folder: Path, state_dir: Path, project_dir: Path | None = None, stack_dir: Path | None = None) -> None:
        """`stack_dir`: where the stack files are, the project folder `pulumi` runs in (project_dir's by default)."""
        from tests.support.program import PROJECT_DIR

        self.folder, self.state_dir = folder, state_dir
        self.project_dir = project_dir or PROJECT_DIR
        self.stack_dir = stack_dir or self.project_dir
        self.project = _project_file(self.project_dir)["name"]

    def _file(self, stack: str, kind: str) -> Path:
        return self.folder / f"{stack}.{kind}.json"

    def exists(self, stack: str) -> bool:
        return self._file(stack, "config").is_file()

    def config(self, stack: str) -> dict[str, Any]:
        if not self.exists(stack):
            raise Refused(f"error: no stack named '{stack}' found", NO_STACK)
        return json.loads(self._file(stack, "config").read_text())

    def set_config(self, stack: str, config: Mapping[str, Any]) -> None:
        self._file(stack, "config").write_text(json.dumps(dict(config), indent=2))

    def outputs(self, stack: str) -> tuple[dict[str, Any], list[str]]:
        path = self._file(stack, "outputs")
        saved = json.loads(path.read_text()) if path.is_file() else {"outputs": {}, "secret": []}
        return saved["outputs"], saved["secret"]

    def set_outputs(self, stack: str, outputs: Mapping[str, Any], secret: frozenset[str]) -> None:
        self._file(stack, "outputs").write_text(json.dumps({"outputs": dict(outputs), "secret": sorted(secret)}, default=str))

    @property
    def current(self) -> str:
        path = self.folder / "current"
        if not path.is_file():
            raise Refused("error: no stack selected; please use `pulumi stack select` or `pulumi stack init`")
        return path.read_text()

    def select(self, stack: str) -> None:
        (self.folder / "current").write_text(stack)

    def harness(self, stack: str):
        from tests.harness import ApplyHarness
        from tests.support.program import PROJECT

        references = {f"organization/{self.project}/{name}": self.outputs(name)[0] for name in self.stacks()}
        # This machine's stand-in images are the suite's: a destroy leaves them.
        kept = tuple(value for settings in self._machine().values() for key, value in settings.items() if key.endswith("Image"))
        # The e2e suite's own stacks keep theirs as `<stack>-state.json`; another project's stacks apart from them.
        state_file = self.state_dir / (f"{stack}-state.json" if self.project == PROJECT else f"{self.project}.{stack}-state.json")
        return ApplyHarness(project_dir=self.project_dir, state_file=state_file, stack_outputs=references, keep_images=kept)

    def machine(self, stack: str) -> dict[str, Any]:
        return self._machine().get(stack, {})

    def _machine(self) -> dict[str, dict[str, Any]]:
        return json.loads((self.folder / "machine.json").read_text())

    def stacks(self) -> list[str]:
        return [path.name[: -len(".config.json")] for path in self.folder.glob("*.config.json")]


def run(backend: Backend, arguments: list[str]) -> tuple[str, str]:
    """What `pulumi <arguments>` prints on stdout and stderr; raises Refused where the CLI fails."""
    words, flags, stack = [], set(), None
    rest = iter(arguments)
    for argument in rest:
        if argument in ("--stack", "-s"):
            stack = next(rest, "")
        elif argument == "--secrets-provider":
            next(rest, "")  # the passphrase provider: nothing here is secret at rest
        elif argument == "--non-interactive":
            continue  # nothing here asks
        elif argument.startswith("-"):
            flags.add(argument)
        else:
            words.append(argument)
    command = words[:2] if words[:1] in (["stack"], ["config"]) else words[:1]
    operands = words[len(command):]
    if command == ["stack", "output"]:
        from tests.harness.stack_output import stack_output

        name = stack or backend.current
        outputs, secret = backend.outputs(name)
        code, out, err = stack_output(name, outputs, set(secret), ["stack", "output", *operands, *sorted(flags)])
        if code:
            raise Refused(err.rstrip("\n"), code)
        return out, ""
    if command in (["stack", "init"], ["stack", "select"]):
        (name,) = operands
        if command == ["stack", "init"] and backend.exists(name):
            raise Refused(f"error: stack 'organization/{backend.project}/{name}' already exists")
        created = not backend.exists(name)
        if created:
            if command == ["stack", "select"] and not flags & {"--create", "-c"}:
                raise Refused(f"error: no stack named '{name}' found", NO_STACK)
            backend.set_config(name, {})
        backend.select(name)
        return "", f"Created stack '{name}'\n" if created else ""
    name = stack or backend.current
    if command == ["stack", "export"]:
        backend.config(name)
        harness = backend.harness(name)
        harness.close()
        return json.dumps(harness.state.deployment(), indent=4, default=str) + "\n", ""
    if command == ["stack", "history"] and "--json" in flags:
        backend.config(name)
        return "[]\n", ""  # what recovery reads as no update recorded
    if command == ["config", "set"] and not flags - {"--plaintext"}:
        key, value = operands
        backend.set_config(name, {**backend.config(name), key: value})
        return "", ""
    confirmed = flags & {"--yes", "-y", "--skip-preview", "-f"} or os.environ.get("PULUMI_SKIP_CONFIRMATIONS") == "true"
    if command in (["up"], ["destroy"]) and not flags - {"--yes", "-y", "--skip-preview", "-f", "--refresh", "-r"}:
        if not confirmed:
            raise Refused(NOT_CONFIRMED, NOT_CONFIRMED_CODE)
        done = _up(backend, name, refresh=bool(flags & {"--refresh", "-r"})) if command == ["up"] else _destroy(backend, name)
        return done, ""
    raise Refused(f"pulumi {' '.join(arguments)}: the harness does not serve this; it runs through the real CLI's tests")


def set_machine(backend: Path, stack: str, settings: Mapping[str, Any]) -> None:
    """This machine's settings for `stack`, known only once another stack is up (a registry's address)."""
    machine = json.loads((backend / "machine.json").read_text())
    (backend / "machine.json").write_text(json.dumps({**machine, stack: dict(settings)}))


def _up(backend: Backend, stack: str, refresh: bool) -> str:
    from tests.support.program import PROJECT, run_program

    config = {**backend.machine(stack), **backend.config(stack)}
    if backend.project != PROJECT:
        _use_virtualenv(backend.project_dir)
    harness = backend.harness(stack)
    try:
        outputs = harness.apply(
            lambda: run_program(harness, stack, config, project_dir=backend.project_dir, stack_dir=backend.stack_dir),
            label=f"up ({stack})", refresh=refresh,
        )
    except Exception as error:  # noqa: BLE001 - the CLI prints the program's error and exits
        raise Refused(f"error: {error}") from None
    finally:
        harness.close()
    backend.set_outputs(stack, outputs, getattr(outputs, "secret", frozenset()))
    return f"Resources:\n    {len(harness.state)} resources, {len(harness.last_run.changes())} changes\n"


def _project_file(project_dir: Path) -> dict[str, Any]:
    import yaml

    return yaml.safe_load((project_dir / "Pulumi.yaml").read_text())


def _use_virtualenv(project_dir: Path) -> None:
    """The packages of the project's virtualenv ahead of this checkout's, as the language host runs the program
    with that virtualenv's python (the harness's own packages, already loaded, stay those of its process)."""
    runtime = _project_file(project_dir).get("runtime")
    name = ((runtime.get("options") or {}) if isinstance(runtime, dict) else {}).get("virtualenv")
    if not name:
        return
    virtualenv = project_dir / name
    if not virtualenv.exists():  # the language host (3.277) makes it, with the project's requirements
        _run_or_refuse(["python3", "-m", "venv", str(virtualenv)], project_dir)
        if (project_dir / "requirements.txt").is_file():
            _run_or_refuse([str(virtualenv / "bin" / "pip"), "install", "-r", "requirements.txt"], project_dir)
    site_packages = sorted(virtualenv.glob("lib/python*/site-packages"))
    if not site_packages:
        raise Refused(f"error: {virtualenv} holds no site-packages: not a virtualenv")
    sys.path.insert(0, str(site_packages[-1]))


def _run_or_refuse(argv: list[str], cwd: Path) -> None:
    made = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    if made.returncode:
        raise Refused(f"error: {' '.join(argv)}: exit {made.returncode}\n{made.stdout[-2000:]}{made.stderr[-2000:]}")


def _destroy(backend: Backend, stack: str) -> str:
    harness = backend.harness(stack)
    try:
        harness.destroy()
    finally:
        harness.close()
    backend.set_outputs(stack, {}, frozenset())
    return "The resources in the stack have been deleted\n"


def main(arguments: list[str]) -> int:
    caller = Path(os.environ.get(CALLER_DIR) or os.getcwd())
    backend = Backend(Path(os.environ[BACKEND]), Path(os.environ[STATE_DIR]), find_project(caller), project_folder(caller))
    try:
        out, err = run(backend, arguments)
    except Refused as refused:
        sys.stderr.write(f"{refused}\n")
        return refused.code
    sys.stdout.write(out)
    sys.stderr.write(err)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
