"""A compose file read as plain data, with the line of every key and item, so errors can point into the file."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

import pulumi
import yaml

PathPart = Union[str, int]
Path = tuple[PathPart, ...]


class ComposeFileError(pulumi.RunError, ValueError):
    """The compose file cannot be declared as it is; the message names the file, line and key.

    A RunError, so `pulumi up` shows the message alone, as an expected failure, not a traceback.
    """


def dotted(path: Path) -> str:
    """`services.web.ports[0]`, as a user would point at it."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


@dataclass(frozen=True)
class Source:
    """Where the file came from, and the line (1-based) each path starts on."""

    filename: str
    lines: dict[Path, int]

    def line(self, path: Path) -> int:
        """The line of `path`, else of the closest enclosing key that has one."""
        for end in range(len(path), -1, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return 1

    def error(self, path: Path, problem: str) -> ComposeFileError:
        return ComposeFileError(f"{self.filename}:{self.line(path)}: `{dotted(path)}`: {problem}")


def parse(text: str, filename: str) -> tuple[Any, Source]:
    """YAML text -> (data, Source). Anchors, aliases and `<<` merges resolve as in any YAML loader."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        raise ComposeFileError(f"{filename}:{line}: not valid YAML: {getattr(error, 'problem', None) or error}") from None
    finally:
        loader.dispose()
    lines: dict[Path, int] = {}
    data = _convert(loader, node, (), lines) if node is not None else {}
    return data, Source(filename, lines)


def _convert(loader: yaml.SafeLoader, node: yaml.Node, path: Path, lines: dict[Path, int]) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            # The key's own line, not its value's: a nested block starts on the next line.
            lines[path + (key,)] = key_node.start_mark.line + 1
            result[key] = _convert(loader, value_node, path + (key,), lines)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_convert(loader, item, path + (index,), lines) for index, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)
