"""Song et al. 2018: approximate random dropout cuts training time by 20-77 % (MLP) and 19-60 %
(LSTM) at dropout rates 0.3-0.7 with a marginal accuracy drop (arXiv 1805.08939).

The paper's sentence (abstract): approximate random dropout "reduces the training time by 20 %-77 %
(19 %-60 %) when dropout rate is 0.3-0.7 on MLP (LSTM) with marginal accuracy drop". Hypothesis
tested: at every rate the plan holds (0.3, 0.5, 0.7), the training step saves at least the range's
lower end (20 %, 19 %) over standard dropout, and accuracy stays within 1 point (perplexity within
5 %). A "for every rate" claim: it holds when every rate's saving interval clears the bound (the
main interval is the rate with the worst lower bound, the others are side conditions) and fails
when any rate's interval lies wholly below it. Margins: the bounds are the paper's; 1 point and
5 % are our reading of "marginal". Its timing has its own A/A: the standard-dropout step timed
against itself, as the savings are.

Roles: `dropout` (standard dropout at each rate) and `approximate-random` (approximate random
dropout at the same rates); runs pair up by their rate `p`. Both drop the same connections
(docs/claims.md).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from ..checkpoint import Checkpoint
from ..timing.measurement import CONTENDED_CORES, contention_words
from ..runs import RunSpec
from ..timing.training import training_saving
from ..stats import at_confidence, ci_label, ratio_ci
from .accuracy import Hits, accuracy_drop, beats, points_gap, verdict_words
from .base import Claim, Condition, Control, Evidence, NotRunnable, Paper
from .context import AA_CONFIDENCE, ClaimContext
from .record import Calibration

RATES = (0.3, 0.5, 0.7)  # the paper's range of dropout rates
BATCH = 128  # the batch the training-step times are measured at
PERPLEXITY_TOLERANCE = 1.05  # "marginal" loss for a language model: perplexity within 5 %
METHODS = ("dropout", "approximate-random")  # the roles, named after the methods they hold


def paired_rates(claim: Claim, ctx: ClaimContext) -> dict[str, dict[float, str]]:
    """Per role, rate p -> run name, for the rates both roles hold."""
    by_method = {role: {ctx.spec(n).params["p"]: n for n in ctx.names(claim.runs[role])} for role in METHODS}
    rates = set(by_method["dropout"]) & set(by_method["approximate-random"])
    return {role: {p: by_rate[p] for p in sorted(rates)} for role, by_rate in by_method.items()}


def side_conditions(claim: Claim, ctx: ClaimContext) -> int:
    """Per rate an accuracy (perplexity) condition, and a saving condition for every rate but the main one."""
    return max(2 * len(paired_rates(claim, ctx)["dropout"]) - 1, 0)


def check(claim: Claim, ctx: ClaimContext) -> Evidence:
    """Training time saved over standard dropout at every rate both roles hold, with the accuracy
    (MLP) or perplexity (LSTM) condition at every rate.

    The measured value is the saving at the rate with the worst lower bound; every other rate's
    saving is a side condition. Control: plain training without dropout, timed against the same
    standard-dropout step.
    """
    by_method = paired_rates(claim, ctx)
    rates = list(by_method["dropout"])
    if not rates:
        raise NotRunnable("the plan has no dropout / approximate-random pair at the same rate p")
    rows, conditions, seeds, runs = [], [], [], {}
    for p in rates:
        baseline, candidate = (ctx.spec(by_method[m][p]) for m in METHODS)
        base_runs, cand_runs = ctx.checkpoints(baseline.name), ctx.checkpoints(candidate.name)
        runs[f"baseline p={p:g}"], runs[f"candidate p={p:g}"] = [c.path for c in base_runs], [c.path for c in cand_runs]
        seeds.append(min(len(base_runs), len(cand_runs)))
        conditions.append(condition(p, base_runs, cand_runs))
        timing = training_saving(at_batch(baseline), at_batch(candidate), ctx.profile, ctx.min_run_time, ctx.rounds)
        rows.append({**{k: timing[k] for k in ("time_saved", "time_saved_ci", "flop_ideal", "realisation", "warnings", "rounds", "contention")}, "p": p})
    worst = min(rows, key=lambda r: r["time_saved_ci"][0])  # the lowest lower bound: "at every rate" stands or falls with it
    conditions += [saving_condition(row, claim.bound) for row in rows if row is not worst]
    middle = ctx.spec(by_method["dropout"][rates[len(rates) // 2]])
    control = no_dropout_control(ctx, middle, worst)
    calibration = step_calibration(ctx, middle)
    saved = ", ".join(f"p={r['p']:g}: {100 * r['time_saved']:.0f}% (FLOP ideal {100 * r['flop_ideal']:.0f}%)" for r in rows)
    explanation = f"training-step time saved over standard dropout, batch {BATCH}: {saved}; " + "; ".join(c.text for c in conditions)
    explanation += f". Control: {control.text}"
    details = {"rates": rows, "batch": BATCH, "main_rate": worst["p"]}
    contended = [f"p={r['p']:g}: {contention_words(c)}" for r in rows for c in r["contention"] if c > CONTENDED_CORES]
    return Evidence(worst["time_saved"], tuple(worst["time_saved_ci"]), explanation, conditions, runs, details, control, {}, min(seeds), contended,
                    calibration)


def saving_condition(row: dict[str, Any], bound: float) -> Condition:
    """The saving at one rate, at least `bound`: decided by its interval over timing rounds."""
    low, high = row["time_saved_ci"]
    text = f"p={row['p']:g}: training time saved {100 * row['time_saved']:.0f}% ({ci_label()} {100 * low:.0f}..{100 * high:.0f}%), at least {100 * bound:.0f}%"
    return Condition(text, row["time_saved"], (low, high), bound, at_most=False, timed=True)


def step_calibration(ctx: ClaimContext, spec: RunSpec) -> Calibration:
    """A/A of the training-step timing: the standard-dropout step timed against itself, as the savings are."""
    with at_confidence(AA_CONFIDENCE):
        timing = training_saving(at_batch(spec), at_batch(spec), ctx.profile, ctx.min_run_time, ctx.rounds)
    return Calibration.of(f"the {spec.name} training step against itself, batch {BATCH}", timing["speedup"], tuple(timing["ci"]), timing["rounds"])


def at_batch(spec: RunSpec) -> RunSpec:
    return replace(spec, train=replace(spec.train, batch_size=BATCH)).per_seed()[0]


def condition(p: float, dropout: list[Checkpoint], approximate: list[Checkpoint]) -> Condition:
    """Accuracy within 1 point of dropout (classification) or perplexity within 5 % (language), at rate p."""
    if approximate[0].manifest["data"]["kind"] != "language":
        return accuracy_drop(*points_gap(Hits.of(dropout).test, Hits.of(approximate).test), "dropout", prefix=f"p={p:g}: ")
    ours, theirs = [c.metrics["perplexity"] for c in approximate], [c.metrics["perplexity"] for c in dropout]
    ratio = float(np.mean(ours) / np.mean(theirs))
    low, high = ratio_ci(ours, theirs)
    text = (
        f"p={p:g}: test perplexity {np.mean(ours):.2f} vs dropout {np.mean(theirs):.2f} ({100 * (ratio - 1):+.1f}%, {ci_label()} over seeds "
        f"{100 * (low - 1):+.1f}..{100 * (high - 1):+.1f}%, allowed +{100 * (PERPLEXITY_TOLERANCE - 1):.0f}%)"
    )
    return Condition(text, ratio, (low, high), PERPLEXITY_TOLERANCE)


def no_dropout_control(ctx: ClaimContext, dropout: RunSpec, worst: dict[str, Any]) -> Control:
    """Training without dropout at all, timed against standard dropout at the middle rate."""
    plain = replace(dropout, name="no dropout", method="dense", params={})
    timing = training_saving(at_batch(dropout), at_batch(plain), ctx.profile, ctx.min_run_time, ctx.rounds)
    beaten = beats(tuple(worst["time_saved_ci"]), tuple(timing["time_saved_ci"]))
    text = (
        f"training without dropout saves {100 * timing['time_saved']:.0f}% ({ci_label()} {100 * timing['time_saved_ci'][0]:.0f}.."
        f"{100 * timing['time_saved_ci'][1]:.0f}%) of the p={dropout.params['p']:g} dropout step; approximate random dropout's "
        f"smallest saving is {100 * worst['time_saved']:.0f}%: {verdict_words(beaten, 'approximate random dropout')}"
    )
    return Control("plain training without dropout", timing["time_saved"], tuple(timing["time_saved_ci"]), beaten, text, {"rounds": timing["rounds"]})


def rate_suffix(p: float) -> str:
    """The run-name suffix of rate p: the p = 0.5 runs keep the plain names other claims use."""
    return "" if p == 0.5 else f"-p{p:g}"


def bound_to(prefix: str = "") -> dict[str, tuple[str, ...]]:
    """The roles bound to the plan's runs at every rate (`prefix` "lstm-" for the LSTM runs)."""
    return {role: tuple(f"{prefix}{role}{rate_suffix(p)}" for p in RATES) for role in METHODS}


PAPER_NAME = "Song et al. 2018, Approximate Random Dropout (arXiv 1805.08939)"
MLP = Claim(
    id="song2018-mlp-training", paper=PAPER_NAME,
    claim="Approximate random dropout cuts MLP training time by 20-77 % at dropout rates 0.3-0.7 with a marginal accuracy drop.",
    metric="training time saved over standard dropout (the smallest over p = 0.3, 0.5, 0.7)",
    claimed=[0.20, 0.77], unit="fraction", bound=0.20,
    tolerance="the saving's interval >= 20 % at every p, test accuracy within 1 point of standard dropout at every p; 5 % error split over the intervals",
    runs=bound_to(), check=check, timed=True, conditions=side_conditions,
    paper_setup={"device": "cuda", "other": [("pattern family", "the paper's", "ours: row patterns, blocks of 16 units", True)]},
)
LSTM = Claim(
    id="song2018-lstm-training", paper=PAPER_NAME,
    claim="Approximate random dropout cuts LSTM training time by 19-60 % at dropout rates 0.3-0.7 with a marginal accuracy drop.",
    metric="training time saved over standard dropout (the smallest over p = 0.3, 0.5, 0.7)",
    claimed=[0.19, 0.60], unit="fraction", bound=0.19,
    tolerance="the saving's interval >= 19 % at every p, test perplexity within 5 % of standard dropout at every p; 5 % error split over the intervals",
    runs=bound_to("lstm-"), check=check, timed=True, conditions=side_conditions,
    paper_setup={"device": "cuda", "other": [("pattern family", "the paper's", "ours: row patterns, blocks of 16 units", True),
                                             ("data", "the paper's language-model corpus", "CPython's documentation (pydoc-text)", True)]},
)

PAPER = Paper("Song et al. 2018", (MLP, LSTM))
