"""A plan written as TOML: the subset of TOML a plan needs (strings, numbers, booleans, lists,
tables), written by hand because the standard library reads TOML but does not write it."""

from __future__ import annotations

import json
import re
from typing import Any

BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def dumps(plan: dict[str, Any], header: str = "") -> str:
    """`plan` (PlanSchema.model_dump()) as TOML: its scalars, then each run as [[runs]], then [claims.ID]
    per claim. None means "absent" (TOML has no null) and is left out."""
    lines = [f"# {line}" for line in header.splitlines()]
    lines += _pairs({k: v for k, v in plan.items() if k not in ("runs", "claims")})
    for run in plan["runs"]:
        lines += ["", "[[runs]]", *_pairs({k: v for k, v in run.items() if k != "train"})]
        lines += ["[runs.train]", *_pairs(run["train"])]
    for claim, roles in plan["claims"].items():
        lines += ["", f"[claims.{_key(claim)}]", *_pairs(roles)]
    return "\n".join(lines) + "\n"


def _pairs(table: dict[str, Any]) -> list[str]:
    return [f"{_key(key)} = {_value(value)}" for key, value in table.items() if value is not None]


def _key(key: str) -> str:
    return key if BARE_KEY.match(key) else _string(key)


def _string(text: str) -> str:
    """A TOML basic string: JSON's escapes of '"', '\\' and the control characters, plus DEL (which
    JSON leaves as it is); every other character as itself, since TOML refuses the surrogate pairs
    JSON writes for a character beyond U+FFFF."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)  # finite (the schema refuses inf and NaN); repr keeps a float's '.' or exponent
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items() if v is not None) + "}"
    raise TypeError(f"no TOML form for {type(value).__name__}")
