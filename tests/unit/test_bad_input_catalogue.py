"""docs/bad-input.md, row by row: each bad setting, laid over its stack's file, is refused with exactly the
error the catalogue shows, before anything is registered."""
from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.program import PROJECT_DIR, stack_config
from tests.unit.conftest import deploy_rejected

CATALOGUE = PROJECT_DIR / "docs" / "bad-input.md"
HEADER = ["bad input", "stack", "settings", "given with `--secret`", "error"]
# `hosts[1].name` is one field of one host of the stack file's `hosts`; `hosts[0]` the whole host.
ITEM = re.compile(r"^(?P<key>\w+)\[(?P<index>\d+)\](?:\.(?P<field>\w+))?$")


@dataclass(frozen=True)
class Row:
    what: str
    stack: str
    settings: dict[str, Any]
    secrets: tuple[str, ...]
    error: str


def _code(cell: str) -> str:
    """The text of a `code` or ``code with ` inside`` cell."""
    cell = cell.strip()
    fence = "``" if cell.startswith("``") else "`"
    assert cell.startswith(fence) and cell.endswith(fence), f"not a code span: {cell!r}"
    return cell[len(fence) : -len(fence)].strip()


def catalogue_rows(text: str) -> list[Row]:
    """The rows of every table whose header is HEADER (other tables, such as the workloads', are prose)."""
    rows, in_catalogue, previous = [], False, ""
    for line in text.splitlines():
        is_row, starts_table = line.startswith("|"), line.startswith("|") and not previous.startswith("|")
        previous = line
        if not is_row:
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        if starts_table:
            in_catalogue = cells == HEADER
            continue
        if not in_catalogue or set("".join(cells)) <= set("-: "):
            continue
        assert len(cells) == len(HEADER), f"a row with a cell too many or too few: {line}"
        what, stack, settings, secrets, error = cells
        rows.append(
            Row(
                what=what,
                stack=_code(stack),
                settings=json.loads(_code(settings)),
                secrets=tuple(_code(key) for key in secrets.split(", ")) if secrets else (),
                error=_code(error),
            )
        )
    return rows


def overrides(stack: str, settings: dict[str, Any]) -> dict[str, Any]:
    """`settings` as overrides of the stack file, a `key[i].field` changing one field (None removes it)."""
    stack_file = {key.split(":", 1)[1]: value for key, value in stack_config(stack).items() if key.startswith("orchestration:")}
    result: dict[str, Any] = {}
    for key, value in settings.items():
        item = ITEM.match(key)
        if not item:
            result[key] = value
            continue
        name, index, field = item["key"], int(item["index"]), item["field"]
        items = copy.deepcopy(result.get(name, stack_file[name]))
        if field is None:
            items[index] = value
        elif value is None:
            del items[index][field]
        else:
            items[index][field] = value
        result[name] = items
    return result


ROWS = catalogue_rows(CATALOGUE.read_text())


def test_the_catalogue_covers_every_kind_of_bad_input() -> None:
    sections = re.findall(r"^## (.+)$", CATALOGUE.read_text(), flags=re.MULTILINE)
    for kind in ("Wrong types", "Out-of-range numbers", "Unknown keys", "Conflicting settings",
                 "Malformed addresses, URLs and host lists", "Duplicate names", "Secrets in plain text"):
        assert kind in sections
    assert len(ROWS) >= 50
    assert len({row.what for row in ROWS}) == len(ROWS), "each row says what is wrong in its own words"
    assert {"registryPassword", "dockerTlsKey"} <= {key for row in ROWS if row.error.endswith("<value>") for key in row.settings}


@pytest.mark.parametrize("row", ROWS, ids=[row.what for row in ROWS])
def test_each_bad_input_gets_the_catalogued_error(row: Row) -> None:
    error, registered = deploy_rejected(row.stack, overrides(row.stack, row.settings), secret_keys=row.secrets)
    assert error == row.error
    assert registered == []
