"""The file checked against the Compose Specification's own JSON schema (vendored in schema/)."""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path as FilePath
from typing import TYPE_CHECKING, Any

from components.compose_project.source import Source

if TYPE_CHECKING:
    import jsonschema

SCHEMA_FILE = FilePath(__file__).parent / "schema" / "compose-spec.json"

@lru_cache(maxsize=1)
def _validator() -> jsonschema.Draft7Validator:
    # Imported here: 65 ms of every plan, needed only by those that deploy a compose file.
    import jsonschema

    return jsonschema.Draft7Validator(_without_unique_items(json.loads(SCHEMA_FILE.read_text())))


def _without_unique_items(schema: Any) -> Any:
    """The schema with `uniqueItems` dropped: Compose does not enforce it (a list-form `environment`
    or `labels` may give a key twice, the later winning; a repeat in `dns` or `cap_add` is dropped)."""
    if isinstance(schema, dict):
        return {key: _without_unique_items(value) for key, value in schema.items() if key != "uniqueItems"}
    if isinstance(schema, list):
        return [_without_unique_items(value) for value in schema]
    return schema


def validate(data: Any, source: Source) -> None:
    """Raises the most specific schema error, at the path and line of the offending key."""
    errors = list(_validator().iter_errors(data))
    if not errors:
        return
    # As Compose does (compose-go schema.getMostSpecificError): the deepest error among all the
    # alternatives tried, an unexpected key counting one level deeper than its parent.
    error = max((_most_specific(error) for error in errors), key=_specificity)
    path = tuple(error.absolute_path)
    if error.validator == "additionalProperties":
        unexpected = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        patterns = error.schema.get("patternProperties", {})
        unexpected = [key for key in unexpected if not any(re.search(pattern, key) for pattern in patterns)]
        if unexpected:
            raise source.error(path + (unexpected[0],), "is not allowed here by the Compose Specification")
    raise source.error(path, f"{error.message} (Compose Specification schema)")


def _most_specific(error: jsonschema.ValidationError) -> jsonschema.ValidationError:
    if not error.context:
        return error
    return max((_most_specific(cause) for cause in error.context), key=_specificity)


def _specificity(error: jsonschema.ValidationError) -> int:
    return len(error.absolute_path) + (1 if error.validator == "additionalProperties" else 0)
