"""The pull-request workflow: every stack previewed, every action pinned to a version (actionlint runs in .ci/run)."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

PROJECT_DIR = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((PROJECT_DIR / ".github" / "workflows").glob("*.yml"))
# A full version (v1.2.3) or a commit SHA: a moving tag like v4 or main could change under us.
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@(v\d+\.\d+\.\d+|[0-9a-f]{40})$")


def test_every_stack_file_is_previewed_and_nothing_else() -> None:
    preview = yaml.safe_load((PROJECT_DIR / ".github" / "workflows" / "preview.yml").read_text())
    stacks = sorted(path.name.removeprefix("Pulumi.").removesuffix(".yaml") for path in PROJECT_DIR.glob("Pulumi.*.yaml"))
    assert sorted(preview["jobs"]["preview"]["strategy"]["matrix"]["stack"]) == stacks


def test_every_action_is_pinned_to_a_version() -> None:
    assert WORKFLOWS
    for workflow in WORKFLOWS:
        for job in yaml.safe_load(workflow.read_text())["jobs"].values():
            for step in job.get("steps", []):
                if "uses" in step:
                    assert PINNED.match(step["uses"]), f"{workflow.name}: {step['uses']} is not pinned to a version"


def test_previews_post_one_comment_per_stack_and_edit_it() -> None:
    preview = yaml.safe_load((PROJECT_DIR / ".github" / "workflows" / "preview.yml").read_text())
    pulumi = next(step for step in preview["jobs"]["preview"]["steps"] if step.get("uses", "").startswith("pulumi/actions@"))
    assert pulumi["with"]["command"] == "preview"
    assert pulumi["with"]["diff"] is True and pulumi["with"]["comment-on-pr"] is True and pulumi["with"]["edit-pr-comment"] is True
    # The backend comes from the repository's settings, through the variable that wins over Pulumi.yaml's.
    assert preview["jobs"]["preview"]["env"]["PULUMI_BACKEND_URL"] == "${{ vars.PULUMI_BACKEND_URL }}"


def test_the_policy_pack_runs_under_mocks_and_on_every_preview_with_its_stacks_config() -> None:
    preview = yaml.safe_load((PROJECT_DIR / ".github" / "workflows" / "preview.yml").read_text())
    assert {"name": "Policy pack over every stack's graph under mocks", "run": "make policy"} in preview["jobs"]["unit"]["steps"]
    pulumi = next(step for step in preview["jobs"]["preview"]["steps"] if step.get("uses", "").startswith("pulumi/actions@"))
    assert pulumi["with"]["policyPacks"] == "policy"
    assert pulumi["with"]["policyPackConfigs"] == "policy/config/${{ matrix.stack }}.json"
    for stack in preview["jobs"]["preview"]["strategy"]["matrix"]["stack"]:
        assert (PROJECT_DIR / "policy" / "config" / f"{stack}.json").is_file(), stack
    installs = [step["run"] for step in preview["jobs"]["preview"]["steps"] if "pip install" in step.get("run", "")]
    assert installs and all("-r policy/requirements.txt" in run for run in installs)
