"""docs/reuse.md's TypeScript and Go projects ask for the docker, consul and command packages the
provider's components run (provider/schema.json's dependencies), so one plugin of each serves both."""
from __future__ import annotations

import json
import re

from tests.support.docs import blocks
from tests.support.program import PROJECT_DIR

DOC = PROJECT_DIR / "docs" / "reuse.md"
NPM_CONSUL = "3.15.1"
"""The newest @pulumi/consul npm serves; the guide's override hands it to the generated SDK."""


def dependencies() -> dict[str, str]:
    schema = json.loads((PROJECT_DIR / "provider" / "schema.json").read_text())
    return {dependency["name"]: dependency["version"] for dependency in schema["dependencies"]}


def block(language: str) -> str:
    found = [b.body for b in blocks(DOC) if b.language == language and b.marker and b.marker[0] == "run"]
    assert len(found) == 1, f"{language}: {len(found)} blocks"
    return found[0]


def test_the_guides_consul_providers_run_the_components_consul_plugin() -> None:
    consul = dependencies()["consul"]
    assert re.findall(r'version: "([\d.]+)"', block("ts")) == [consul]
    assert re.findall(r'pulumi\.Version\("([\d.]+)"\)', block("go")) == [consul]


def test_the_typescript_project_installs_the_docker_and_command_sdks_the_components_run() -> None:
    wanted = dependencies()
    installed = dict(re.findall(r"@pulumi/(docker|command|consul)@([\d.]+)", DOC.read_text()))
    assert installed == {"docker": wanted["docker"], "command": wanted["command"], "consul": NPM_CONSUL}
    assert "npm pkg set 'overrides[@pulumi/consul]=$@pulumi/consul'" in DOC.read_text()


def test_the_go_project_pins_the_sdks_the_components_run() -> None:
    pinned = dict(re.findall(r"github\.com/pulumi/pulumi-(docker|consul|command)/sdk(?:/v\d+)?@v([\d.]+)", DOC.read_text()))
    assert pinned == dependencies()
