"""Where a credential would reach `pulumi up`'s output or the state in plain text.

The engine stores every resource's inputs and outputs; only the properties marked
secret (additionalSecretOutputs, or fed from a secret) are encrypted. A
pulumi-command Command also logs what it prints, by its `logging` input (both
streams unless told otherwise), whether or not those outputs are secret.
"""
from __future__ import annotations

import json
from typing import Iterable

from .state import ResourceRecord

COMMAND_TYPES = ("command:local:Command", "command:remote:Command")
LOGGED_STREAMS = {"stdoutAndStderr": ("stdout", "stderr"), "stdout": ("stdout",), "stderr": ("stderr",), "none": ()}


def plaintext_exposures(records: Iterable[ResourceRecord], credentials: Iterable[str]) -> list[str]:
    """`<resource>: <where>` for every place a credential appears unencrypted; empty when none does."""
    needles = [credential for credential in credentials if credential]
    found = []
    for record in records:
        if _holds(record.id, needles):
            found.append(f"{record.type} {record.name}: its id, which the state never encrypts")
        for kind, properties in (("input", record.inputs), ("output", record.outputs)):
            for key, value in properties.items():
                if key not in record.secret_outputs and _holds(value, needles):
                    found.append(f"{record.type} {record.name}: {kind} `{key}` in plain text in the state")
        if record.type in COMMAND_TYPES:
            for stream in LOGGED_STREAMS[record.inputs.get("logging") or "stdoutAndStderr"]:
                if _holds(record.outputs.get(stream), needles):
                    found.append(f"{record.type} {record.name}: logged on {stream}")
    return found


def _holds(value: object, needles: list[str]) -> bool:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return any(needle in text for needle in needles)


def private_key_line(pem: str) -> str:
    """What gives a PEM private key away, wherever it is stored (JSON-escaped too): its first base64 line,
    which holds the private part. The later lines of an EC key hold its public key, which is public."""
    return next(line for line in pem.splitlines() if line and not line.startswith("-----"))
