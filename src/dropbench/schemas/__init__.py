"""Schemas (pydantic) for the JSON dropbench reads from others: checkpoint manifests and
hardware profiles. Untrusted JSON is size- and depth-checked, then validated against its schema
before any field is used; the first bad field becomes one line of error. Every JSON file read
from outside (manifests, profiles, the records of an output directory) goes through read_json.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Callable, TypeVar

from pydantic import BaseModel, ValidationError

from ..errors import DropbenchError
from ..fsutil import open_regular
from ..limits import JSON_MAX_DEPTH

Model = TypeVar("Model", bound=BaseModel)


INVALID_JSON = "{path} is not valid JSON ({reason}); the {what} is corrupted, restore or rewrite it"


def read_json(path: Path, error: type[DropbenchError], max_bytes: int, what: str, invalid: str = INVALID_JSON,
              loads: Callable[[bytes], Any] = json.loads) -> Any:
    """Parse a file of at most `max_bytes` and JSON_MAX_DEPTH levels of nesting: JSON, or what
    `loads` parses (a plan's TOML, asv's JSON with comments).

    `invalid` is the message for a file that does not parse ({path}, {reason} and {what} filled in)."""
    with open_regular(path, error, max_bytes) as f:
        raw = f.read()
    too_deep = error(f"{path} nests deeper than {JSON_MAX_DEPTH} levels, which no {what} does")
    try:
        value = loads(raw)
    except RecursionError:
        raise too_deep from None
    except ValueError as e:  # it does not parse, is not UTF-8, or holds an integer past Python's digit limit
        raise error(invalid.format(path=path, reason=_reason(e), what=what)) from None
    if nesting_depth(value) > JSON_MAX_DEPTH:
        raise too_deep
    return value


def _reason(e: ValueError) -> str:
    """Why a parser refused a file; Python's limit on an integer's digits said as a fact, not as advice to raise it."""
    return f"an integer of more than {sys.get_int_max_str_digits():,} digits" if "set_int_max_str_digits" in str(e) else str(e)


def nesting_depth(value: Any) -> int:
    """Nesting depth, iteratively (a recursive walk is what a hostile file would overflow)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > JSON_MAX_DEPTH:
            break
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        stack += [(child, depth + 1) for child in children]
    return deepest


def read_record(path: Path, schema: type[Model], error: type[DropbenchError], max_bytes: int, what: str, fix: str = "") -> Model:
    """One JSON object of a file dropbench did not just write: bounded, then checked against
    `schema`; an error ends with `fix` (what to do), by default NOT_AS_WRITTEN."""
    return validate(schema, read_json(path, error, max_bytes, what), str(path), error, fix or NOT_AS_WRITTEN)


# what to do about a result record dropbench did not write as it is (the error's last words)
NOT_AS_WRITTEN = "this file is not as dropbench writes it: run the command that writes it again, or point at an output it wrote"


def validate(schema: type[Model], raw: Any, source: str, error: type[DropbenchError], fix: str = "") -> Model:
    """`raw` checked against `schema`; the error names the first bad field and what it must be,
    then `fix` (what to do) when given."""
    then = f"; {fix}" if fix else ""
    if not isinstance(raw, dict):
        raise error(f"{source}: the top level must be a JSON object{then}")
    try:
        return schema.model_validate(raw)
    except ValidationError as e:
        first = e.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        where = f"field {field!r}: " if field else ""  # a check across fields has no one field
        raise error(f"{source}: {where}{first['msg'].removeprefix('Value error, ')}{then}") from None
