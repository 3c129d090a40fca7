"""A plain speed claim: the `candidate` role's run against the `baseline` role's in onnxruntime at
TIMING_BATCH, seed by seed (the rounds spread over the seeds both runs have), nothing else.

The building block for claims a user adds, and for the tests' positive and negative controls.
"""

from __future__ import annotations

from .base import Claim, Evidence
from .context import TIMING_BATCH, ClaimContext


def check(claim: Claim, ctx: ClaimContext) -> Evidence:
    baselines, candidates = ctx.timed(claim.run("baseline")), ctx.timed(claim.run("candidate"))
    result = ctx.compare(baselines, candidates)
    baseline, candidate = baselines[0], candidates[0]
    flop_ratio = ctx.flop_ratio(baselines, candidates)
    explanation = f"{candidate.name} runs {result.speedup:.2f}x faster than {baseline.name} (onnxruntime, batch {TIMING_BATCH}; FLOP ratio {flop_ratio:.2f}x)"
    runs = {"baseline": baseline.path, "candidate": candidate.path}
    details = {"rounds": result.rounds, "round_seeds": result.round_pairs, "flop_ratio": flop_ratio}
    return Evidence(result.speedup, result.ci, explanation, [], runs, details, contended=result.contended)
