"""Reading a compose file: interpolation, the Compose schema's errors with path and line, unsupported keys."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from components.compose_project import ComposeFileError, load_project

DATA = Path(__file__).resolve().parents[1] / "data" / "compose"


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "compose.yaml"
    path.write_text(textwrap.dedent(text).lstrip())
    return str(path)


def refused(tmp_path: Path, text: str, variables: dict[str, str] | None = None) -> str:
    with pytest.raises(ComposeFileError) as error:
        load_project(write(tmp_path, text), variables or {})
    return str(error.value)


# --------------------------------------------------------------------------- interpolation (Compose's own)


@pytest.mark.parametrize(
    ("text", "variables", "expected"),
    [
        ("${A}", {"A": "x"}, "x"),
        ("$A-$B", {"A": "x", "B": "y"}, "x-y"),
        ("${A:-fallback}", {"A": ""}, "fallback"),
        ("${A-fallback}", {"A": ""}, ""),
        ("${A:-${B:-deep}}", {}, "deep"),
        ("${A+set}", {"A": ""}, "set"),
        # Compose writes a literal `$` back as `$$`: the model holds the `$` itself.
        ("cost: $$5 and $${A}", {"A": "x"}, "cost: $5 and ${A}"),
        ("${A}", {"A": "a$$b"}, "a$$b"),
    ],
)
def test_the_file_is_interpolated_by_compose_and_a_literal_dollar_kept(tmp_path: Path, text: str, variables: dict[str, str], expected: str) -> None:
    file = write(tmp_path, f"services:\n  web:\n    image: nginx\n    environment:\n      VALUE: '{text}'\n")
    assert load_project(file, variables).service("web").environment.get("VALUE", "") == expected


def test_an_unset_variable_is_blank_and_compose_s_warning_passed_on(tmp_path: Path) -> None:
    project = load_project(write(tmp_path, "services:\n  web:\n    image: nginx\n    environment: {A: '${UNSET_A}'}\n"), {})
    assert project.service("web").environment == {"A": ""}
    assert 'The "UNSET_A" variable is not set. Defaulting to a blank string.' in project.warnings


def test_a_required_variable_names_itself_the_file_and_line(tmp_path: Path) -> None:
    message = refused(
        tmp_path,
        """
        services:
          db:
            image: postgres
            environment:
              PASSWORD: ${DB_PASSWORD:?set DB_PASSWORD first}
        """,
    )
    assert message.endswith(
        "compose.yaml:5: `services.db.environment.PASSWORD`: required variable DB_PASSWORD is missing a value: set DB_PASSWORD first (Docker Compose)"
    )


def test_interpolated_numbers_are_cast_as_compose_casts_them(tmp_path: Path) -> None:
    project = load_project(
        write(
            tmp_path,
            """
            services:
              api:
                image: nginx
                ports: [{target: "${TARGET}", published: "${PORT}"}]
                cpus: ${CPUS}
                deploy: {replicas: "${REPLICAS}"}
            """,
        ),
        {"TARGET": "80", "PORT": "18080", "CPUS": "1.5", "REPLICAS": "4"},
    )
    api = project.service("api")
    assert (api.ports[0].target, api.ports[0].published, api.cpus, api.deploy.replicas) == (80, 18080, "1.5", 4)


def test_a_broken_interpolation_is_an_error_at_its_line(tmp_path: Path) -> None:
    message = refused(tmp_path, "services:\n  web:\n    image: ${IMAGE\n")
    assert "compose.yaml:3: `services.web.image`: invalid interpolation format" in message


# --------------------------------------------------------------------------- the schema


def test_a_schema_error_names_the_key_path_and_line(tmp_path: Path) -> None:
    message = refused(
        tmp_path,
        """
        services:
          web:
            image: nginx
            healthcheck:
              test: [CMD, "true"]
            ports: "80:80"
        """,
    )
    assert "compose.yaml:6: `services.web.ports`:" in message
    assert message.endswith("`services.web.ports`: services.web.ports must be a array (Docker Compose)")


def test_a_value_compose_casts_must_cast(tmp_path: Path) -> None:
    message = refused(tmp_path, "services:\n  web:\n    image: nginx\n    healthcheck:\n      retries: many\n")
    assert "compose.yaml:5: `services.web.healthcheck.retries`:" in message and 'parsing "many": invalid syntax' in message


def test_a_key_compose_does_not_know_is_pointed_at(tmp_path: Path) -> None:
    message = refused(tmp_path, "services:\n  web:\n    image: nginx\n    imagee: nginx\n")
    assert message.endswith("compose.yaml:4: `services.web.imagee`: services.web additional properties 'imagee' not allowed (Docker Compose)")


def test_a_duration_is_checked_as_compose_checks_it(tmp_path: Path) -> None:
    message = refused(
        tmp_path, "services:\n  web:\n    image: nginx\n    healthcheck:\n      test: [CMD, \"true\"]\n      interval: 10 seconds\n"
    )
    assert "compose.yaml:6: `services.web.healthcheck.interval`:" in message and "duration" in message


def test_invalid_yaml_says_where(tmp_path: Path) -> None:
    message = refused(tmp_path, "services:\n  web:\n    image: [nginx\n")
    assert "compose.yaml:" in message and "not valid YAML" in message


# --------------------------------------------------------------------------- what is not declared


def test_valid_compose_that_is_not_declared_is_reported_by_name_and_line(tmp_path: Path) -> None:
    message = refused(
        tmp_path,
        """
        x-shared: &shared
          restart: always
        services:
          web:
            <<: *shared
            image: nginx
            pids_limit: 100
            ports:
              - target: 80
                app_protocol: http
            x-note: extensions are ignored, as Compose ignores them
        secrets:
          token:
            file: ./token
            template_driver: golang
        """,
    )
    assert "compose.yaml:7: `services.web.pids_limit`: pulumi-docker's Container has no input for it" in message
    assert "app_protocol" not in message
    assert "x-note" not in message and "x-shared" not in message


def test_a_depends_on_a_missing_service_is_an_error(tmp_path: Path) -> None:
    message = refused(tmp_path, "services:\n  web:\n    image: nginx\n    depends_on: [db]\n")
    assert message.endswith('compose.yaml:4: `services.web.depends_on.db`: service "web" depends on undefined service "db": invalid compose project (Docker Compose)')


def test_waiting_for_health_needs_a_healthcheck(tmp_path: Path) -> None:
    message = refused(
        tmp_path,
        "services:\n  web:\n    image: nginx\n    depends_on:\n      db: {condition: service_healthy}\n  db:\n    image: redis\n",
    )
    assert "compose.yaml:5:" in message and "'db' has no `healthcheck` test" in message


def test_a_dependency_cycle_is_an_error(tmp_path: Path) -> None:
    message = refused(tmp_path, "services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    depends_on: [a]\n")
    assert message.endswith("compose.yaml: dependency cycle detected: a -> b -> a (Docker Compose)")


def test_an_undeclared_volume_is_an_error(tmp_path: Path) -> None:
    message = refused(tmp_path, "services:\n  db:\n    image: redis\n    volumes: [data:/data]\n")
    assert 'compose.yaml:4: `services.db.volumes`: service "db" refers to undefined volume data' in message


# --------------------------------------------------------------------------- forms


def test_short_and_long_forms_read_alike(tmp_path: Path) -> None:
    project = load_project(
        write(
            tmp_path,
            """
            name: Forms Demo!
            services:
              web:
                image: nginx
                command: nginx -g 'daemon off;'
                environment: [A=1, B, C=]
                ports: ["127.0.0.1:8000-8001:80-81/udp", "9000", {target: 443, host_ip: 0.0.0.0}]
                volumes: [data:/data:ro, ./site:/site, /cache, {type: bind, source: /tmp, target: /host-tmp}]
                restart: on-failure:3
                stop_grace_period: 1m30s
                mem_limit: 1g
            volumes:
              data:
                external: true
            """,
        ),
        {"B": "from-env"},
    )
    web = project.service("web")
    assert project.name == "formsdemo"
    assert web.command == ("nginx", "-g", "daemon off;")
    assert dict(web.environment) == {"A": "1", "B": "from-env", "C": ""}
    assert [(p.host_ip, p.published, p.target, p.protocol) for p in web.ports] == [
        ("127.0.0.1", 8000, 80, "udp"), ("127.0.0.1", 8001, 81, "udp"), (None, None, 9000, "tcp"), ("0.0.0.0", None, 443, "tcp"),
    ]
    assert [(m.source, m.target, m.bind, m.read_only) for m in web.mounts] == [
        ("data", "/data", False, True), (str(tmp_path / "site"), "/site", True, False), (None, "/cache", False, False), ("/tmp", "/host-tmp", True, False),
    ]
    assert (web.restart, web.max_retry_count, web.stop_grace_seconds, web.memory_mb) == ("on-failure", 3, 90, 1024)
    assert project.volumes["data"].name == "data"  # external: its own name, not the project's


def test_a_published_range_for_one_port_cannot_be_declared(tmp_path: Path) -> None:
    message = refused(tmp_path, "services:\n  web:\n    image: nginx\n    ports: ['8000-8010:80']\n")
    assert "compose.yaml:4: `services.web.ports[0].published`: a published range '8000-8010' for one target port cannot be declared" in message


def test_zero_sets_no_limit_and_keeps_the_default_which_the_engines_take(tmp_path: Path) -> None:
    project = load_project(
        write(
            tmp_path,
            """
            services:
              web:
                image: nginx
                mem_limit: 0
                cpus: 0
                healthcheck: {test: ["CMD", "true"], interval: "0s"}
                deploy: {resources: {limits: {memory: "0"}}}
            """,
        ),
        {},
    )
    assert project.service("web").memory_mb is None


def test_a_service_reserves_down_to_swarms_minimum_but_limits_only_to_dockers(tmp_path: Path) -> None:
    service = "services:\n  web:\n    image: nginx\n    deploy: {resources: {%s: {memory: 4M}}}\n"
    assert load_project(write(tmp_path, service % "reservations"), {}).service("web").deploy.reservations == {"memory": 4 * 1024**2}
    message = refused(tmp_path, service % "limits")
    assert message.endswith("compose.yaml:4: `services.web.deploy.resources.limits.memory`: 4 MiB is below Docker's minimum of 6 MiB")


@pytest.mark.parametrize("name", ["db-volume", "networks", "deploy"])
def test_the_real_world_files_load(name: str) -> None:
    project = load_project(str(DATA / name / "compose.yaml"), {})
    assert project.services


def test_a_dot_env_beside_the_file_gives_variables_the_callers_override(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("# defaults\nTAG=1.0\nIMAGE=shop/web:${TAG}\nPORT='8000'\n")
    (tmp_path / "web.env").write_text('GREETING="hello ${WHO}"\nexport DEBUG=1\nUNSET_HERE\n')
    file = write(
        tmp_path,
        """
        services:
          web:
            image: ${IMAGE}
            ports: ["${PORT}:80"]
            env_file: [web.env]
        """,
    )
    web = load_project(file, {"PORT": "9000", "WHO": "world", "UNSET_HERE": "from shell"}).service("web")
    assert web.image == "shop/web:1.0"
    assert web.ports[0].published == 9000
    assert dict(web.environment) == {"GREETING": "hello world", "DEBUG": "1", "UNSET_HERE": "from shell"}


def test_a_list_may_give_a_key_twice_as_compose_accepts_the_later_winning(tmp_path: Path) -> None:
    # Two of 156 self-hosted apps' files did; the schema's uniqueItems, which Compose does not enforce, refused them.
    web = load_project(
        write(
            tmp_path,
            """
            services:
              kutt:
                image: kutt/kutt
                environment: [DB_HOST=db, SITE_NAME=Kutt, DB_HOST=postgres, SHELL_ONLY=1, SHELL_ONLY]
                labels: [tier=edge, tier=front]
                dns: [1.1.1.1, 1.1.1.1]
                cap_add: [NET_ADMIN, NET_ADMIN]
            """,
        ),
        {},
    ).service("kutt")
    # A bare key takes the shell's value, here none: as in Compose, it unsets the earlier entry.
    assert dict(web.environment) == {"DB_HOST": "postgres", "SITE_NAME": "Kutt"}
    assert dict(web.labels) == {"tier": "front"}
    assert (web.dns, web.options.cap_add) == (("1.1.1.1",), ("NET_ADMIN",))


def test_what_compose_refuses_is_refused_at_its_line(tmp_path: Path) -> None:
    base = "services:\n  web:\n    image: nginx\n"
    cases = {
        "    container_name: web\n    scale: 2\n": "can't set container_name and web as container name must be unique",
        "    scale: 2\n    deploy: {replicas: 3}\n": "compose.yaml:4: `services.web.scale`: can't set distinct values on 'scale' and 'deploy.replicas'",
        "    mem_limit: 64m\n    deploy: {resources: {limits: {memory: 128M}}}\n": "compose.yaml:4: `services.web.mem_limit`: can't set distinct values",
        "    network_mode: host\n    networks: [default]\n": "compose.yaml:4: `services.web.network_mode`: service web declares mutually exclusive",
        "    network_mode: service:db\n": 'compose.yaml:2: `services.web.depends_on.db`: service "web" depends on undefined service "db"',
        "    network_mode: service:db\n  db:\n    image: redis\n    scale: 0\n": "compose.yaml:4: `services.web.network_mode`: shares "
        "a namespace of 'db', which runs no container (0 replicas)",
        "    secrets: [token]\n": "compose.yaml:4: `services.web.secrets`: service \"web\" refers to undefined secret token",
        "    secrets: [token]\nsecrets:\n  token: {environment: TOKEN}\n": "compose.yaml:6: `secrets.token.environment`: environment variable 'TOKEN'",
        "    secrets: [token]\nsecrets:\n  token: {external: true}\n": "compose.yaml:6: `secrets.token.external`: an external secret exists only on a swarm",
        "    configs: [site]\nconfigs:\n  site: {file: ./missing.conf}\n": "compose.yaml:6: `configs.site.file`: config file",
        "    shm_size: 1000000\n": "compose.yaml:4: `services.web.shm_size`: '1000000' is not a whole number of megabytes",
        "    read_only: true\n    configs: [site]\nconfigs:\n  site: {content: hi}\n": "compose.yaml:4: `services.web.read_only`: "
        "config 'site' is copied in, which a read-only container refuses",
        "    pid: service:db\n": 'compose.yaml:2: `services.web.depends_on.db`: service "web" depends on undefined service "db"',
    }
    for extra, expected in cases.items():
        assert expected in refused(tmp_path, base + extra), extra


def test_a_file_source_is_bind_mounted_and_its_owner_and_mode_warned_as_compose_ignores_them(tmp_path: Path) -> None:
    (tmp_path / "token.txt").write_text("t")
    project = load_project(
        write(
            tmp_path,
            """
            services:
              web:
                image: nginx
                user: "1000"
                secrets: [{source: token, mode: 0400}, {source: inline}]
            secrets:
              token: {file: ./token.txt}
              inline: {environment: TOKEN}
            """,
        ),
        {"TOKEN": "from-shell"},
    )
    token, inline = project.service("web").files
    assert (token.target, token.file, token.content) == ("/run/secrets/token", str(tmp_path / "token.txt"), None)
    # Copied as root's: without `uid` or `gid` Compose asks the engine for no chown, whatever the service's user.
    assert (inline.target, inline.content, inline.uid, inline.gid, inline.mode) == ("/run/secrets/inline", "from-shell", None, None, 0o444)
    assert any("compose.yaml:5: `services.web.secrets[0]`: `uid`, `gid` and `mode` are ignored" in w for w in project.warnings)


def test_interpolated_flags_and_counts_of_the_new_keys_are_cast_as_compose_casts_them(tmp_path: Path) -> None:
    web = load_project(
        write(
            tmp_path,
            """
            services:
              web:
                image: nginx
                init: ${INIT}
                tty: ${TTY}
                stdin_open: ${STDIN}
                scale: ${SCALE}
                ulimits: {nproc: "${NPROC}", nofile: {soft: "${SOFT}", hard: "${HARD}"}}
            """,
        ),
        {"INIT": "false", "TTY": "yes", "STDIN": "off", "SCALE": "3", "NPROC": "512", "SOFT": "1024", "HARD": "2048"},
    ).service("web")
    assert (web.options.init, web.options.tty, web.options.stdin_open, web.replicas) == (False, True, False, 3)
    assert sorted((limit.name, limit.soft, limit.hard) for limit in web.options.ulimits) == [("nofile", 1024, 2048), ("nproc", 512, 512)]
    # Compose refuses 1 and 0 for a boolean (compose-go's toBoolean).
    message = refused(tmp_path, "services:\n  web:\n    image: nginx\n    tty: ${TTY}\n", {"TTY": "1"})
    assert message.endswith("compose.yaml:4: `services.web.tty`: failed to cast to expected type: invalid boolean: 1 (Docker Compose)")


def test_a_service_in_no_active_profile_is_left_out_with_a_warning_as_compose_leaves_it(tmp_path: Path) -> None:
    file = write(
        tmp_path,
        """
        services:
          web:
            image: nginx
          debug:
            image: busybox
            profiles: [debug, tools]
        """,
    )
    project = load_project(file, {})
    assert [service.name for service in project.services] == ["web"]
    assert any("compose.yaml:6: `services.debug.profiles`: not declared: none of its profiles" in w for w in project.warnings)
    assert [service.name for service in load_project(file, {"COMPOSE_PROFILES": "x, tools"}).services] == ["web", "debug"]
    assert len(load_project(file, {"COMPOSE_PROFILES": "*"}).services) == 2
    # A service left out cannot be depended on, as in Compose.
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: nginx\n    depends_on: [db]\n  db:\n    image: redis\n    profiles: [db]\n")
    assert '`services.web.depends_on.db`: service "web" depends on undefined service "db"' in refused(tmp_path, (tmp_path / "compose.yaml").read_text())
