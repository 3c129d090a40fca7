"""`dropbench report DIR [--compare DIR2]`: re-render a reproduce or claims output without re-running anything.

An output directory holds what `reproduce` writes (claims.json, bench.json, speedups.json,
runs/*/manifest.json) or just a `dropbench claims --json DIR/claims.json`. The profile and the
machine come from the records themselves, so the page shows where the figures were taken, not
where it is rendered. With a second directory, the figures both share stand side by side.
"""

from __future__ import annotations

import glob
import os
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from .checkpoint import MANIFEST, checkpoint_dirs, read_manifest
from .claims.record import ClaimRecord
from .errors import ConfigError, ProfileError
from .fsutil import user_path
from .limits import RECORDS_MAX_BYTES
from .profiles import find_profile
from .report.document import write_report
from .report.sections import comparison_section, plans_differ
from .schemas import NOT_AS_WRITTEN, read_json, read_record, validate
from .schemas.records import Bench, Reproduce, ShownRun, Speedup
from .stages import is_first_seed_dir

FILES = ("claims.json", "bench.json", "speedups.json")
SCHEMAS: dict[str, type[BaseModel]] = {"bench": Bench, "speedups": Speedup}


def load_output(directory: Path) -> dict[str, Any]:
    """The report context of an output directory (what `reproduce` hands to write_report).

    Nothing in it is trusted: every file goes through the bounded reader and its schema, and no
    path a record holds is opened (a profile is looked up by its plain name, as --profile is)."""
    directory = user_path(directory, "output directory", ConfigError)
    if not directory.is_dir():
        raise ConfigError(f"{directory} is not a directory; point `dropbench report` at a reproduce or claims output")
    found = [name.removesuffix(".json") for name in FILES if os.path.lexists(directory / name)]
    if not found:
        raise ConfigError(f"{directory} holds none of {', '.join(FILES)}: it is not a reproduce or claims output")
    claims = read_claims(directory / "claims.json") if "claims" in found else []
    timed = {name: [_checked(r, SCHEMAS[name], f"{directory / name}.json: record {i}") for i, r in enumerate(_read_list(directory / f"{name}.json"))]
             if name in found else [] for name in SCHEMAS}
    manifests, seed_manifests = {}, {}
    for run in _run_dirs(directory):
        for path in checkpoint_dirs(run):  # the run, then its variants
            manifest = _shown_manifest(path)
            manifests[manifest.get("name", path.name)] = manifest
        first = _shown_manifest(run)
        seed_manifests[first.get("name", run.name)] = [first, *map(_shown_manifest, _other_seeds(run))]
    names = [c.profile for c in claims] + [r["profile"] for records in timed.values() for r in records if "profile" in r]
    profiles = [_profile(name) for name in dict.fromkeys(names)] or [{"name": "unknown"}]
    record = _reproduce_record(directory)
    fingerprint = next((c.fingerprint for c in claims if c.fingerprint), record.fingerprint)
    provenance = record.provenance or next((c.provenance for c in claims if c.provenance), {})
    plan = record.plan or next((c.setup.get("plan") for c in claims if c.setup.get("plan")), None)
    sha256 = record.plan_sha256 or next((c.setup.get("plan_sha256") for c in claims if c.setup.get("plan_sha256")), None)
    return {
        "title": f"dropbench report {directory}", "profiles": profiles, "fingerprint": fingerprint, "provenance": provenance,
        "plan": plan if isinstance(plan, str) else None, "plan_sha256": sha256 if isinstance(sha256, str) else None,
        "manifests": manifests, "seed_manifests": seed_manifests,
        "bench": timed["bench"], "speedups": timed["speedups"], "claims": claims, "seconds": None,
    }


def read_claims(path: Path) -> list[ClaimRecord]:
    """The records of a claims.json (reproduce's, or `dropbench claims --json`'s), each checked against its schema."""
    return [ClaimRecord.from_dict(r, f"{path}: record {i}") for i, r in enumerate(_read_list(path))]


def checkpoint_paths(directory: Path) -> dict[str, Path]:
    """Each timed checkpoint of an output (every run's first seed and its variants) by the name its records give it."""
    return {_shown_manifest(path).get("name", path.name): path for run in _run_dirs(directory) for path in checkpoint_dirs(run)}


def rerender(directory: Path, compare: Path | None = None) -> Path:
    """Write DIR/report.html from DIR's records (and DIR2's beside them); returns the page written."""
    context = load_output(directory)
    if compare is not None:
        other = load_output(compare)
        context["title"] = f"dropbench report {directory} vs {compare}"
        context["comparison"] = comparison_section(str(directory), context, str(compare), other)
        if context["plan_sha256"] != other["plan_sha256"]:
            context["comparison"] = plans_differ(str(directory), context, str(compare), other) + context["comparison"]
    write_report(directory / "report.html", context)
    return directory / "report.html"


def _profile(name: str) -> dict[str, Any]:
    """The profile a record names, from the profile directories (as `--profile NAME`); its bare name if none is known."""
    try:
        profile = find_profile(name)
    except ProfileError:
        profile = None
    return profile.as_dict() if profile else {"name": name}


def _run_dirs(directory: Path) -> list[Path]:
    """The runs' first-seed directories (the seeds the report shows), in the plan's order where
    reproduce.json records it, so a re-rendered page lists them as the original did. A run
    directory that is a symbolic link leads outside the output: refused."""
    runs = sorted(p.parent for p in directory.glob(f"runs/*/{MANIFEST}") if is_first_seed_dir(p.parent.name))
    linked = next((run for run in runs if run.is_symlink()), None)
    if linked:
        raise ConfigError(f"{linked} is a symbolic link, which dropbench never follows in an output; replace it with the run's directory")
    plan = _reproduce_record(directory).runs
    order = {name: i for i, name in enumerate(plan)}
    return sorted(runs, key=lambda run: order.get(run.name, len(order)))


def _shown_manifest(path: Path) -> dict[str, Any]:
    manifest = read_manifest(path)
    validate(ShownRun, manifest, str(path / MANIFEST), ConfigError, NOT_AS_WRITTEN)
    return manifest


def _other_seeds(run: Path) -> list[Path]:
    """runs/<run>.seed<N>/ in the order of N (reproduce.py): the seeds not timed, whose accuracy the report shows beside the first's."""
    manifests = run.parent.glob(f"{glob.escape(run.name)}.seed*/{MANIFEST}")
    seeds = [p.parent for p in manifests if re.fullmatch(r"\d+", p.parent.name.removeprefix(f"{run.name}.seed"))]
    linked = next((seed for seed in seeds if seed.is_symlink()), None)
    if linked:
        raise ConfigError(f"{linked} is a symbolic link, which dropbench never follows in an output; replace it with the run's directory")
    return sorted(seeds, key=lambda p: int(p.name.removeprefix(f"{run.name}.seed")))


def _reproduce_record(directory: Path) -> Reproduce:
    """DIR/reproduce.json through its schema; an empty one for a claims output, which has none."""
    record = directory / "reproduce.json"
    return read_record(record, Reproduce, ConfigError, RECORDS_MAX_BYTES, "reproduce record") if os.path.lexists(record) else Reproduce()


def _read_list(path: Path) -> list[Any]:
    records = read_json(path, ConfigError, RECORDS_MAX_BYTES, "record file", invalid="{path} cannot be read as JSON ({reason})")
    if not isinstance(records, list):
        raise ConfigError(f"{path} is not a list of records as dropbench writes it")
    return records


def _checked(record: Any, schema: type[BaseModel], source: str) -> dict[str, Any]:
    """`record` once its schema accepts it, defaults filled in, None left out (the report tells a skipped record by its key)."""
    return validate(schema, record, source, ConfigError, NOT_AS_WRITTEN).model_dump(exclude_none=True)
