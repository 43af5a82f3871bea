"""Credentials for an image registry, shared by the components that push or pull."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi


@dataclass(frozen=True)
class RegistryLogin:
    """Where an image registry is, and the login to it when it needs one."""

    server: str
    """host[:port] of the registry."""
    username: Optional[str] = None
    password: Optional[pulumi.Input[str]] = None
