"""The model of each test compose file against Docker Compose's own reading of it (`docker compose config
--format json`, which needs no engine): container names, images, commands, environment, ports, mounts,
networks and aliases, health checks, secrets and configs, limits, dependencies, labels and run options must
be what `docker compose up` makes of the file. The files: ours, one per group of keys, and the corpus of real
projects' files (tests/data/compose/corpus, each repository's license and origin beside its files), every one
of which Compose accepts and ComposeProject must declare, or refuse for a limit of pulumi-docker that
docs/compose.md lists. Skipped without a Compose binary ($COMPOSE_BIN, else the one .ci/compose.sh caches);
CI sets COMPOSE_BIN."""
from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any, Optional

import pytest

from components.compose_project import ComposeFileError, load_project
from components.compose_project.files import BASE_DIRECTORY, DEFAULT_MODE
from components.compose_project.model import RESTART_CONDITIONS, Project, Service
from tests.support.compose import CACHED, compose_binary as found_compose_binary

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "compose"
CORPUS = DATA / "corpus"
# Corpus file (under CORPUS) -> the variables it needs, as its project's README asks them to be set.
CORPUS_FILES: dict[str, dict[str, str]] = json.loads((CORPUS / "corpus.json").read_text())
# Why a corpus file Compose accepts may be refused: what pulumi-docker cannot declare (docs/compose.md lists each).
PULUMI_DOCKER_LIMITS = ("pulumi-docker's Container has no input for", "pulumi-docker's Image build has no pull option")
# Per file, the variables both readers get.
CASES: dict[str, dict[str, str]] = {
    "keys": {"API_TOKEN": "token-from-the-shell", "MOTD": "welcome"},
    "deploy": {"API_REPLICAS": "2"},
    "db-volume": {"WEB_PORT": "18000"},
    "networks": {},
    "names": {},
    "limits": {},
    "reuse": {"LOG_LEVEL": "debug"},
    "pulls": {},
    "secrets-engine": {"API_TOKEN": "not-a-real-token", "MOTD": "hello from the environment"},
}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?)(ms|s|m|h)")
_SECONDS = {"ms": 1e-3, "s": 1, "m": 60, "h": 3600}


def compose_binary() -> str:
    path = found_compose_binary()
    if path is None:
        pytest.skip(f"no Docker Compose binary: COMPOSE_BIN is not set and {CACHED} is not built (bash .ci/compose.sh builds it)")
    return path


def compose_config(file: Path, variables: dict[str, str]) -> dict[str, Any]:
    # Only the given variables, as the model sees them: nothing from this shell's environment.
    environment = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", ""), **variables}
    result = subprocess.run(
        [compose_binary(), "-f", str(file), "config", "--format", "json"], cwd=file.parent, env=environment, capture_output=True, text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return _unescaped(json.loads(result.stdout))


def _unescaped(value: Any) -> Any:
    # Compose writes a literal `$` as `$$`.
    if isinstance(value, str):
        return value.replace("$$", "$")
    if isinstance(value, dict):
        return {key: _unescaped(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_unescaped(item) for item in value]
    return value


def seconds(duration: str) -> int:
    return int(sum(float(number) * _SECONDS[unit] for number, unit in _DURATION_PART.findall(duration)))


def theirs(project: dict[str, Any], name: str, spec: dict[str, Any]) -> dict[str, Any]:
    """What `docker compose up` makes of one service, from Compose's normalized JSON."""
    deploy = spec.get("deploy") or {}
    resources = deploy.get("resources") or {}
    limits, reservations = resources.get("limits") or {}, resources.get("reservations") or {}
    replicas = deploy.get("replicas", spec.get("scale", 1))
    logging = spec.get("logging") or {}
    memory = spec.get("mem_limit", limits.get("memory"))
    reservation = spec.get("mem_reservation", reservations.get("memory"))
    cpus = spec.get("cpus", limits.get("cpus"))
    policy = deploy.get("restart_policy") or {}
    if "condition" in policy or "max_attempts" in policy:
        # compose's getRestartPolicy: `deploy.restart_policy` wins over `restart`; the engine counts attempts for on-failure only.
        condition = RESTART_CONDITIONS[policy.get("condition", "any")]
        restart = (condition, policy.get("max_attempts") if condition == "on-failure" else None)
    elif "restart" in spec:
        kind, _, count = spec["restart"].partition(":")
        restart = (kind, int(count) if count else None)
    else:
        restart = (None, None)
    health = spec.get("healthcheck")
    depends_on = {
        dependency: (condition["condition"], bool(condition.get("restart")))
        for dependency, condition in (spec.get("depends_on") or {}).items()
        if dependency in project["services"] or condition.get("required", True)
    }
    fields = {
        "container names": [spec["container_name"]] if "container_name" in spec else [f"{project['name']}-{name}-{n}" for n in range(1, replicas + 1)],
        "image": spec.get("image"),
        "command": spec.get("command"),
        "entrypoint": spec.get("entrypoint"),
        "environment": {key: value for key, value in (spec.get("environment") or {}).items() if value is not None},
        "ports": sorted((p["target"], int(p["published"]) if p.get("published") else None, p.get("host_ip"), p["protocol"]) for p in spec.get("ports") or []),
        "mounts": [
            (m["type"], m["target"], m.get("source"), bool(m.get("read_only")), (m.get("bind") or {}).get("propagation"),
             int(m["tmpfs"]["size"]) if "size" in (m.get("tmpfs") or {}) else None, bool((m.get("volume") or {}).get("nocopy")),
             (m.get("volume") or {}).get("subpath"))
            for m in spec.get("volumes") or []
        ],
        "volumes_from": spec.get("volumes_from", []),
        "healthcheck": None if health is None else ("NONE",) if health.get("disable") else (
            tuple(health["test"]), health.get("interval"), health.get("timeout"), health.get("start_period"), health.get("start_interval"),
            health.get("retries"),
        ),
        "restart": restart,
        "files": sorted(file_mount(project, kind, item, spec.get("user")) for kind in ("secrets", "configs") for item in spec.get(kind) or []),
        "memory bytes": int(memory) if memory is not None else None,
        "memory reservation bytes": int(reservation) if reservation is not None else None,
        "cpus": float(cpus) if cpus is not None else None,
        "stop_signal": spec.get("stop_signal"),
        "stop_grace_period": seconds(spec["stop_grace_period"]) if "stop_grace_period" in spec else None,
        "stdin_open": spec.get("stdin_open", False),
        "tty": spec.get("tty", False),
        "platform": spec.get("platform"),
        "cap_add": spec.get("cap_add", []),
        "cap_drop": spec.get("cap_drop", []),
        "sysctls": spec.get("sysctls", {}),
        "ulimits": sorted(
            (limit, value["soft"], value["hard"]) if isinstance(value, dict) else (limit, value, value)
            for limit, value in (spec.get("ulimits") or {}).items()
        ),
        "security_opt": spec.get("security_opt", []),
        "network_mode": spec.get("network_mode"),
        "networks": sorted(
            (key, tuple((value or {}).get("aliases") or ()), (value or {}).get("ipv4_address"), (value or {}).get("ipv6_address"))
            for key, value in (spec.get("networks") or {}).items()
        ),
        "runtime": spec.get("runtime"),
        "init": spec.get("init"),
        "extra_hosts": sorted(tuple(entry.split("=", 1)) for entry in spec.get("extra_hosts") or []),
        "dns": spec.get("dns", []),
        "tmpfs": spec.get("tmpfs", []),
        "shm_size bytes": int(spec["shm_size"]) if "shm_size" in spec else None,
        "logging": (logging.get("driver"), logging.get("options") or {}),
        "user": spec.get("user"),
        "working_dir": spec.get("working_dir"),
        "labels": spec.get("labels") or {},
        "depends_on": depends_on,
        "privileged": spec.get("privileged", False),
        "read_only": spec.get("read_only", False),
        "dns_search": spec.get("dns_search", []),
        "dns_opt": spec.get("dns_opt", []),
        "domainname": spec.get("domainname"),
        "group_add": spec.get("group_add", []),
        "pid": spec.get("pid"),
        "ipc": spec.get("ipc"),
        "userns_mode": spec.get("userns_mode"),
        "cpu_shares": spec.get("cpu_shares"),
        "cpuset": spec.get("cpuset"),
        "devices": [(d["source"], d["target"], d["permissions"]) for d in spec.get("devices") or []],
    }
    return fields


def file_mount(project: dict[str, Any], kind: str, item: dict[str, Any], user: Optional[str]) -> tuple[Any, ...]:
    """Where `docker compose up` puts a secret or config (compose's injectFileReferences and fillBindMounts)."""
    definition = project[kind][item["source"]]
    target = item.get("target") or item["source"]
    target = target if target.startswith("/") else BASE_DIRECTORY[kind] + target
    if "file" in definition:
        return (kind, target, definition["file"], None, None, None)
    mode = int(item["mode"], 8) if "mode" in item else DEFAULT_MODE
    uid, gid = item.get("uid"), item.get("gid")
    if uid is None and gid is None:
        # compose's createTar writes uid and gid 0, and copyFileToContainer asks for no chown (CopyUIDGID false).
        return (kind, target, None, None, None, mode)
    if user:
        # CopyUIDGID: the engine's tarCopyOptions chown the copy to the container's user, whatever uid and gid say.
        owner, _, group = user.partition(":")
        uid, gid = owner or None, group or None
    return (kind, target, None, uid, gid, mode)


def ours(project: Project, service: Service) -> dict[str, Any]:
    options = service.options
    health = service.healthcheck
    return {
        "container names": list(service.container_names(project.name)),
        "image": service.image,
        "command": list(service.command) if service.command is not None else None,
        "entrypoint": list(service.entrypoint) if service.entrypoint is not None else None,
        "environment": dict(service.environment),
        "ports": sorted((p.target, p.published, p.host_ip, p.protocol) for p in service.ports),
        "mounts": [
            ("tmpfs" if m.tmpfs else "bind" if m.bind else "volume", m.target, m.source, m.read_only, m.propagation, m.size_bytes, m.nocopy,
             m.subpath)
            for m in service.mounts
        ],
        "volumes_from": [
            (source[len("service:"):] if source.startswith("service:") else source) + (":ro" if read_only else "")
            for source, read_only in service.volumes_from
        ],
        "healthcheck": None if health is None else ("NONE",) if health.test == ("NONE",) else (
            health.test, health.interval, health.timeout, health.start_period, health.start_interval, health.retries,
        ),
        "restart": (service.restart, service.max_retry_count),
        "files": sorted(
            (m.kind, m.target, m.file, None, None, None) if m.file else (m.kind, m.target, None, m.uid, m.gid, m.mode) for m in service.files
        ),
        "memory bytes": _bytes(service.memory_mb),
        "memory reservation bytes": _bytes(service.memory_reservation_mb),
        "cpus": float(service.cpus) if service.cpus is not None else None,
        "stop_signal": options.stop_signal,
        "stop_grace_period": service.stop_grace_seconds,
        "stdin_open": options.stdin_open,
        "tty": options.tty,
        "platform": options.platform,
        "cap_add": list(options.cap_add),
        "cap_drop": list(options.cap_drop),
        "sysctls": dict(options.sysctls),
        "ulimits": sorted((limit.name, limit.soft, limit.hard) for limit in options.ulimits),
        "security_opt": list(options.security_opt),
        "network_mode": options.network_mode,
        "networks": sorted(
            (key, aliases, *service.addresses.get(key, (None, None))) for key, aliases in service.networks.items()
        ),
        "runtime": options.runtime,
        "init": options.init,
        "extra_hosts": sorted(options.extra_hosts),
        "dns": list(service.dns),
        "tmpfs": [f"{path}:{mount}" if mount else path for path, mount in options.tmpfs.items()],
        "shm_size bytes": _bytes(options.shm_size_mb),
        "logging": (options.log_driver, dict(options.log_options)),
        "user": service.user,
        "working_dir": service.working_dir,
        "labels": dict(service.labels),
        "depends_on": {
            dependency: (condition, dependency in service.restarted_with) for dependency, condition in service.depends_on.items()
        },
        "privileged": options.privileged,
        "read_only": options.read_only,
        "dns_search": list(options.dns_search),
        "dns_opt": list(options.dns_opt),
        "domainname": options.domainname,
        "group_add": list(options.group_add),
        "pid": options.pid,
        "ipc": options.ipc,
        "userns_mode": options.userns_mode,
        "cpu_shares": options.cpu_shares,
        "cpuset": options.cpuset,
        "devices": [(d.source, d.target, d.permissions) for d in options.devices],
    }


def _bytes(megabytes: Optional[int]) -> Optional[int]:
    return megabytes * 1024**2 if megabytes is not None else None


def differences(file: Path, variables: dict[str, str]) -> list[str]:
    reference = compose_config(file, variables)
    project = load_project(str(file), variables)
    assert project.name == reference["name"]
    assert sorted(service.name for service in project.services) == sorted(reference["services"])
    found: list[str] = []
    for service in project.services:
        expected, actual = theirs(reference, service.name, reference["services"][service.name]), ours(project, service)
        found += [f"{service.name}.{key}: compose {expected[key]!r}, ours {actual[key]!r}" for key in expected if expected[key] != actual[key]]
    return found


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_model_is_what_docker_compose_makes_of_the_file(case: str) -> None:
    assert differences(DATA / case / "compose.yaml", CASES[case]) == []


@pytest.mark.parametrize("file", sorted(CORPUS_FILES))
def test_a_real_project_s_file_is_declared_as_docker_compose_makes_it_or_refused_for_a_pulumi_docker_limit(file: str) -> None:
    try:
        found = differences(CORPUS / file, CORPUS_FILES[file])
    except ComposeFileError as error:
        refusals = str(error).splitlines()
        # A file may be refused only for what pulumi-docker cannot declare: every line says so.
        assert all(any(limit in line for limit in PULUMI_DOCKER_LIMITS) for line in refusals[1:] or refusals), str(error)
        return
    assert found == []


def test_the_corpus_holds_real_projects_files_with_their_license_and_origin() -> None:
    repositories = {file.split("/")[0] for file in CORPUS_FILES}
    assert len(CORPUS_FILES) >= 40 and len(repositories) >= 15
    for repository in repositories:
        origin = (CORPUS / repository / "ORIGIN.md").read_text()
        owner, name = repository.split("+")
        assert f"https://github.com/{owner}/{name} at commit `" in origin
        assert any(path.name.lower().startswith(("license", "copying")) for path in (CORPUS / repository).iterdir()), repository
        assert all(f"`{file.split('/', 1)[1]}`" in origin for file in CORPUS_FILES if file.startswith(repository + "/"))


def test_every_key_the_comparison_reads_is_set_by_one_of_our_files() -> None:
    """Our files set each key the comparison reads, so a key the model misreads cannot hide behind a default."""
    set_somewhere = {
        key
        for case, variables in CASES.items()
        for reference in [compose_config(DATA / case / "compose.yaml", variables)]
        for name, spec in reference["services"].items()
        for key, value in theirs(reference, name, spec).items()
        if value not in (None, False, [], {}, (None, {}), (None, None))
    }
    reference = compose_config(DATA / "keys" / "compose.yaml", CASES["keys"])
    assert set(theirs(reference, "db", reference["services"]["db"])) - set_somewhere == set()
