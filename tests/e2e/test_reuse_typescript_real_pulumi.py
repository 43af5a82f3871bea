"""docs/reuse.md's TypeScript path with the real CLI, as pasted (reuse_guide.py): npm's pinned packages,
`pulumi package add`, the guide's index.ts up on the engine, its check, a clean preview, destroy."""
from __future__ import annotations

from pathlib import Path

import pytest

from .reuse_guide import Guide, missing_guide_toolchain, run_the_guide

pytestmark = pytest.mark.docker

GUIDE = Guide(
    runner="tests/e2e/test_reuse_typescript_real_pulumi.py",
    language="ts",
    host="nodejs",
    tools=("node", "npm"),
    setup=(
        'export ORCHESTRATION="$PWD"',
        "mkdir ../consul-demo",
        "cd ../consul-demo",
        "printf 'name: consul-demo\\nruntime: nodejs\\n' > Pulumi.yaml",
        "npm install --save-exact typescript@5.9.3 @pulumi/pulumi@3.270.0 @pulumi/consul@3.15.1 @pulumi/docker@5.2.0 @pulumi/command@1.2.1",
        "npm pkg set 'overrides[@pulumi/consul]=$@pulumi/consul'",
        'pulumi package add "$ORCHESTRATION/provider"',
    ),
    program_file="index.ts",
    deploy=(
        "pulumi stack init demo",
        "pulumi up --yes",
        "curl -s 127.0.0.1:18651/v1/kv/demo/greeting?raw",
        "pulumi preview --expect-no-changes",
        "pulumi destroy --yes",
    ),
    up="pulumi up --yes",
    check="curl -s 127.0.0.1:18651/v1/kv/demo/greeting?raw",
    destroy="pulumi destroy --yes",
    count_pattern=r"Up \((\d+) resources\), Consul answering",
    name_prefix="demo-",
)


def test_the_typescript_guide_runs_as_pasted(engine, tmp_path: Path) -> None:
    reason = missing_guide_toolchain(GUIDE)
    if reason:
        pytest.skip(reason)
    run_the_guide(engine, tmp_path, GUIDE)
