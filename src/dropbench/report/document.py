"""`write_report`: the self-contained HTML report of a reproduce or claims output.

The context holds what was measured (manifests, bench and speedup records, typed claim records,
the profiles); the general sections come from report.sections, each paper's own section from
its module in the claims registry (claims.PAPERS), so no claim is named here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from ..claims import PAPERS
from ..claims.record import ClaimRecord
from ..errors import ConfigError
from ..fsutil import atomic_write_text
from .html import contents, esc, page
from .sections import (
    plan_line,
    provenance_header,
    bench_section,
    calibration_section,
    claims_section,
    context_profiles,
    curves_section,
    evidence_section,
    fingerprint_section,
    pareto_section,
    profiles_section,
    runs_section,
    speedups_section,
    summary_section,
)


def paper_sections(manifests: dict[str, dict], claims: list[ClaimRecord]) -> list[str]:
    """Each registered paper's own section, from its claims' records (every profile's).

    A claim's `details` are the paper module's own (no common schema): records from a folder
    dropbench did not write may not hold what the module reads, which is one line of ConfigError."""
    sections = []
    for paper in PAPERS:
        ids = {claim.id for claim in paper.claims}
        if paper.section:
            try:
                sections.append(paper.section(manifests, [c for c in claims if c.id in ids]))
            except (KeyError, IndexError, TypeError, ValueError, AttributeError, ArithmeticError) as e:
                raise ConfigError(f"the records of {paper.name}'s claims are not as dropbench writes them "
                                  f"({type(e).__name__} in its details or its runs' curves); re-run its claims") from None
    return sections


def _profile_of(record: ClaimRecord | dict) -> str | None:
    return record.profile if isinstance(record, ClaimRecord) else record.get("profile")


def write_report(path: Path, context: dict[str, Any]) -> None:
    """Write the reproduce report from its context (manifests, bench, speedups, claims as ClaimRecords, `profiles`
    or one `profile`, ...; `seed_manifests`: each run's manifest per seed, the shown first seed first; `seconds`
    None for a re-rendered output, `comparison` the side-by-side section of `dropbench report --compare`).

    The page opens with a summary (verdicts, their figures, links to the detail); long tables are folded."""
    profiles = context_profiles(context)
    names = [p["name"] for p in profiles]
    several = len(names) > 1

    def each_profile(render: Callable[[Callable[[list], list], str, dict], str]) -> list[str]:
        """One section per profile, its own records only (all of them when there is one profile)."""
        if not several:
            return [render(lambda records: records, "", profiles[0])]
        return [render(lambda records, n=p["name"]: [r for r in records if _profile_of(r) == n], f" on {p['name']}", p) for p in profiles]

    def hardware(of: Callable[[list], list], where: str, profile: dict) -> str:
        fingerprint = next((c.fingerprint for c in of(context["claims"]) if c.fingerprint), context["fingerprint"])
        return fingerprint_section(profile, fingerprint, where)

    timing = f"Finished in {context['seconds']:.0f} s" if context["seconds"] is not None else "Re-rendered from recorded figures, measured"
    seed_manifests = context.get("seed_manifests", {})
    body = [
        context.get("comparison", ""),
        summary_section(context["claims"], show_profile=several),
        profiles_section(names, context["claims"], context["speedups"]) if several else "",
        evidence_section(context["claims"], show_profile=several),
        claims_section(context["claims"], show_profile=several),
        runs_section(context["manifests"], seed_manifests),
        pareto_section(context["manifests"], seed_manifests),
        *each_profile(lambda of, where, _: calibration_section(of(context["speedups"]), of(context["claims"]), where)),
        *each_profile(lambda of, where, _: speedups_section(of(context["speedups"]), where)),
        *paper_sections(context["manifests"], context["claims"]),
        curves_section(context["manifests"]),
        *each_profile(lambda of, where, _: bench_section(of(context["bench"]), where)),
        *each_profile(hardware),
    ]
    header = [
        provenance_header(context.get("provenance") or {}),
        plan_line(context.get("plan"), context.get("plan_sha256")),
        f'<p class="muted">{timing} on profile{"s" if several else ""} {esc(", ".join(names))}.</p>',
        contents(body),
    ]
    atomic_write_text(path, page(context["title"], header + body))
