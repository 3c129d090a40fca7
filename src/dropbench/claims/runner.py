"""Checking claims: each claim's check run in its context and turned into a `ClaimRecord`.

A check that cannot run as asked is `not-run` with its reason; one that cannot decide (its premise
not reached, too few seeds for a valid interval) is `inconclusive` with its reason; one that raises
is `error` with its traceback, so one claim's failure never hides the others' verdicts.

A verdict's error rate is the level in force (5 % at 95 %), split evenly over the intervals that
can make it fail (`Claim.intervals`: the main one and each side condition; Bonferroni), so that a
claim with four intervals is not four times as likely to fail wrongly as a claim with one.
"""

from __future__ import annotations

import traceback
from pathlib import Path

from ..errors import ConfigError
from ..profiles import fingerprint
from ..provenance import provenance
from ..stats import TooFewSeeds, at_confidence, current_confidence
from .base import Claim, NotRunnable, Undecidable, verdict, verdict_confidence
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
        alpha=1.0 - current_confidence(),
    )
    missing = ctx.missing_runs(claim)
    reason = ctx.profile.unavailable_reason()
    if reason or ctx.profile.device not in claim.devices or missing:
        record.explanation = reason or (f"the plan has no run {missing[0]!r}" if missing else f"applies to {', '.join(claim.devices)} profiles only")
        return record
    record.deviations = ctx.deviations(claim)
    try:
        intervals = claim.intervals(ctx)
        record.confidence = verdict_confidence(intervals, record.alpha)
        with at_confidence(record.confidence):
            evidence = claim.check(claim, ctx)
        if len(evidence.conditions) + 1 != intervals:
            raise AssertionError(f"{claim.id} declares {intervals} intervals but its check returned {len(evidence.conditions) + 1}")
        calibration = (evidence.calibration or ctx.calibration) if claim.timed else None
    except (NotRunnable, ConfigError) as e:  # e.g. too few seeds, no validation split, a control this model cannot have
        record.explanation = str(e)
        return record
    except (Undecidable, TooFewSeeds) as e:  # ran, but cannot decide: never silently decided
        record.verdict, record.reason, record.explanation = "inconclusive", str(e), str(e)
        return record
    except Exception as e:  # one claim's failure must not hide the others' verdicts
        record.verdict, record.explanation, record.traceback = "error", f"{type(e).__name__}: {e}", traceback.format_exc()
        return record
    doubt = calibration.doubt if calibration is not None else ""
    with at_confidence(record.confidence):  # the reason names the level its intervals were computed at
        record.verdict, record.reason = verdict(claim, evidence, doubt)
    record.explanation = evidence.explanation + (f". Timing not calibrated: {doubt}" if doubt else "")
    if record.verdict == "fails" and record.material_deviations:
        record.reason += f"; not reproduced under these deviations from the paper: {record.deviation_words}"
    record.measured, record.ci, record.seeds = evidence.measured, tuple(evidence.ci), evidence.seeds
    record.conditions, record.details, record.control = evidence.conditions, evidence.details, evidence.control
    record.selection, record.calibration, record.contended = evidence.selection, calibration, evidence.contended
    record.runs = {role: _locations(ctx, paths) for role, paths in evidence.runs.items()}
    return record


def _locations(ctx: ClaimContext, paths: Path | list[Path]) -> str | list[str]:
    return [ctx.location(p) for p in paths] if isinstance(paths, list) else ctx.location(paths)
