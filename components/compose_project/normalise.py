"""The file as Docker Compose itself reads it: `docker compose config --format json` interpolates it
(shell variables, `.env`), resolves `extends`, `include`, profiles, anchors and merge keys, fills in
Compose's defaults and checks it against the Compose Specification. Its errors, which name a key but no
line, are pointed back at the file's line here."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path as FilePath
from typing import Any, Mapping, Optional

from components.compose_project.source import ComposeFileError, Path, Source, dotted

COMPOSE_BIN = "COMPOSE_BIN"
# What the subprocess gets besides the variables: where to find helpers, and what `~` means.
_INHERITED = ("PATH", "HOME")
_WARNING = re.compile(r'level=warning msg="((?:[^"\\]|\\.)*)"')
_ERROR_PREFIXES = (
    re.compile(r"^validating [^:]+: "),
    re.compile(r"^error while interpolating "),
    re.compile(r"^decoding failed due to the following error\(s\): "),
)
_TOP_LEVEL = ("services", "networks", "volumes", "secrets", "configs")
# compose-go's ways of naming a key: `services.web.ports.[].target`, `'services[web].healthcheck.interval'`, `service "web"`.
_DOTTED = re.compile(r"\b((?:%s)(?:\.(?:\[\]|[A-Za-z0-9_.-]*[A-Za-z0-9_-]))+)" % "|".join(_TOP_LEVEL))
_BRACKETED = re.compile(r"\b(%s)\[([^\]]+)\]((?:\.[A-Za-z0-9_-]+)*)" % "|".join(_TOP_LEVEL))
_SERVICE = re.compile(r'\bservice (?:"([^"]+)"|([A-Za-z0-9_.-]+) declares)')
_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# What a `service "web"` message is about, by its words: where in the service to point.
_SERVICE_KEYS = (
    (re.compile(r'depends on undefined service "?([^":\s]+)'), "depends_on"),
    (re.compile(r"undefined volume"), "volumes"),
    (re.compile(r"undefined network \"?([^\":\s]+)"), "networks"),
    (re.compile(r"undefined secret"), "secrets"),
    (re.compile(r"undefined config"), "configs"),
    (re.compile(r"distinct values on '([^']+)'"), None),
    (re.compile(r"`network_mode` and `networks`"), "network_mode"),
)
_UNEXPECTED = re.compile(r"additional propert(?:y|ies) '([^']+)'")


def compose_command() -> list[str]:
    """Docker Compose v2: $COMPOSE_BIN, else `docker-compose`, else the `docker compose` plugin."""
    given = os.environ.get(COMPOSE_BIN)
    if given:
        return [given]
    standalone = shutil.which("docker-compose")
    if standalone:
        return [standalone]
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    raise ComposeFileError(
        "reading a compose file needs Docker Compose v2, which none of $COMPOSE_BIN, `docker-compose` or `docker compose` "
        "gives here: install the Compose plugin, or set COMPOSE_BIN to a docker-compose binary"
    )


def compose_config(path: FilePath, variables: Mapping[str, str], project_name: Optional[str], source: Source) -> tuple[dict, list[str]]:
    """Compose's normalised project and its warnings. Compose sees only `variables` (and PATH, HOME), so a
    plan does not depend on the shell it runs in."""
    command = _command(path, variables, project_name) + ["--format", "json"]
    try:
        result = subprocess.run(command, cwd=path.parent, env=_environment(variables), capture_output=True, text=True, timeout=120)
    except OSError as error:
        raise ComposeFileError(f"{source.filename}: cannot run Docker Compose ({command[0]}): {error.strerror}") from None
    warnings = [_unquote(match) for match in _WARNING.findall(result.stderr)]
    if result.returncode != 0:
        raise compose_error(_error_text(result.stderr), source)
    return _unescape(json.loads(result.stdout)), warnings


def project_environment(path: FilePath, variables: Mapping[str, str], project_name: Optional[str], wanted: set[str]) -> dict[str, str]:
    """The `wanted` variables as Compose's project sees them: `variables`, else the `.env` beside the file."""
    missing = wanted - set(variables)
    if not missing:
        return dict(variables)
    listed = subprocess.run(
        _command(path, variables, project_name) + ["--environment"], cwd=path.parent, env=_environment(variables),
        capture_output=True, text=True, timeout=120,
    ).stdout
    found = dict(variables)
    # `KEY=VALUE` lines sorted by key; a value may run on over lines of its own (a certificate, a key).
    current: Optional[str] = None
    for line in listed.splitlines():
        key, equals, value = line.partition("=")
        if equals and _VARIABLE.match(key) and (current is None or key > current):
            current = key
            if key in missing:
                found[key] = value
        elif current in missing:
            found[current] += "\n" + line
    return found


def compose_error(message: str, source: Source) -> ComposeFileError:
    """Compose's message at the line of the key it names, in this package's one-line form."""
    message = " ".join(line.strip() for line in message.splitlines() if line.strip())
    for prefix in _ERROR_PREFIXES:
        message = prefix.sub("", message)
    path = key_path(message)
    if path is None:
        return ComposeFileError(f"{source.filename}: {message} (Docker Compose)")
    # The key, which the form below names already.
    message = re.sub(r"^(?:'(?:%s)[^']*' |(?:%s)[^\s:]*: )" % ("|".join(_TOP_LEVEL), "|".join(_TOP_LEVEL)), "", message)
    return ComposeFileError(f"{source.filename}:{source.line(path)}: `{dotted(path)}`: {message} (Docker Compose)")


def key_path(message: str) -> Optional[Path]:
    """The key a compose-go message names, as a path into the file."""
    path: Optional[Path] = None
    bracketed, dotted_match = _BRACKETED.search(message), _DOTTED.search(message)
    if bracketed:
        path = (bracketed.group(1), bracketed.group(2)) + tuple(part for part in bracketed.group(3).split(".") if part)
    elif dotted_match:
        path = tuple(_part(part) for part in dotted_match.group(1).split(".") if part and part != "[]")
    else:
        service = _SERVICE.search(message)
        if service:
            path = ("services", service.group(1) or service.group(2))
    if path is not None and len(path) == 2 and path[0] == "services":
        for pattern, key in _SERVICE_KEYS:
            found = pattern.search(message)
            if found:
                path += ((key,) if key else ()) + found.groups()
                break
    unexpected = _UNEXPECTED.search(message)
    if path is not None and unexpected:
        path += (unexpected.group(1).split("'")[0].split(",")[0].strip(),)
    return path


def _command(path: FilePath, variables: Mapping[str, str], project_name: Optional[str]) -> list[str]:
    return compose_command() + ["-f", str(path)] + (["-p", project_name] if project_name else []) + ["config"]


def _environment(variables: Mapping[str, str]) -> dict[str, str]:
    environment = {key: os.environ[key] for key in _INHERITED if key in os.environ}
    environment.update(variables)
    return environment


def _part(text: str) -> Any:
    return int(text) if text.isdigit() else text


def _error_text(stderr: str) -> str:
    # Compose logs warnings before its error; the error is what is left.
    lines = [line for line in stderr.splitlines() if not _WARNING.search(line)]
    return "\n".join(lines).strip() or stderr.strip()


def _unquote(text: str) -> str:
    return text.replace('\\"', '"').replace("\\\\", "\\")


def _unescape(value: Any) -> Any:
    """Compose writes a literal `$` as `$$`, so that its output reads back the same: the value is `$`."""
    if isinstance(value, str):
        return value.replace("$$", "$")
    if isinstance(value, dict):
        return {key: _unescape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_unescape(item) for item in value]
    return value
