"""The Pulumi CLI `make up` runs: the one on PATH, else one installed into the project (.pulumi-cli).

Installs, when there is none, the CLI version of the Python SDK that requirements.txt brought, with
Pulumi's own installer (the Automation API's PulumiCommand.install). Where that download fails, it
says so in one line and exits 1. Prints the CLI's path.
"""
from __future__ import annotations

import importlib.metadata
import os
import shutil
import sys
from pathlib import Path

INSTALL_ROOT = Path(os.environ.get("ORCH_PULUMI_CLI_ROOT") or Path(__file__).resolve().parents[1] / ".pulumi-cli")


def main() -> int:
    installed = INSTALL_ROOT / "bin" / "pulumi"
    found = shutil.which("pulumi") or (str(installed) if installed.is_file() else None)
    if found:
        print(found)
        return 0
    version = importlib.metadata.version("pulumi")
    try:
        from pulumi.automation import PulumiCommand
        from semver import VersionInfo

        command = PulumiCommand.install(root=str(INSTALL_ROOT), version=VersionInfo.parse(version))
    except Exception as error:  # noqa: BLE001 - any failure means the same to the user: no CLI
        reason = getattr(error, "reason", None) or error
        print(
            f"make up: no Pulumi CLI on PATH, and downloading Pulumi {version} failed ({reason}); "
            "install it (https://www.pulumi.com/docs/install/) and run make up again",
            file=sys.stderr,
        )
        return 1
    print(command.command)
    return 0


if __name__ == "__main__":
    sys.exit(main())
