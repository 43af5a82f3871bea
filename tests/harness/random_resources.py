"""pulumi-random's RandomPassword, generated as terraform-provider-random does.

Its character set is the enabled classes (upper, lower, numeric, then `overrideSpecial` or the
default specials), the `min*` counts drawn first from their class, the rest from the whole set,
then shuffled; `result` and `bcryptHash` are secret and its id is "none". Every input
(`keepers` included) forces a new password. Only RandomPassword: RandomBytes, RandomId and
RandomUuid carry their value in their id, which the engine stores in plain text.
"""
from __future__ import annotations

import secrets
from typing import Any

import bcrypt

from .base import HarnessError, ResourceContext, ResourceHandler
from .state import ResourceRecord

UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
LOWER = "abcdefghijklmnopqrstuvwxyz"
NUMERIC = "0123456789"
DEFAULT_SPECIAL = "!@#$%&*()-_=+[]{}<>:?"
DEFAULTS = {
    "lower": True, "upper": True, "numeric": True, "special": True,
    "minLower": 0, "minUpper": 0, "minNumeric": 0, "minSpecial": 0,
}


class RandomPassword(ResourceHandler):
    type_token = "random:index/randomPassword:RandomPassword"

    def create(self, ctx: ResourceContext) -> tuple[str, dict[str, Any]]:
        settings = {**DEFAULTS, **{key: value for key, value in ctx.inputs.items() if value is not None}}
        length = int(settings["length"])
        special = settings.get("overrideSpecial") or DEFAULT_SPECIAL
        classes = [
            (UPPER, settings["upper"], settings["minUpper"]),
            (LOWER, settings["lower"], settings["minLower"]),
            (NUMERIC, settings["numeric"], settings["minNumeric"]),
            (special, settings["special"], settings["minSpecial"]),
        ]
        alphabet = "".join(chars for chars, enabled, _ in classes if enabled)
        if not alphabet:
            raise HarnessError(f"random password {ctx.name}: the character set specified is empty")
        drawn = [secrets.choice(chars) for chars, _, minimum in classes for _ in range(int(minimum))]
        drawn += [secrets.choice(alphabet) for _ in range(length - len(drawn))]
        result = "".join(secrets.SystemRandom().sample(drawn, len(drawn)))
        bcrypt_hash = bcrypt.hashpw(result.encode(), bcrypt.gensalt()).decode()
        return "none", {**settings, "number": settings["numeric"], "result": result, "bcryptHash": bcrypt_hash}

    def delete(self, ctx: ResourceContext, record: ResourceRecord) -> None:
        pass  # nothing exists outside the state


HANDLERS = [RandomPassword()]
