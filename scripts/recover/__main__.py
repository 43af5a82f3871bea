"""`python -m scripts.recover --stack dev`: `make recover`, and `make up` before every `pulumi up`.

Exits 0 when the stack is ready for `pulumi up` (recovered, or nothing to recover: then silently),
1 when something is refused, with what and why on stderr.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .backend import file_backend
from .engine import DockerEngine
from .errors import RecoveryError
from .pulumi_cli import PulumiCli
from .recovery import recover

PROJECT_DIR = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make recover", description="Recover a stack after a killed pulumi up.")
    parser.add_argument("--stack", required=True)
    parser.add_argument("--cwd", type=Path, default=PROJECT_DIR, help="the Pulumi project (default: this one)")
    arguments = parser.parse_args(argv)
    project_dir = arguments.cwd.resolve()
    try:
        outcome = recover(arguments.stack, file_backend(project_dir), PulumiCli(arguments.stack, project_dir), DockerEngine)
    except RecoveryError as error:
        print(f"recover: {error}", file=sys.stderr)
        return 1
    for line in outcome.done:
        print(f"recover: {line}")
    for line in outcome.refused:
        print(f"recover: {line}", file=sys.stderr)
    return 1 if outcome.refused else 0


if __name__ == "__main__":
    sys.exit(main())
