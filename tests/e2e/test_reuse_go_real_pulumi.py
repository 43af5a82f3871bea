"""docs/reuse.md's Go path with the real CLI, as pasted (reuse_guide.py): `pulumi package add`, the pinned
Go SDKs, the guide's main.go built and up on the engine, its check, a clean preview, destroy.

Where the Go module proxy does not serve the docker, consul and command Go SDKs (this machine's does
not), ORCH_GO_REPLACE names local copies of them, `module=folder` separated by spaces: they go into the
project's go.mod as `replace`s as soon as it has one, and the guide's `go get` then pins those.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from .doc_runner import Shell
from .reuse_guide import Guide, missing_guide_toolchain, run_the_guide

pytestmark = pytest.mark.docker

GUIDE = Guide(
    runner="tests/e2e/test_reuse_go_real_pulumi.py",
    language="go",
    host="go",
    tools=("go",),
    setup=(
        'export ORCHESTRATION="$PWD"',
        "mkdir ../consul-demo-go",
        "cd ../consul-demo-go",
        "printf 'name: consul-demo-go\\nruntime: go\\n' > Pulumi.yaml",
        "go mod init consul-demo-go",
        'pulumi package add "$ORCHESTRATION/provider"',
        "go get github.com/pulumi/pulumi/sdk/v3@v3.276.0 github.com/pulumi/pulumi-consul/sdk/v3@v3.15.2 github.com/pulumi/pulumi-docker/sdk/v5@v5.2.0 github.com/pulumi/pulumi-command/sdk@v1.2.1",
    ),
    program_file="main.go",
    deploy=(
        "go mod tidy",
        "pulumi stack init demo",
        "pulumi up --yes",
        "curl -s 127.0.0.1:18661/v1/kv/demo-go/greeting?raw",
        "pulumi preview --expect-no-changes",
        "pulumi destroy --yes",
    ),
    up="pulumi up --yes",
    check="curl -s 127.0.0.1:18661/v1/kv/demo-go/greeting?raw",
    destroy="pulumi destroy --yes",
    count_pattern=r"Up \((\d+) resources\), the key",
    name_prefix="demo-go-",
    prepare_after="go mod init consul-demo-go",
)
PINNED = "github.com/pulumi/pulumi-consul/sdk/v3@v3.15.2"
"""One of the SDKs the guide pins, which the module proxy may not serve."""


def replacements() -> list[str]:
    return os.environ.get("ORCH_GO_REPLACE", "").split()


def missing_go_sdks() -> str | None:
    if replacements():
        return None
    listed = subprocess.run(["go", "list", "-m", PINNED], capture_output=True, text=True, timeout=120, check=False)
    if listed.returncode != 0:
        return f"Go reuse: the module proxy does not serve {PINNED}, and ORCH_GO_REPLACE names no local copies"
    return None


def replace_go_sdks(shell: Shell) -> None:
    for replacement in replacements():
        shell.run(f"go mod edit -replace={replacement}")


def test_the_go_guide_runs_as_pasted(engine, tmp_path: Path) -> None:
    reason = missing_guide_toolchain(GUIDE) or missing_go_sdks()
    if reason:
        pytest.skip(reason)
    run_the_guide(engine, tmp_path, GUIDE, prepare=replace_go_sdks)
