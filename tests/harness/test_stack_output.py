"""The harness's `pulumi stack output` prints as the CLI does, so a doc's command runs as pasted."""
from __future__ import annotations

import json
import subprocess

from .stack_output import install, stack_output

OUTPUTS = {"webUrl": "http://localhost:5000", "consulNodes": ["consul-1"], "token": "s3cret"}


def test_a_string_prints_as_it_is_and_anything_else_as_compact_json() -> None:
    assert stack_output("dev", OUTPUTS, set(), ["stack", "output", "webUrl"]) == (0, "http://localhost:5000\n", "")
    assert stack_output("dev", OUTPUTS, set(), ["stack", "output", "consulNodes"]) == (0, '["consul-1"]\n', "")
    code, out, _ = stack_output("dev", OUTPUTS, set(), ["stack", "output", "--json"])
    assert code == 0 and json.loads(out) == OUTPUTS and out.startswith("{\n  ")


def test_a_secret_shows_only_when_asked() -> None:
    assert stack_output("dev", OUTPUTS, {"token"}, ["stack", "output", "token"])[1] == "[secret]\n"
    assert stack_output("dev", OUTPUTS, {"token"}, ["stack", "output", "--show-secrets", "token"])[1] == "s3cret\n"


def test_what_it_does_not_serve_fails_saying_so() -> None:
    code, _, err = stack_output("dev", OUTPUTS, set(), ["stack", "output", "nope"])
    assert code != 0 and "does not have output property 'nope'" in err
    code, _, err = stack_output("dev", OUTPUTS, set(), ["up", "--yes"])
    assert code != 0 and "real CLI" in err
    assert stack_output("dev", OUTPUTS, set(), ["stack", "output", "webUrl", "--stack", "other"])[0] != 0


def test_the_installed_pulumi_runs_in_a_shell(tmp_path) -> None:
    environment = install(tmp_path / "bin", "dev", OUTPUTS, {"token"})
    printed = subprocess.run(
        ["bash", "-c", 'echo "$(pulumi stack output webUrl)/x" && pulumi stack output token'],
        env={**environment}, capture_output=True, text=True, check=True,
    ).stdout
    assert printed == "http://localhost:5000/x\n[secret]\n"
