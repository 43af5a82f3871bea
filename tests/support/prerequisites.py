"""The one rule for tests whose prerequisite (an engine, a server, a binary) is missing."""
from __future__ import annotations

import os

import pytest


def skip_or_fail(reason: str) -> None:
    """Skips with the reason; with ORCH_REQUIRE_ENGINE=1, as .ci/run sets, fails instead."""
    if os.environ.get("ORCH_REQUIRE_ENGINE") == "1":
        pytest.fail(f"ORCH_REQUIRE_ENGINE=1, but {reason}")
    pytest.skip(reason)
