"""The Docker Compose binary tests read compose files with: $COMPOSE_BIN (CI sets it), else the one .ci/compose.sh caches."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

COMPOSE_VERSION = "2.40.3"
CACHED = Path(os.environ.get("ORCH_CACHE", Path.home() / ".cache" / "orchestration")) / f"docker-compose-{COMPOSE_VERSION}"


def compose_binary() -> Optional[str]:
    path = os.environ.get("COMPOSE_BIN") or str(CACHED)
    return path if os.access(path, os.X_OK) else None


def use_compose_binary() -> None:
    """ComposeProject reads a file through `docker compose config`: the program finds the binary by $COMPOSE_BIN."""
    binary = compose_binary()
    if binary:
        os.environ["COMPOSE_BIN"] = binary
