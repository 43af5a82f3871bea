"""A container's `NAME=value` environment entries."""
from __future__ import annotations

import pulumi


def env_entry(name: str, value: pulumi.Input[str]) -> pulumi.Input[str]:
    """`NAME=value`, a plain string when the value is one.

    An Output only where the value is one (a token, an address known after a create): every
    Output is an asyncio task and futures the SDK resolves, which adds up over hundreds of containers.
    """
    return f"{name}={value}" if isinstance(value, str) else pulumi.Output.concat(f"{name}=", value)
