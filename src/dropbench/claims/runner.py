"""Checking claims: each claim's check run in its context and turned into a `ClaimRecord`.

A check that cannot run as asked is `not-run` with its reason; one that raises is `error` with
its traceback, so one claim's failure never hides the others' verdicts.
"""

from __future__ import annotations

import traceback
from pathlib import Path

from ..errors import ConfigError
from ..profiles import fingerprint
from ..provenance import provenance
from ..stats import current_confidence
from ..timing.inference import AA_TOLERANCE
from .base import Claim, NotRunnable, verdict
from .context import ClaimContext
from .record import ClaimRecord


def check_claims(claims: list[Claim], ctx: ClaimContext) -> list[ClaimRecord]:
    """Check each claim, one after another, with progress."""
    task = ctx.progress.add_task("claims", total=len(claims), status="") if ctx.progress else None
    records = []
    for claim in claims:
        if task is not None:
            ctx.progress.update(task, status=claim.id)
        records.append(check_claim(claim, ctx))
        if task is not None:
            ctx.progress.advance(task)
    return records


def check_claim(claim: Claim, ctx: ClaimContext) -> ClaimRecord:
    record = ClaimRecord(
        id=claim.id, paper=claim.paper, claim=claim.claim, metric=claim.metric, claimed=claim.claimed, bound=claim.bound,
        tolerance=claim.tolerance, applies_to=list(claim.devices), unit=claim.unit, profile=ctx.profile.name,
        fingerprint=fingerprint(), provenance=provenance().as_dict(machine=False), setup=ctx.setup(claim),
        confidence=current_confidence(),
    )
    missing = ctx.missing_runs(claim)
    reason = ctx.profile.unavailable_reason()
    if reason or ctx.profile.device not in claim.devices or missing:
        record.explanation = reason or (f"the plan has no run {missing[0]!r}" if missing else f"applies to {', '.join(claim.devices)} profiles only")
        return record
    try:
        evidence = claim.check(claim, ctx)
        calibration = ctx.calibration if claim.timed else None
    except (NotRunnable, ConfigError) as e:  # e.g. too few seeds, no validation split, a control this model cannot have
        record.explanation = str(e)
        return record
    except Exception as e:  # one claim's failure must not hide the others' verdicts
        record.verdict, record.explanation, record.traceback = "error", f"{type(e).__name__}: {e}", traceback.format_exc()
        return record
    record.verdict, record.reason = verdict(claim, evidence)
    record.explanation = evidence.explanation
    if calibration is not None and not calibration.ok:
        off = f"the A/A ratio was {calibration.ratio:.3f}, more than {AA_TOLERANCE:.0%} from 1"
        record.explanation += f". Timing not calibrated: {off}"
        if record.verdict == "holds":
            record.verdict, record.reason = "inconclusive", f"timing not calibrated: {off}"
    record.measured, record.ci, record.seeds = evidence.measured, tuple(evidence.ci), evidence.seeds
    record.conditions, record.details, record.control = evidence.conditions, evidence.details, evidence.control
    record.selection, record.calibration, record.contended = evidence.selection, calibration, evidence.contended
    record.runs = {role: _locations(ctx, paths) for role, paths in evidence.runs.items()}
    return record


def _locations(ctx: ClaimContext, paths: Path | list[Path]) -> str | list[str]:
    return [ctx.location(p) for p in paths] if isinstance(paths, list) else ctx.location(paths)
