"""Reading a plan (a built-in name or a TOML file), its canonical hash, and the overrides of the
command line (--seeds, --data). Torch-free, so `dropbench plan show` answers at once."""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path
from typing import Any, Sequence

from pydantic import ValidationError

from ..errors import ConfigError
from ..limits import PLAN_MAX_BYTES
from ..schemas import read_json
from ..schemas.plan import PlanSchema
from .toml import dumps

BUILTIN = ("quick", "full", "paper", "ci")  # plans/<name>.toml


def read_plan(source: str) -> PlanSchema:
    """The plan named `source` (a built-in name) or held in the TOML file `source`, validated.

    Every problem is a ConfigError naming the file and the field: not TOML, too large, nested too
    deep, an unknown key, a bad value."""
    path = Path(__file__).with_name(f"{source}.toml") if source in BUILTIN else Path(source)
    invalid = "{path} is not a TOML plan ({reason}); write one with `dropbench plan show quick`"
    return validated(read_json(path, ConfigError, PLAN_MAX_BYTES, "plan", invalid, lambda raw: tomllib.loads(raw.decode())), str(path))


def validated(table: dict[str, Any], source: str) -> PlanSchema:
    """`table` checked against the plan's schema; the error names the first bad field."""
    try:
        return PlanSchema.model_validate(table)
    except ValidationError as e:
        errors = e.errors()
        field, alternative = _field(errors[0]["loc"], table)
        message = errors[0]["msg"].removeprefix("Value error, ")
        if alternative:  # a union: say every kind the field may be, not why the first did not fit
            kinds = [_field(error["loc"], table)[1] for error in errors if _field(error["loc"], table)[0].startswith(field)]
            message = "expected " + " or ".join(dict.fromkeys(UNION_KINDS.get(kind.split("[")[0], kind) for kind in kinds))
        where = f"field {field}: " if field else ""
        raise ConfigError(f"{source}: {where}{message}") from None


# pydantic's tags of a union's alternatives, in words
UNION_KINDS = {"str": "a string", "constrained-str": "a string", "list": "a list of them", "bool": "true or false", "int": "an integer",
               "float": "a number"}


def _field(loc: tuple, table: dict[str, Any]) -> tuple[str, str]:
    """A pydantic location as the plan file says it (runs[2] ('dense').train.epochs), and the union
    alternative it ends in ('str', 'list[...]'; "" when none)."""
    parts, node, alternative = [], table, ""
    for part in loc:
        if part == "[key]":  # pydantic's mark of a key that is itself wrong: the field named already
            continue
        if isinstance(part, int):
            name = node[part].get("name") if isinstance(node, list) and part < len(node) and isinstance(node[part], dict) else None
            parts[-1] += f"[{part}]" + (f" ({name!r})" if isinstance(name, str) else "")
        elif isinstance(node, dict) and part in node or part not in UNION_KINDS and "[" not in part:
            parts.append(str(part))
        else:
            alternative = part
        node = node[part] if isinstance(node, (dict, list)) and _has(node, part) else None
    return ".".join(parts), alternative


def _has(node: dict | list, part: Any) -> bool:
    return part in node if isinstance(node, dict) else isinstance(part, int) and part < len(node)


def overridden(plan: PlanSchema, seeds: Sequence[int] | None = None, data: str | None = None) -> PlanSchema:
    """The plan with --seeds (every run a verdict reads gets them all, a run that is only timed the
    first) and --data (every run that does not pin its own data), validated again; what runs and
    what the hash records."""
    table = plan.model_dump()
    if data:
        table["data"] = data
    if seeds:
        for run in table["runs"]:
            run["seeds"] = list(seeds) if len(run["seeds"]) > 1 else list(seeds[:1])
    return validated(table, "--data / --seeds")


def plan_sha256(plan: PlanSchema) -> str:
    """SHA-256 of the plan's canonical JSON (validated, defaults filled, keys sorted): the plan a
    verdict came from, fixed before its results."""
    canonical = json.dumps(plan.model_dump(), sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def plan_toml(plan: PlanSchema) -> str:
    """The plan as a TOML file, defaults written out, its hash in the header."""
    header = f"dropbench plan {plan.name!r}: run it with `dropbench reproduce --plan FILE --out DIR`\nsha256 {plan_sha256(plan)}"
    return dumps(plan.model_dump(), header)
