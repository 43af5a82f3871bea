"""The committed cluster stack, whose example hosts no runner reaches, through the real CLI's preview.

Without the reachability check, this preview "succeeds" with 56 resources to create (a new docker
provider contacts no engine while planning), and the first `pulumi up` then waits on ssh.
"""
from __future__ import annotations

import time

from tests.support.docs import blocks
from tests.support.program import PROJECT_DIR

from .real_pulumi import RealProject, skip_without_toolchain

PREVIEW_BUDGET_SECONDS = 30


def test_a_preview_of_unreachable_hosts_fails_at_once_naming_each() -> None:
    skip_without_toolchain()
    project = RealProject("cluster", passphrase="preview-only")
    try:
        project.init()
        started = time.monotonic()
        preview = project.run("preview", check=False, label="real: cluster preview, hosts unreachable")
        elapsed = time.monotonic() - started
    finally:
        project.close()
    assert preview.returncode != 0
    assert "cannot reach these Docker engines, so nothing can be planned on them:" in preview.stdout
    for host, address in (("larry", "10.0.0.11"), ("curly", "10.0.0.12"), ("moe", "10.0.0.13")):
        assert f"{host} (ssh://deploy@{address}): " in preview.stdout
    assert "Traceback" not in preview.stdout + preview.stderr
    assert elapsed < PREVIEW_BUDGET_SECONDS
    # docs/previews.md shows this error: its lines, each host's up to the reason (which the network decides).
    printed = [line.strip() for line in preview.stdout.splitlines()]
    for line in shown_error().splitlines():
        expected = line.strip().removeprefix("error: ")
        if "(ssh://" in expected:
            expected = expected.split("): ")[0] + "): "
            assert any(printed_line.startswith(expected) for printed_line in printed), (expected, preview.stdout)
        else:
            assert any(printed_line.endswith(expected) for printed_line in printed), (expected, preview.stdout)


def shown_error() -> str:
    """The error docs/previews.md shows for a preview that reaches none of the cluster's hosts."""
    [block] = [b for b in blocks(PROJECT_DIR / "docs" / "previews.md") if b.body.startswith("error: cannot reach")]
    return block.body
