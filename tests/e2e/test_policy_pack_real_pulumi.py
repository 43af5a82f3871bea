"""`pulumi preview --policy-pack policy` through the real CLI, where this machine has it (see real_pulumi.py).

The CLI starts the pack through the Python language host (no separate analyzer plugin), in the
virtualenv PulumiPolicy.yaml names: the project's, whose copy here is the one the tests run in.
A preview creates nothing, so no engine is needed beyond what the providers' previews read.
"""
from __future__ import annotations

from typing import Iterator

import pytest

from .real_pulumi import RealProject, skip_without_toolchain

SANDBOX_ENGINES = ("larry-container", "curly-container", "moe-container")


def preview_with_pack(project: RealProject, config_stack: str):
    return project.run(
        "preview", "--policy-pack", "policy", "--policy-pack-config", f"policy/config/{config_stack}.json",
        label=f"real: preview with the policy pack ({config_stack} config)", check=False,
    )


@pytest.fixture
def stack(request) -> Iterator[RealProject]:
    skip_without_toolchain()
    name, passphrase = request.param
    project = RealProject(name, passphrase)
    project.init()
    yield project
    project.close()


@pytest.mark.parametrize("stack", [("dev", "")], indirect=True, ids=["dev"])
def test_dev_passes_the_pack_and_a_bad_image_or_address_fails_it(stack: RealProject) -> None:
    passed = preview_with_pack(stack, "dev")
    assert passed.returncode == 0, passed.stdout[-3000:] + passed.stderr[-3000:]
    assert "✅ orchestration@v0.0.1 (local: policy)" in passed.stdout

    stack.set_config({"redisImage": "redis:latest", "publishAddress": "0.0.0.0"})
    failed = preview_with_pack(stack, "dev")
    assert failed.returncode != 0
    assert "❌ orchestration@v0.0.1 (local: policy)" in failed.stdout
    assert "compose-redis-image: image `redis:latest` uses the tag `latest`" in failed.stdout
    for port in ("8500/tcp is published as 8500", "53/udp is published as 8600", "53/tcp is published as 8600"):
        assert f"consul-consul-1-agent: Consul's port {port} on every address (0.0.0.0)" in failed.stdout
    assert failed.stdout.count("[mandatory]") == 4, failed.stdout


@pytest.mark.parametrize("stack", [("sandbox", "policy-test")], indirect=True, ids=["sandbox"])
def test_the_sandbox_passes_with_its_exception_and_fails_without_it(stack: RealProject) -> None:
    passed = preview_with_pack(stack, "sandbox")
    assert passed.returncode == 0, passed.stdout[-3000:] + passed.stderr[-3000:]

    failed = preview_with_pack(stack, "dev")
    assert failed.returncode != 0
    for container in SANDBOX_ENGINES:
        assert f"{container}: runs --privileged" in failed.stdout
    assert failed.stdout.count("[mandatory]") == len(SANDBOX_ENGINES), failed.stdout
