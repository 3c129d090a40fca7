"""`dropbench report DIR [--compare DIR2]`: re-render a reproduce or claims output without re-running anything.

An output directory holds what `reproduce` writes (claims.json, bench.json, speedups.json,
runs/*/manifest.json) or just a `dropbench claims --json DIR/claims.json`. The profile and the
machine come from the records themselves, so the page shows where the figures were taken, not
where it is rendered. With a second directory, the figures both share stand side by side.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .checkpoint import MANIFEST, checkpoint_dirs, read_manifest
from .errors import ConfigError, ProfileError
from .claims.record import ClaimRecord
from .limits import RECORDS_MAX_BYTES
from .profiles import load_profile
from .report.document import write_report
from .report.sections import comparison_section
from .schemas import read_json
from .stages import is_first_seed_dir

FILES = ("claims.json", "bench.json", "speedups.json")


def load_output(directory: Path) -> dict[str, Any]:
    """The report context of an output directory (what `reproduce` hands to write_report)."""
    if not directory.is_dir():
        raise ConfigError(f"{directory} is not a directory; point `dropbench report` at a reproduce or claims output")
    found = {name.removesuffix(".json"): _read_json(directory / name) for name in FILES if (directory / name).is_file()}
    if not found:
        raise ConfigError(f"{directory} holds none of {', '.join(FILES)}: it is not a reproduce or claims output")
    manifests = {}
    for run in _run_dirs(directory):
        for path in checkpoint_dirs(run):
            manifest = read_manifest(path)
            manifests[manifest.get("name", path.name)] = manifest
    records = [*found.get("claims", []), *found.get("bench", []), *found.get("speedups", [])]
    profiles = []
    for name in dict.fromkeys(r["profile"] for r in records if "profile" in r) or ["unknown"]:
        try:
            profiles.append(load_profile(name).as_dict())
        except ProfileError:
            profiles.append({"name": name})
    claims = [ClaimRecord.from_dict(r) for r in found.get("claims", [])]
    fingerprint = next((c.fingerprint for c in claims if c.fingerprint), {})
    return {
        "title": f"dropbench report {directory}", "profiles": profiles, "fingerprint": fingerprint, "manifests": manifests,
        "bench": found.get("bench", []), "speedups": found.get("speedups", []), "claims": claims, "seconds": None,
    }


def rerender(directory: Path, compare: Path | None = None) -> Path:
    """Write DIR/report.html from DIR's records (and DIR2's beside them); returns the page written."""
    context = load_output(directory)
    if compare is not None:
        other = load_output(compare)
        context["title"] = f"dropbench report {directory} vs {compare}"
        context["comparison"] = comparison_section(str(directory), context, str(compare), other)
    write_report(directory / "report.html", context)
    return directory / "report.html"


def _run_dirs(directory: Path) -> list[Path]:
    """The runs' first-seed directories (the seeds the report shows), in the plan's order where
    reproduce.json records it, so a re-rendered page lists them as the original did."""
    runs = sorted(p.parent for p in directory.glob(f"runs/*/{MANIFEST}") if is_first_seed_dir(p.parent.name))
    record = directory / "reproduce.json"
    recorded = read_json(record, ConfigError, RECORDS_MAX_BYTES, "reproduce record") if record.is_file() else {}
    plan = recorded.get("runs") if isinstance(recorded, dict) else None
    order = {name: i for i, name in enumerate(plan) if isinstance(name, str)} if isinstance(plan, list) else {}
    return sorted(runs, key=lambda run: order.get(run.name, len(order)))


def _read_json(path: Path) -> list[dict[str, Any]]:
    records = read_json(path, ConfigError, RECORDS_MAX_BYTES, "record file", invalid="{path} cannot be read as JSON ({reason})")
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise ConfigError(f"{path} is not a list of records as dropbench writes it")
    return records
