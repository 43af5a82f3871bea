"""`pulumi stack output` over a stack the harness applied, printed as the CLI prints it, so a doc's command
that reads an output runs as pasted: `install` puts a `pulumi` on a PATH that serves `stack output` and
refuses every other command (those run through the real CLI's tests).

As the CLI (3.277): a string prints as it is, any other value as compact JSON; `--json` prints indented
JSON; a map's keys sorted at every depth and text not escaped (Go's encoding of its maps); a secret prints
`[secret]` unless `--show-secrets`; an output the stack lacks is an error naming it, exit 1.
tests/e2e/test_stack_output_real_pulumi.py holds this to the real CLI.
"""
from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path
from typing import Any, Mapping

OUTPUTS_FILE = "ORCH_HARNESS_STACK_OUTPUTS"


def install(bin_dir: Path, stack: str, outputs: Mapping[str, Any], secret: frozenset[str] | set[str]) -> dict[str, str]:
    """Writes the stack's outputs and a `pulumi` into `bin_dir`; returns the environment that uses them."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    data = bin_dir / "stack-outputs.json"
    data.write_text(json.dumps({"stack": stack, "outputs": dict(outputs), "secret": sorted(secret)}))
    wrapper = bin_dir / "pulumi"
    project = Path(__file__).resolve().parents[2]
    wrapper.write_text(f'#!/bin/sh\ncd "{project}" && exec "{sys.executable}" -m tests.harness.stack_output "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return {OUTPUTS_FILE: str(data), "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}"}


def stack_output(stack: str, outputs: Mapping[str, Any], secret: set[str], arguments: list[str]) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `pulumi <arguments>`."""
    if arguments[:2] != ["stack", "output"]:
        return 2, "", f"pulumi {' '.join(arguments)}: the harness serves only `pulumi stack output`; this runs through the real CLI\n"
    names, as_json, show_secrets = [], False, False
    rest = iter(arguments[2:])
    for argument in rest:
        if argument == "--json" or argument == "-j":
            as_json = True
        elif argument == "--show-secrets":
            show_secrets = True
        elif argument in ("--stack", "-s"):
            asked = next(rest, "")
            if asked != stack:
                return 6, "", f"error: no stack named '{asked}' found\n"
        elif argument.startswith("-"):
            return 2, "", f"pulumi stack output: {argument} is not served by the harness\n"
        else:
            names.append(argument)
    shown = {name: "[secret]" if name in secret and not show_secrets else value for name, value in outputs.items()}
    if not names:
        if not as_json:
            return 2, "", "pulumi stack output: the harness prints every output only with --json\n"
        return 0, _json(shown, indent=2) + "\n", ""
    name = names[0]
    if name not in shown:
        return 1, "", f"error: current stack does not have output property '{name}'\n"
    value = shown[name]
    if as_json:
        return 0, _json(value, indent=2) + "\n", ""
    return 0, (value if isinstance(value, str) else _json(value, separators=(",", ":"))) + "\n", ""


def _json(value: Any, **layout: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, **layout)


def main(arguments: list[str]) -> int:
    data = json.loads(Path(os.environ[OUTPUTS_FILE]).read_text())
    code, out, err = stack_output(data["stack"], data["outputs"], set(data["secret"]), arguments)
    sys.stdout.write(out)
    sys.stderr.write(err)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
