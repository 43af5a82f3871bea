"""docs/reuse.md's five-servers block as pasted, with the real CLI, in a copy of the checkout (its own file
backend): the example's virtualenv, the worker image, `pulumi stack init demo && pulumi up`, the guide's curl
checked as through the harness (test_five_servers_example.py); then a preview that must propose nothing and
a destroy leaving nothing. Skips, with the reason, where the real toolchain is not on PATH."""
from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import pytest
import yaml

from tests.harness.engine import objects_named_with
from tests.harness.local_images import BASE_IMAGE, build_consul_image, require_base_image

from .doc_runner import real_cli_shell
from .real_pulumi import skip_without_toolchain
from .support import phase, project_copy
from .test_five_servers_example import MACHINE, WORKER_IMAGE, the_doc_block, untag_worker_image

pytestmark = pytest.mark.docker


def test_the_guide_block_as_pasted_then_a_clean_preview_and_a_destroy_leaving_nothing(engine) -> None:
    skip_without_toolchain()
    require_base_image(engine)
    build_consul_image(engine)
    worker_image_existed = bool(engine.images.list(name=WORKER_IMAGE))
    swarm_was_active = engine.info()["Swarm"]["LocalNodeState"] == "active"
    with tempfile.TemporaryDirectory(prefix="orchestration-five-real-") as folder:
        copy = project_copy(Path(folder) / "project")
        example = copy / "examples" / "five-servers"
        (Path(folder) / "state").mkdir()
        # This machine's stand-in images, in the stack's file before `stack init` (which keeps them), as the
        # guide says to `pulumi config set` them where no registry is reachable.
        (example / "Pulumi.demo.yaml").write_text(yaml.safe_dump({"config": {f"five-servers:{key}": value for key, value in MACHINE.items()}}))
        environment = {
            **os.environ,
            "BASE_IMAGE": BASE_IMAGE,
            "PULUMI_BACKEND_URL": f"file://{Path(folder) / 'state'}",
            "PULUMI_CONFIG_PASSPHRASE": "",
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_IGNORE_AMBIENT_PLUGINS": "true",
        }
        shell = real_cli_shell(copy, environment)
        try:
            with phase("real: docs/reuse.md's five-servers block as pasted (venv, image, up, curl)"):
                the_doc_block(shell)
            with phase("real: five-servers preview"):
                shell.run("pulumi preview --expect-no-changes --diff")
            with phase("real: five-servers destroy"):
                shell.run("pulumi destroy --yes")
            assert objects_named_with(engine, "five-demo-") == {"services": [], "containers": [], "networks": [], "volumes": []}
            if not swarm_was_active:
                assert engine.info()["Swarm"]["LocalNodeState"] == "inactive"
        finally:
            subprocess.run(["pulumi", "destroy", "--yes", "--stack", "demo"], cwd=example, env=environment, capture_output=True, check=False)
            untag_worker_image(engine, worker_image_existed)
