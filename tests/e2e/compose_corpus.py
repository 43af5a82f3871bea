"""Compose files the real engine can run here, and what runs them: real projects' files from
tests/data/compose/corpus and ours, with stand-ins for the images they name (none can be pulled here:
local images tagged under those names for the run, untagged after). Shared by
tests/e2e/test_compose_corpus_engine.py and benchmarks/compose_files.py."""
from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, Iterator

import docker

from components.compose_project import ComposeProject, ComposeProjectArgs
from tests.harness import ApplyHarness
from tests.harness.inline import run_inline
from tests.harness.local_images import BASE_IMAGE, PROJECT_DIR, REDIS_IMAGE, build_redis_image, ci_built_binary, require_base_image

from .real_pulumi import RealProgram

DATA = PROJECT_DIR / "tests" / "data" / "compose"
SLEEPER_IMAGE = "orchestration-e2e/compose-stand-in:latest"
# A long-running stand-in for an application image: it exits on SIGTERM, as a well-behaved server does.
SLEEPER_DOCKERFILE = f"""FROM {BASE_IMAGE}
CMD ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"]
"""
KEPT_IMAGES = (BASE_IMAGE, REDIS_IMAGE, SLEEPER_IMAGE)

# Folder to copy (the file's relative paths stay as in its repository), the file in it, variables, stand-ins
# (image -> local image), and the files to compare inside the containers (where secrets and configs land).
CASES: dict[str, dict[str, Any]] = {
    "kreuzwerker-two-sleepers": {
        "folder": DATA / "corpus" / "kreuzwerker+terraform-provider-docker",
        "file": "testdata/resources/docker_compose/testAccDockerComposeConfig.compose.yaml",
        "variables": {},
        "stand_ins": {"busybox:1.35.0": BASE_IMAGE},
    },
    "uptime-kuma-radius-redis": {
        "folder": DATA / "corpus" / "louislam+uptime-kuma",
        "file": "test/manual-test-radius/compose.yaml",
        "variables": {},
        "stand_ins": {"redis:latest": REDIS_IMAGE},
    },
    "paperless-sqlite": {
        "folder": DATA / "corpus" / "paperless-ngx+paperless-ngx",
        "file": "docker/compose/docker-compose.sqlite.yml",
        "variables": {},
        "stand_ins": {"docker.io/valkey/valkey:9-alpine": REDIS_IMAGE, "ghcr.io/paperless-ngx/paperless-ngx:latest": SLEEPER_IMAGE},
    },
    "own-secrets-and-configs": {
        "folder": DATA / "secrets-engine",
        "file": "compose.yaml",
        "variables": {"API_TOKEN": "not-a-real-token", "MOTD": "hello from the environment"},
        "stand_ins": {"example/holder:1": SLEEPER_IMAGE},
        "files": ["/run/secrets/db_password", "/run/secrets/token", "/etc/site.conf", "/motd"],
    },
}
# Not here: tests/data/compose/reuse, whose `volumes_from` Docker Compose v2.40.3 itself fails to create on
# this engine ("get: no such volume" for the sidecar); it is compared under mocks (tests/unit/test_compose_oracle.py).


def compose_binary() -> str:
    return ci_built_binary("COMPOSE_BIN", "compose.sh", "no Docker Compose binary")


def build_local_images(engine: docker.DockerClient) -> None:
    require_base_image(engine)
    build_redis_image(engine)
    engine.images.build(fileobj=io.BytesIO(SLEEPER_DOCKERFILE.encode()), tag=SLEEPER_IMAGE, rm=True)


@contextlib.contextmanager
def stand_ins(engine: docker.DockerClient, names: dict[str, str]) -> Iterator[None]:
    """Tags local images under the names a file gives (never over an image the engine has); removes those tags after."""
    made: list[str] = []
    try:
        for name, local in names.items():
            try:
                engine.images.get(name)
                raise RuntimeError(f"{name} exists on the engine already: a stand-in must not replace it")
            except docker.errors.ImageNotFound:
                pass
            repository, _, tag = name.rpartition(":")
            engine.images.get(local).tag(repository, tag)
            made.append(name)
        yield
    finally:
        for name in made:
            engine.images.remove(name, noprune=True)


class Case:
    """One file, copied to `workdir` (so what either side creates beside it stays there), run under `project`:
    by Docker Compose, by ComposeProject through the harness, or through the real CLI (`real_up`)."""

    def __init__(self, name: str, workdir: Path, project: str) -> None:
        spec = CASES[name]
        self.variables: dict[str, str] = spec["variables"]
        self.files: list[str] = spec.get("files", [])
        folder = workdir / "project"
        if not folder.exists():
            shutil.copytree(spec["folder"], folder)
        self.file = folder / spec["file"]
        self.project = project
        self.command = [compose_binary(), "-f", str(self.file), "-p", project]
        self.environment = {key: os.environ[key] for key in ("PATH", "HOME") if key in os.environ} | self.variables
        self.harness = ApplyHarness(project_dir=PROJECT_DIR, state_file=workdir / "state.json", keep_images=KEPT_IMAGES)
        self.real: RealProgram | None = None

    def compose(self, *arguments: str) -> None:
        completed = subprocess.run([*self.command, *arguments], env=self.environment, capture_output=True, text=True, timeout=300)
        if completed.returncode != 0:
            raise RuntimeError(f"docker compose {' '.join(arguments)}: exit {completed.returncode}\n{completed.stderr[-3000:]}")

    def compose_up(self) -> None:
        self.compose("up", "-d", "--wait")

    def compose_down(self) -> None:
        self.compose("down", "-v")

    def harness_up(self) -> None:
        self.harness.apply(self.program)

    def harness_down(self) -> None:
        self.harness.destroy()

    def program(self) -> Any:
        return run_inline(
            self.harness,
            lambda: ComposeProject("compose", ComposeProjectArgs(file=str(self.file), variables=self.variables, project_name=self.project)),
        )

    def real_init(self) -> RealProgram:
        """A program declaring the same ComposeProject, on a stack of its own (made at the first call)."""
        if self.real is None:
            self.real = RealProgram("compose-corpus", (
                "from components.compose_project import ComposeProject, ComposeProjectArgs\n\n"
                f"ComposeProject('compose', ComposeProjectArgs(file={str(self.file)!r}, variables={self.variables!r}, "
                f"project_name={self.project!r}))\n"
            ))
            self.real.init()
        return self.real

    def real_up(self) -> None:
        """`pulumi up` of that program with the real CLI."""
        self.real_init().run("up", "--yes", "--skip-preview", label="up")

    def real_changes(self) -> list[tuple[str, str, str]]:
        """What `pulumi preview` would change now."""
        assert self.real is not None
        return self.real.preview_changes("preview")

    def real_down(self) -> None:
        if self.real is not None:
            self.real.run("destroy", "--yes", "--skip-preview", label="destroy")

    def close(self) -> None:
        self.harness.close()
        if self.real is not None:
            self.real.close()
