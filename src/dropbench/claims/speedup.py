"""A plain speed claim: the `candidate` role's run (first seed) against the `baseline` role's in
onnxruntime at TIMING_BATCH, nothing else.

The building block for claims a user adds, and for the tests' positive and negative controls.
"""

from __future__ import annotations

from .base import Claim, Evidence
from .context import TIMING_BATCH, ClaimContext


def check(claim: Claim, ctx: ClaimContext) -> Evidence:
    baseline, candidate = ctx.checkpoint(claim.run("baseline")), ctx.checkpoint(claim.run("candidate"))
    result = ctx.compare(baseline, candidate)
    flop_ratio = baseline.metrics["flops"] / candidate.metrics["flops"]
    explanation = f"{candidate.name} runs {result.speedup:.2f}x faster than {baseline.name} (onnxruntime, batch {TIMING_BATCH}; FLOP ratio {flop_ratio:.2f}x)"
    runs = {"baseline": baseline.path, "candidate": candidate.path}
    details = {"rounds": result.rounds, "flop_ratio": flop_ratio}
    return Evidence(result.speedup, result.ci, explanation, [], runs, details, contended=result.contended)
