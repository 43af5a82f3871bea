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


def test_maps_print_with_their_keys_sorted_at_every_depth_and_text_as_it_is() -> None:
    """As the CLI's Go encoding does (checked against it in tests/e2e/test_stack_output_real_pulumi.py):
    whatever order the program exported them in, and no \\u escapes for text that is not ASCII."""
    outputs = {"zeta": "café <b> & ✓", "alpha": {"z": 1, "y": [2, {"q": True, "p": None}]}}
    assert stack_output("dev", outputs, set(), ["stack", "output", "alpha"])[1] == '{"y":[2,{"p":null,"q":true}],"z":1}\n'
    assert stack_output("dev", outputs, set(), ["stack", "output", "zeta", "--json"])[1] == '"café <b> & ✓"\n'
    everything = stack_output("dev", outputs, set(), ["stack", "output", "--json"])[1]
    assert everything.index('"alpha"') < everything.index('"zeta"') and everything.index('"p"') < everything.index('"q"')
    assert "café" in everything


def test_an_output_the_stack_lacks_exits_1() -> None:
    assert stack_output("dev", OUTPUTS, set(), ["stack", "output", "nope"]) == (1, "", "error: current stack does not have output property 'nope'\n")
