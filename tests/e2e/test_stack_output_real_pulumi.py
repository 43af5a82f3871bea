"""The harness's `pulumi stack output` (tests/harness/stack_output.py, which a doc's command meets when its
block runs through the harness) prints what the real CLI prints, where this machine has the CLI
(real_pulumi.py; no engine needed): a stack whose outputs are a string, text that is not ASCII, numbers,
an empty string, a list, a map of maps in no particular order, and a secret, is imported into a file
backend, and each form of the command is run by both, stdout and exit code compared."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.harness.stack_output import stack_output

from .real_pulumi import skip_without_toolchain

STACK = "outputs"
PROJECT = "orchestration-outputs"
# In the order a program might export them: the CLI's order is its own.
OUTPUTS = {
    "webUrl": "http://localhost:5000",
    "note": "café <b> & ✓",
    "workers": 2,
    "ratio": 1.5,
    "empty": "",
    "consulNodes": ["consul-1", "consul-2"],
    "inventory": {"hosts": {"local": {"dev-web": "web:1", "dev-redis": "redis:7"}}, "alive": True, "none": None},
    "token": "s3cret",
}
SECRET = {"token"}
# Pulumi's marker of a secret value in a deployment (sdk/go/common/resource/sig).
SECRET_SIG = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270"}
FORMS = [
    *([name] for name in OUTPUTS),
    *([name, "--json"] for name in OUTPUTS),
    ["token", "--show-secrets"],
    ["--json"],
    ["--json", "--show-secrets"],
    ["nope"],
]


@pytest.fixture(scope="module")
def pulumi(tmp_path_factory):
    skip_without_toolchain()
    folder = tmp_path_factory.mktemp("stack-output")
    (folder / "state").mkdir()
    (folder / "Pulumi.yaml").write_text(f"name: {PROJECT}\nruntime: python\nbackend:\n  url: file://{folder / 'state'}\n")
    environment = {**os.environ, "PULUMI_CONFIG_PASSPHRASE": "", "PULUMI_SKIP_UPDATE_CHECK": "true"}

    def run(*arguments: str, check: bool = True) -> subprocess.CompletedProcess:
        completed = subprocess.run(["pulumi", *arguments, "--non-interactive"], cwd=folder, env=environment, capture_output=True, text=True, check=False)
        assert completed.returncode == 0 or not check, f"pulumi {' '.join(arguments)}: {completed.stderr}"
        return completed

    run("stack", "init", STACK)
    deployment = json.loads(run("stack", "export").stdout)
    outputs = {name: {**SECRET_SIG, "plaintext": json.dumps(value)} if name in SECRET else value for name, value in OUTPUTS.items()}
    deployment["deployment"]["resources"] = [
        {"urn": f"urn:pulumi:{STACK}::{PROJECT}::pulumi:pulumi:Stack::{PROJECT}-{STACK}", "custom": False, "type": "pulumi:pulumi:Stack", "outputs": outputs}
    ]
    imported = Path(folder / "deployment.json")
    imported.write_text(json.dumps(deployment))
    run("stack", "import", "--file", str(imported))
    return run


@pytest.mark.parametrize("form", FORMS, ids=" ".join)
def test_the_harness_prints_stack_output_as_the_real_cli_does(pulumi, form: list[str]) -> None:
    real = pulumi("stack", "output", *form, check=False)
    code, out, err = stack_output(STACK, OUTPUTS, SECRET, ["stack", "output", *form])
    assert (code, out) == (real.returncode, real.stdout)
    assert err in real.stderr
