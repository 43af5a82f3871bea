"""The errors the guides show are the program's, made again here from the config that gets them; the
settings they show are taken as written.
(docs/previews.md's unreachable hosts: tests/e2e/test_cluster_preview_real_pulumi.py; docs/design.md's
resource tree: test_project_files.py.)"""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.support.docs import blocks
from tests.support.program import PROJECT_DIR
from tests.unit.conftest import deploy, deploy_rejected

SERVICE = "docker:index/service:Service"
# Line 7 holds `ports`, as the error in docs/compose.md says.
COMPOSE_FILE = """\
# A web server behind a port mapping written as a string, not a list.
services:
  web:
    image: nginx:1.27
    healthcheck:
      test: [CMD, "true"]
    ports: "80:80"
"""


def shown(doc: str, first_line: str) -> str:
    [block] = [b for b in blocks(PROJECT_DIR / "docs" / doc) if b.language == "" and b.body.startswith(first_line)]
    return block.body.rstrip("\n")


def test_the_configuration_guides_error_is_the_programs() -> None:
    message, registered = deploy_rejected("dev", {"consulServers": 2})
    assert shown("configuration.md", "error: config `orchestration:consulServers`") == f"error: {message}"
    assert registered == []


def test_the_compose_guides_error_is_the_programs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "compose.yaml").write_text(COMPOSE_FILE)
    # composeFile is relative to the folder pulumi runs in; the file's name is what the error shows.
    project = PROJECT_DIR
    monkeypatch.chdir(tmp_path)
    message, _ = deploy_rejected("dev", {"composeFile": "compose.yaml", "webPort": 5001})
    monkeypatch.chdir(project)
    assert shown("compose.md", "error: config `orchestration:composeFile`") == f"error: {message}"


def config_blocks(doc: str) -> list[dict]:
    """The stack-file settings a guide shows (```yaml), as a stack's config."""
    return [
        {key.split(":", 1)[1]: value for key, value in yaml.safe_load(b.body).items()}
        for b in blocks(PROJECT_DIR / "docs" / doc)
        if b.language == "yaml"
    ]


def test_the_swarm_guides_settings_are_taken_as_written() -> None:
    """docs/swarm.md's settings, pasted into the stacks they are for: the cluster's, then dev's composeWeb."""
    cluster_settings, dev_settings = config_blocks("swarm.md")
    cluster = deploy("cluster", cluster_settings)
    web = cluster.one(SERVICE, "service-web-service").inputs
    assert web["name"] == "cluster-web" and web["mode"]["replicated"]["replicas"] == 3
    assert [(p["publishedPort"], p["targetPort"]) for p in web["endpointSpec"]["ports"]] == [(8090, 8000)]
    heyworld = cluster.one(SERVICE, "heyworld-service").inputs["taskSpec"]["placement"]
    assert heyworld["constraints"] == ["node.labels.zone!=c"]
    dev = deploy("dev", dev_settings)
    assert dev.one(SERVICE, "compose-web-service").inputs["mode"]["replicated"]["replicas"] == 3


def test_the_sandbox_guides_five_hosts_are_taken_as_written() -> None:
    """docs/sandbox.md's five hosts and their roles, in the sandbox stack's file."""
    [settings] = config_blocks("sandbox.md")
    sandbox = deploy("sandbox", settings)
    assert [h["name"] for h in sandbox.outputs["hosts"]] == ["larry", "curly", "moe", "shemp", "joe"]
    roles = {h["name"]: sorted(h["roles"]) for h in sandbox.outputs["hosts"]}
    assert roles == {name: sorted(given) for name, given in settings["sandboxRoles"].items()}
