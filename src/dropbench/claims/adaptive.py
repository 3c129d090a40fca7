"""Checking until the verdicts are decided: more seeds for the runs of undecided claims, within a budget.

`--until-decided --budget MINUTES` checks the claims, adds one seed to every run an
`inconclusive` claim reads, and checks those claims again, until none is inconclusive, another
look would overrun the budget, or MAX_LOOKS looks were taken; a claim still undecided then stays
`inconclusive`, its reason saying so. Looking again at data that grew is a
repeated test: with the usual 95 % at every look, a claim would be decided wrongly more often
than 5 % of the time. So the looks spend the error rate by halves (alpha spending): look k uses
error rate 0.05 / 2^k (2.5 %, 1.25 %, ...; each verdict splits its share over its intervals,
claims.runner), and by the union bound the chance of any wrong decision over all looks stays
below 5 %. Every validation choice is frozen at the first look (`ClaimContext.frozen`): later looks
add seeds to the same comparison, they never change the hypothesis. An estimate at the deciding
look is not adjusted for the stopping (it is biased away from the margin, as any estimate that
stopped a sequential test); each record says so.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Callable

from .. import stats
from ..runs import RunSpec
from .base import Claim
from .context import ClaimContext, claim_run_names
from .record import ClaimRecord
from .runner import check_claims

ALPHA = 0.05
MAX_LOOKS = 4  # beyond, each look's share of the error rate is too small to decide anything a look earlier could not


def look_confidence(look: int) -> float:
    """The interval level of look `look` (1-based): the error rate spent by halves."""
    return 1.0 - ALPHA / 2**look


def with_another_seed(specs: list[RunSpec], names: set[str]) -> list[RunSpec]:
    """`specs` with one more seed (the next unused) for each run in `names` that a verdict reads
    over seeds (more than one seed); runs that are only timed keep theirs."""
    grown = []
    for spec in specs:
        seeds = spec.all_seeds()
        grown.append(replace(spec, seeds=(*seeds, max(seeds) + 1)) if spec.name in names and len(seeds) > 1 else spec)
    return grown


def check_until_decided(
    claims: list[Claim], specs: list[RunSpec], make_context: Callable[[list[RunSpec]], ClaimContext], budget_s: float,
    log: Callable[[str], None] = lambda line: None,
) -> list[ClaimRecord]:
    """Check; then, while some are inconclusive, add a seed to their runs and check those again.

    A claim decided at a look keeps that record: later looks check only the undecided ones."""
    start = time.perf_counter()
    records: dict[str, ClaimRecord] = {}
    frozen: dict[str, dict] = {}  # claim id -> the first look's choices
    pending = claims
    for look in range(1, MAX_LOOKS + 1):
        look_start = time.perf_counter()
        ctx = replace(make_context(specs), frozen=frozen)
        with stats.at_confidence(look_confidence(look)):
            for record in check_claims(pending, ctx):
                record.looks = look
                frozen.setdefault(record.id, record.selection)
                if look > 1:
                    record.explanation += (f". Checked at look {look} of the adaptive mode, choices frozen at the first: "
                                           "the estimate is not adjusted for the stopping")
                records[record.id] = record
        pending = [c for c in pending if records[c.id].verdict == "inconclusive"]
        spent, last = time.perf_counter() - start, time.perf_counter() - look_start
        log(f"look {look} ({100 * (1 - look_confidence(look)):g} % error rate per verdict, {spent / 60:.1f} of {budget_s / 60:g} min): "
            f"{len(claims) - len(pending)} of {len(claims)} claims decided or not run")
        grown = with_another_seed(specs, {name for claim in pending for name in claim_run_names(claim, specs)})
        why_stop = _why_stop(pending, grown == specs, look, spent + last > budget_s)
        if why_stop is not None:
            break
        specs = grown
    for claim in pending:
        record = records[claim.id]
        record.reason = f"{record.reason}; {why_stop}" if record.reason else why_stop
    return [records[c.id] for c in claims]


def _why_stop(pending: list[Claim], nothing_to_add: bool, look: int, over_budget: bool) -> str | None:
    if not pending:
        return ""
    if nothing_to_add:
        return "more seeds cannot decide it (its runs are only timed)"
    if look >= MAX_LOOKS:
        return f"still undecided after {MAX_LOOKS} looks, the most the error-rate spending allows"
    if over_budget:
        return f"still undecided after {look} look(s): another, as long as the last, would overrun the budget"
    return None
