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
from ..fsutil import open_regular
from ..limits import JSON_MAX_DEPTH, PLAN_MAX_BYTES
from ..schemas import nesting_depth
from ..schemas.plan import PlanSchema
from .toml import dumps

BUILTIN = ("quick", "full")  # plans/<name>.toml


def read_plan(source: str) -> PlanSchema:
    """The plan named `source` (a built-in name) or held in the TOML file `source`, validated.

    Every problem is a ConfigError naming the file and the field: not TOML, too large, nested too
    deep, an unknown key, a bad value."""
    path = Path(__file__).with_name(f"{source}.toml") if source in BUILTIN else Path(source)
    with open_regular(path, ConfigError, PLAN_MAX_BYTES) as f:
        raw = f.read()
    try:
        table = tomllib.loads(raw.decode())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path} is not a TOML plan ({e}); write one with `dropbench plan show quick`") from None
    except RecursionError:
        table = None
    if table is None or nesting_depth(table) > JSON_MAX_DEPTH:
        raise ConfigError(f"{path} nests deeper than {JSON_MAX_DEPTH} levels; a plan needs four")
    return validated(table, str(path))


def validated(table: dict[str, Any], source: str) -> PlanSchema:
    """`table` checked against the plan's schema; the error names the first bad field."""
    try:
        return PlanSchema.model_validate(table)
    except ValidationError as e:
        first = e.errors()[0]
        field = _field(first["loc"], table)
        where = f"field {field}: " if field else ""
        raise ConfigError(f"{source}: {where}{first['msg'].removeprefix('Value error, ')}") from None


def _field(loc: tuple, table: dict[str, Any]) -> str:
    """A pydantic location as the plan file says it: runs[2] ('dense').train.epochs; the type tags of
    a union's alternatives ('str', 'list[...]') left out."""
    parts, node = [], table
    for part in loc:
        if isinstance(part, int):
            name = node[part].get("name") if isinstance(node, list) and part < len(node) and isinstance(node[part], dict) else None
            parts[-1] += f"[{part}]" + (f" ({name!r})" if isinstance(name, str) else "")
        elif isinstance(node, dict) and part in node:
            parts.append(str(part))
        elif "[" in str(part) or str(part) in ("str", "int", "float", "bool"):
            continue
        else:
            parts.append(str(part))
        node = node[part] if isinstance(node, (dict, list)) and _has(node, part) else None
    return ".".join(parts)


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
