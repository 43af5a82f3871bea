"""docs/reuse.md's TypeScript and Go paths with the real CLI, as pasted: a new project beside a copy of this
checkout, its pinned installs, `pulumi package add` of the provider, the guide's program, then up on the
engine, the check the guide shows, a second preview that must propose nothing, destroy leaving nothing.

Each needs what the other real-Pulumi tests need (real_pulumi.py), the language's tools and the CLI's
language host for it, and the registry the guide installs from; it skips with the reason where one is missing.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import docker

from tests.harness.engine import objects_named_with
from tests.harness.local_images import CONSUL_IMAGE, build_consul_image
from tests.support.docs import blocks, documented_command
from tests.support.program import PROJECT_DIR

from .doc_runner import Shell
from .real_pulumi import missing_toolchain
from .support import PHASES

DOC = PROJECT_DIR / "docs" / "reuse.md"


@dataclass(frozen=True)
class Guide:
    runner: str
    """The test file the guide's blocks name (`<!-- run: ... -->`)."""
    language: str
    """The program block's language, and the language host's name (`pulumi-language-<host>`)."""
    host: str
    tools: tuple[str, ...]
    setup: tuple[str, ...]
    """The commands before the program, from the checkout's folder; the last `cd` is the project."""
    program_file: str
    deploy: tuple[str, ...]
    """The commands after it: stack init first, then up, the check, the preview, destroy (in UP..DESTROY)."""
    up: str
    check: str
    destroy: str
    count_pattern: str
    """Where the guide says how many resources come up."""
    name_prefix: str
    """Of the containers, volumes and network the guide's program makes."""
    prepare_after: str = ""
    """The setup command after which `prepare` (run_the_guide) runs."""


def missing_guide_toolchain(guide: Guide) -> str | None:
    reason = missing_toolchain()
    if reason:
        return reason
    for tool in guide.tools:
        if not shutil.which(tool):
            return f"{guide.language} reuse: no `{tool}` on PATH"
    beside_cli = os.path.dirname(shutil.which("pulumi") or "")
    host = f"pulumi-language-{guide.host}"
    if not shutil.which(host, path=os.pathsep.join([beside_cli, os.environ.get("PATH", "")])):
        return f"{guide.language} reuse: no `{host}` (the CLI's language host) beside the CLI or on PATH"
    return None


def checkout_copy(folder: Path) -> Path:
    """What `pulumi package add` reads of this checkout; the provider's virtualenv lands in the copy."""
    checkout = folder / "orchestration"
    checkout.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(PROJECT_DIR / name, checkout / name)
    for name in ("components", "provider"):
        shutil.copytree(PROJECT_DIR / name, checkout / name, ignore=shutil.ignore_patterns("venv", "__pycache__"))
    return checkout


def guide_program(guide: Guide) -> str:
    found = [b.body for b in blocks(DOC) if b.language == guide.language and b.marker == ("run", guide.runner)]
    assert len(found) == 1, f"{DOC.name}: {len(found)} {guide.language} blocks marked as run by {guide.runner}"
    return found[0]


def run_the_guide(engine: docker.DockerClient, folder: Path, guide: Guide, prepare: Callable[[Shell], None] = lambda shell: None) -> None:
    """`prepare` runs in the project after `guide.prepare_after`: what this machine needs that the guide's reader has."""
    build_consul_image(engine)
    (folder / "state").mkdir()
    environment = {
        **os.environ,
        "PULUMI_BACKEND_URL": f"file://{folder / 'state'}",
        "PULUMI_CONFIG_PASSPHRASE": "",
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_IGNORE_AMBIENT_PLUGINS": "true",
    }
    shell = Shell(checkout_copy(folder), environment)
    timings: dict[str, float] = {}

    def run(command: str) -> str:
        started = time.monotonic()
        try:
            return shell.run(documented_command(DOC, command, guide.runner).text)
        finally:
            timings[command] = time.monotonic() - started

    project = None
    deployed = False
    try:
        for command in guide.setup:
            run(command)
            if command == guide.prepare_after:
                prepare(shell)
        project = Path(shell.run("pwd").strip())
        (project / guide.program_file).write_text(guide_program(guide))
        created = None
        for command in guide.deploy:
            if command == guide.up:
                # This machine reaches no image registry: the image is the stand-in built from apps/ (the guide says how).
                shell.run(f"pulumi config set consulImage {CONSUL_IMAGE}")
                deployed = True
            output = run(command)
            if command == guide.up:
                created = re.search(r"\+ (\d+) created", output)
                said = re.search(guide.count_pattern, DOC.read_text())
                assert said, f"{DOC.name} no longer says {guide.count_pattern!r}"
                assert created and int(created.group(1)) == int(said.group(1)), output[-3000:]
            elif command == guide.check:
                assert output.strip() == documented_command(DOC, command, guide.runner).comment
            elif command == guide.destroy:
                deployed = False
                deleted = re.search(r"- (\d+) deleted", output)
                assert created and deleted and deleted.group(1) == created.group(1), output[-3000:]
        assert objects_named_with(engine, guide.name_prefix) == {"services": [], "containers": [], "networks": [], "volumes": []}
    finally:
        if deployed and project:
            subprocess.run(["pulumi", "destroy", "--yes", "--stack", "demo"], cwd=project, env=environment, capture_output=True, check=False)
        PHASES.extend((f"{guide.language} guide: {command}", seconds) for command, seconds in timings.items())
