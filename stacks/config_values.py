"""Typed getters for one Pulumi config namespace: each returns a valid value or raises naming its key."""
from __future__ import annotations

import difflib
import ipaddress
import re
from typing import Any, Callable, TypeVar
from urllib.parse import urlsplit

import pulumi
from pulumi.runtime.config import CONFIG, get_config_env, is_config_secret

DOCKER_URL_SCHEMES = ("unix", "tcp", "ssh")
# Host and node names become DNS labels (`<name>.node.consul`).
DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
# Docker's reference grammar (distribution/reference): [host[:port]/]path[:tag][@digest], the path lowercase.
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?"
IMAGE_REFERENCE = re.compile(
    rf"^(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*(?::[\w][\w.-]{{0,127}})?(?:@sha256:[0-9a-f]{{64}})?$"
)
SERVER_ADDRESS = re.compile(rf"^{_DOMAIN}$")
# os/architecture[/variant], as BuildKit's --platform takes it.
PLATFORM = re.compile(r"^[a-z0-9]+/[a-z0-9_]+(/[a-z0-9]+)?$")

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
            try:
                meant = ipaddress.ip_network(value, strict=False)
            except ValueError:
                raise self.fail(name, f"{value!r} is not a subnet in CIDR form (e.g. 172.29.0.0/24)") from None
            raise self.fail(name, f"{value!r} has host bits set: the subnet is {meant}") from None
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
        # ip_address also takes a number (10 is 0.0.0.10): an address is written as text.
        try:
            return str(ipaddress.ip_address(value if isinstance(value, str) else ""))
        except ValueError:
            raise self.fail(name, f"{value!r} is not an IP address") from None

    def image(self, name: str, default: str) -> str:
        value = self.text(name, default)
        if not IMAGE_REFERENCE.match(value):
            raise self.fail(
                name, f"{value!r} is not an image reference Docker accepts: [registry/]lowercase/path[:tag][@sha256:digest]"
            )
        return value

    def platform(self, name: str, default: str) -> str:
        value = self.text(name, default)
        if not PLATFORM.match(value):
            raise self.fail(name, f"{value!r} is not a platform: expected os/architecture, e.g. linux/amd64 or linux/arm64")
        return value

    def check_server_address(self, name: str, value: str) -> str:
        if not SERVER_ADDRESS.match(value):
            raise self.fail(name, f"{value!r} is not host[:port] (no scheme, no path), e.g. registry.example.com:5000")
        return value

    def docker_url(self, name: str, default: str) -> str:
        return self.check_docker_url(name, self.text(name, default))

    def check_docker_url(self, name: str, value: Any) -> str:
        if not _docker_url_target(value):
            raise self.fail(
                name, f"{value!r} is not a Docker host URL: expected unix:///path, tcp://host:port or ssh://user@host"
            )
        return value


def _docker_url_target(value: Any) -> str | None:
    """The socket path of a unix:// URL, the host of a tcp:// or ssh:// one; None for anything else."""
    if not isinstance(value, str) or "://" not in value:
        return None
    try:
        parts = urlsplit(value)
        if parts.scheme == "unix":
            return parts.path or None
        # .port raises ValueError for a port that is not a number from 0 to 65535.
        port_is_a_number = parts.port is None or parts.port >= 0
        return parts.hostname if parts.scheme in DOCKER_URL_SCHEMES and port_is_a_number else None
    except ValueError:
        return None
