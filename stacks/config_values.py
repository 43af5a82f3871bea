"""Typed getters for one Pulumi config namespace: each returns a valid value or raises naming its key."""
from __future__ import annotations

import difflib
import ipaddress
import re
from typing import Any, Callable, TypeVar

import pulumi
from pulumi.runtime.config import CONFIG, get_config_env, is_config_secret

DOCKER_URL_SCHEMES = ("unix", "tcp", "ssh")
# Host and node names become DNS labels (`<name>.node.consul`).
DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")

T = TypeVar("T")


class ConfigError(pulumi.RunError, ValueError):
    """A config value is missing or malformed; the message names the key.

    A RunError, so `pulumi up` shows the message alone, as an expected failure, not a traceback.
    """


class ConfigValues:
    def __init__(self, config: pulumi.Config) -> None:
        self._config = config

    def key(self, name: str) -> str:
        return f"{self._config.name}:{name}"

    def fail(self, name: str, problem: str) -> ConfigError:
        return ConfigError(f"config `{self.key(name)}`: {problem}")

    def text(self, name: str, default: str) -> str:
        value = self._config.get(name)
        if value is None:
            return default
        if not value.strip():
            raise self.fail(name, "must not be empty")
        return value

    def refuse_unknown_keys(self, known: frozenset[str]) -> None:
        """A key of this namespace the program does not read is a mistake: say so, with the closest known key."""
        prefix = f"{self._config.name}:"
        given = sorted(key.removeprefix(prefix) for key in {*CONFIG.get(), *get_config_env()} if key.startswith(prefix))
        for name in given:
            if name not in known:
                closest = difflib.get_close_matches(name, sorted(known), n=1)
                hint = f"; did you mean `{self.key(closest[0])}`?" if closest else f"; known keys: {', '.join(sorted(known))}"
                raise self.fail(name, f"is not a setting of this program{hint}")

    def secret(self, name: str) -> pulumi.Output[str] | None:
        """A value that must have been set with `pulumi config set --secret`, never in plain text."""
        if self._config.get(name) is None:
            return None
        if not is_config_secret(self.key(name)):
            raise self.fail(name, f"holds a credential, so it must be encrypted: pulumi config set --secret {name} <value>")
        return self._config.require_secret(name)

    def int_value(self, name: str, raw: str) -> int:
        try:
            return int(raw)
        except ValueError:
            raise self.fail(name, f"{raw!r} is not a whole number") from None

    def integer(self, name: str, default: int, minimum: int) -> int:
        raw = self._config.get(name)
        value = default if raw is None else self.int_value(name, raw)
        if value < minimum:
            raise self.fail(name, f"{value} is below the minimum of {minimum}")
        return value

    def port(self, name: str, default: int) -> int:
        value = self.integer(name, default, minimum=1)
        if value > 65535:
            raise self.fail(name, f"{value} is not a TCP port (1-65535)")
        return value

    def choice(self, name: str, allowed: tuple[T, ...], default: T, parse: Callable[[str, str], T] | None = None) -> T:
        raw = self._config.get(name)
        if raw is None:
            return default
        value = parse(name, raw) if parse else raw
        if value not in allowed:
            raise self.fail(name, f"{raw!r} is not one of {list(allowed)}")
        return value  # type: ignore[return-value]

    def boolean(self, name: str, default: bool) -> bool:
        raw = self._config.get(name)
        if raw is None:
            return default
        if raw.lower() not in ("true", "false"):
            raise self.fail(name, f"{raw!r} is not true or false")
        return raw.lower() == "true"

    def json_value(self, name: str, default: Any) -> Any:
        try:
            value = self._config.get_object(name)
        except pulumi.ConfigTypeError:
            raise self.fail(name, f"{self._config.get(name)!r} is not JSON; set it as a YAML list in the stack file") from None
        return default if value is None else value

    def subnet(self, name: str, default: str) -> str:
        value = self.text(name, default)
        try:
            network = ipaddress.ip_network(value)
        except ValueError:
            raise self.fail(name, f"{value!r} is not a subnet in CIDR form (e.g. 172.29.0.0/24)") from None
        if network.version != 4 or network.num_addresses < 16:
            raise self.fail(name, f"{value!r}: expected an IPv4 subnet of /28 or larger")
        return str(network)

    def dns_label(self, name: str, default: str) -> str:
        value = self.text(name, default)
        if not DNS_LABEL.match(value):
            raise self.fail(name, f"{value!r} is not a lowercase DNS label (letters, digits, '-')")
        return value

    def ip(self, name: str, default: str) -> str:
        return self.check_ip(name, self.text(name, default))

    def check_ip(self, name: str, value: Any) -> str:
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            raise self.fail(name, f"{value!r} is not an IP address") from None

    def docker_url(self, name: str, default: str) -> str:
        return self.check_docker_url(name, self.text(name, default))

    def check_docker_url(self, name: str, value: Any) -> str:
        scheme = value.split("://", 1)[0] if isinstance(value, str) and "://" in value else None
        if scheme not in DOCKER_URL_SCHEMES:
            raise self.fail(
                name, f"{value!r} is not a Docker host URL: expected unix:///path, tcp://host:port or ssh://user@host"
            )
        return value
