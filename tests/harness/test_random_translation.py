"""pulumi-random's RandomPassword through the harness: drawn as the provider draws it, secret, replaced on any change."""
from __future__ import annotations

import string
from pathlib import Path

import bcrypt
import pulumi
import pulumi_random as random

from tests.harness import ApplyHarness
from tests.harness.base import ResourceContext
from tests.harness.inline import run_inline
from tests.harness.random_resources import DEFAULT_SPECIAL, RandomPassword

PASSWORD = "random:index/randomPassword:RandomPassword"


def test_a_password_is_drawn_from_its_classes_kept_secret_and_redrawn_only_on_change(tmp_path: Path) -> None:
    inputs = {"length": 40, "override_special": "0123456789abcdef", "keepers": {"epoch": "1"}}

    def program() -> None:
        password = random.RandomPassword(
            "key", upper=False, lower=False, numeric=False, min_special=5, **inputs  # type: ignore[arg-type]
        )
        pulumi.export("result", password.result)

    harness = ApplyHarness(project_dir=tmp_path, state_file=tmp_path / "state.json")
    try:
        first = harness.apply(lambda: run_inline(harness, program))["result"]
        assert len(first) == 40 and set(first) <= set(string.hexdigits.lower())
        [record] = [r for r in harness.state if r.type == PASSWORD]
        assert record.id == "none"
        assert {"result", "bcryptHash"} <= set(record.secret_outputs)
        assert bcrypt.checkpw(first.encode(), record.outputs["bcryptHash"].encode())
        assert harness.plaintext_exposures([first]) == []

        assert harness.apply(lambda: run_inline(harness, program))["result"] == first
        assert harness.last_run.changes() == []

        inputs["keepers"] = {"epoch": "2"}
        second = harness.apply(lambda: run_inline(harness, program))["result"]
        assert harness.last_run.changes() == [("replace", PASSWORD, "key")]
        assert second != first
    finally:
        harness.destroy()
        harness.close()


def test_the_default_classes_and_minimums() -> None:
    ctx = ResourceContext(PASSWORD, "p", "urn", {"length": 12, "minUpper": 4, "minNumeric": 4}, {}, Path("."), None)  # type: ignore[arg-type]
    _, outputs = RandomPassword().create(ctx)
    result = outputs["result"]
    assert len(result) == 12
    assert sum(c.isupper() for c in result) >= 4 and sum(c.isdigit() for c in result) >= 4
    assert set(result) <= set(string.ascii_letters + string.digits + DEFAULT_SPECIAL)
    assert (outputs["special"], outputs["number"], outputs["minLower"]) == (True, True, 0)
