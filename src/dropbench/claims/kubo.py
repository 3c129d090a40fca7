"""Kubo, Tucker, Wiesler 2016: a dropout-compacted net with < 50 % of the hidden units runs >= 2.5x
faster than the dense net at comparable accuracy (arXiv 1611.06148).

The paper's sentence (abstract): dropout compaction "reduced the number of hidden units by
more than 50 % [...] while keeping the accuracy comparable, [...] translating to a 2.5x speedup".
Hypothesis tested: a prior strength exists whose nets keep < 50 % of the hidden units (the
premise), and at it the test accuracy is within 1 point of the better of dense and dropout, and
the inference speedup over dense is >= 2.5x. Only sweep points whose kept fraction meets the
premise by its interval over seeds are candidates; validation picks the most accurate of them.
When none meets it the check is `inconclusive` (the sweep never reached the premise): a speed at
a width the paper claims nothing for decides nothing. Margins: 1 point is our reading of
"comparable" (the paper gives no number); 50 % and 2.5x are the paper's.

Roles: `dense` (the baseline, timed), `dropout` (the other accuracy reference, and the control's
net), `sweep` (one dropout-compaction run per prior strength).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from ..checkpoint import Checkpoint, load_checkpoint, write_checkpoint
from ..export import ensure_exported
from ..flops import count
from ..timing.measurement import Comparison
from ..pruning import UNIT_CRITERIA, prune_units_to
from ..report import plots
from ..report.html import keyed_figure, section, seeds_words
from ..stats import at_confidence, ci_label, seed_mean_ci
from .accuracy import Hits, beats, best_on_val, comparable, points_gap, verdict_words
from .base import Claim, Condition, Control, Evidence, Paper, Undecidable
from .context import TIMING_BATCH, ClaimContext
from .record import ClaimRecord

KEPT_BELOW = 0.5  # "< 50 % of the hidden units"
PREMISE_CONFIDENCE = 0.95


def check(claim: Claim, ctx: ClaimContext) -> Evidence:
    """The most accurate prior strength (on validation) among those that keep < 50 % of the hidden
    units, timed against dense, its test accuracy against the better of dense and dropout.

    Validation chooses the reference (dense or dropout) and the sweep point; test accuracy is
    reported. Control: the dropout net pruned by unit magnitude to the same widths (criterion
    chosen on validation), timed and scored the same way.
    """
    dense, dropout = ctx.checkpoints(claim.run("dense")), ctx.checkpoints(claim.run("dropout"))
    references = {"dense": Hits.of(dense), "dropout": Hits.of(dropout)}
    reference = ctx.pick(claim, "reference", lambda: best_on_val(references))
    sweep = {name: ctx.checkpoints(name) for name in ctx.names(claim.runs["sweep"])}
    kept_by_run = {name: [hidden_fraction(dense[0], c) for c in runs] for name, runs in sweep.items()}
    kept = {name: float(np.mean(fractions)) for name, fractions in kept_by_run.items()}
    premise = [name for name, fractions in kept_by_run.items() if kept_condition(fractions).state == "met"]
    sweep_hits = {name: Hits.of(runs) for name, runs in sweep.items()}

    def most_accurate_in_premise() -> str:
        if not premise:
            raise Undecidable(
                "no sweep point keeps < 50 % of the hidden units by its interval over seeds ("
                + ", ".join(f"{name}: {100 * kept[name]:.1f}%" for name in sweep) + "): the claim's premise is not reached, so its speed decides nothing"
            )
        return best_on_val({name: sweep_hits[name] for name in premise})

    chosen = ctx.pick(claim, "run", most_accurate_in_premise)  # a point frozen at an earlier look stays, premise or not
    compact = sweep[chosen]
    kept_per_seed = kept_by_run[chosen]

    timed_dense, timed_compact = ctx.timed(claim.run("dense")), ctx.timed(chosen)  # every seed, exported: rounds span them
    timings = {b: ctx.compare(timed_dense, timed_compact, b) for b in sorted({*ctx.profile.batch_sizes, TIMING_BATCH})}
    result = timings[TIMING_BATCH]
    conditions = [comparable(reference, references[reference], sweep_hits[chosen])]
    premise_words = kept_condition(kept_per_seed).text
    control = magnitude_control(ctx, claim, timed_dense, dropout, compact, sweep_hits[chosen], result)
    flop_ratio = ctx.flop_ratio(timed_dense, timed_compact)
    explanation = (
        f"{chosen} keeps {premise_words} and runs {result.speedup:.2f}x faster than dense in onnxruntime "
        f"at batch {TIMING_BATCH} (FLOP ratio {flop_ratio:.2f}x); the most accurate on validation of the points that keep < 50 % "
        f"({', '.join(premise)}); reference for accuracy: {reference} (better on validation); "
        f"{conditions[0].text}. Control: {control.text}"
    )
    selection = {
        "reference": reference, "run": chosen, "split": "val", "premise": premise,
        "val_accuracy": {name: round(h.accuracy("val"), 3) for name, h in {**references, **sweep_hits}.items()},
        "criterion": control.details["criterion"], "kept_fraction": {name: round(k, 4) for name, k in kept.items()},
    }
    details = {
        "kept_fraction": kept[chosen], "kept_fraction_per_seed": kept_per_seed, "batch": TIMING_BATCH,
        "runtime": "onnxruntime", "sweep": list(sweep), "flop_ratio": flop_ratio, "warnings": result.warnings, "rounds": result.rounds,
        "round_seeds": result.round_pairs,
        "test_accuracy": {name: round(h.accuracy("test"), 3) for name, h in {**references, **sweep_hits}.items()},
        "speedup_by_batch": [{"batch": b, "speedup": c.speedup, "ci": list(c.ci), "rounds": c.rounds} for b, c in timings.items()],
    }
    reference_runs = dense if reference == "dense" else dropout
    runs = {"baseline": [c.path for c in dense], "reference": [c.path for c in reference_runs], "candidate": [c.path for c in compact]}
    seeds = min(len(dense), len(dropout), len(compact))
    return Evidence(result.speedup, result.ci, explanation, conditions, runs, details, control, selection, seeds, result.contended)


def kept_condition(per_seed: list[float]) -> Condition:
    """The premise, < 50 % of the hidden units kept: the 95 % interval over seeds of the kept fraction,
    against 50 %. A gate, not one of the verdict's intervals: a point outside it is never timed, so
    it can make the verdict neither fail nor hold on its own, and it keeps the usual level."""
    with at_confidence(PREMISE_CONFIDENCE):
        mean, (low, high) = float(np.mean(per_seed)), seed_mean_ci(per_seed)
        words = f"{ci_label()} {100 * low:.1f}..{100 * high:.1f}%"
    text = f"{100 * mean:.1f}% of hidden units (mean of {len(per_seed)} seeds, {words}), limit < {KEPT_BELOW:.0%}"
    return Condition(text, mean, (low, high), KEPT_BELOW)


def hidden_fraction(baseline: Checkpoint, candidate: Checkpoint) -> float:
    """Hidden units kept by `candidate` as a fraction of the baseline's."""
    return sum(candidate.model.hidden_sizes()) / sum(baseline.model.hidden_sizes())


def magnitude_control(
    ctx: ClaimContext, claim: Claim, timed_dense: list[Checkpoint], dropout: list[Checkpoint], compact: list[Checkpoint], compact_hits: Hits,
    method_timing: Comparison,
) -> Control:
    """Magnitude unit pruning of each dropout seed to the widths of the same seed's compacted net,
    every seed's pruned net timed against the same seed's dense net, as the method's are."""
    seeds = dropout[: len(compact)]  # seed i of the control is pruned to seed i's widths
    candidates = {criterion: [prune_units_to(d.model, c.model.hidden_sizes(), criterion) for d, c in zip(seeds, compact)] for criterion in UNIT_CRITERIA}
    hits = {criterion: Hits.of_nets(seeds, nets) for criterion, nets in candidates.items()}
    criterion = ctx.pick(claim, "criterion", lambda: best_on_val(hits))
    gain, gain_ci = points_gap(compact_hits.test, hits[criterion].test)
    with tempfile.TemporaryDirectory() as tmp:
        method = {"name": "magnitude", "params": {"mode": "unit", "criterion": criterion}}
        nets = [materialize(net, Path(tmp) / f"control{i}", d, "magnitude-unit control", method)
                for i, (net, d) in enumerate(zip(candidates[criterion], seeds))]
        timing = ctx.compare(timed_dense, nets)
    accuracy_text = f"test accuracy {gain:+.2f} points for dropout compaction ({ci_label()} {gain_ci[0]:+.2f}..{gain_ci[1]:+.2f})"
    beaten = beats(gain_ci, (0.0, 0.0))
    text = (
        f"the dropout net pruned by unit magnitude ({criterion} norm, chosen on validation) to the same widths runs "
        f"{timing.speedup:.2f}x faster than dense ({ci_label()} {timing.ci[0]:.2f}..{timing.ci[1]:.2f}; method {method_timing.speedup:.2f}x); "
        f"{accuracy_text}: {verdict_words(beaten, 'dropout compaction')} on accuracy at equal width"
    )
    details = {
        "criterion": criterion, "val_accuracy": {k: round(h.accuracy("val"), 3) for k, h in hits.items()},
        "test_accuracy": round(hits[criterion].accuracy("test"), 3), "accuracy_gain": gain, "accuracy_gain_ci": list(gain_ci),
    }
    return Control("magnitude unit pruning of the dropout net to the same widths", timing.speedup, timing.ci, beaten, text, details)


def materialize(model: nn.Module, directory: Path, like: Checkpoint, name: str, method: dict[str, Any]) -> Checkpoint:
    """Write `model` as an exported checkpoint (a control net that must be timed like the others)."""
    manifest = {key: like.manifest[key] for key in ("model", "data", "train") if key in like.manifest}
    write_checkpoint(directory, model, {**manifest, "name": name, "method": method, "metrics": count(model).as_dict(), "curves": {}, "variants": {}})
    return load_checkpoint(ensure_exported(directory))


def report_section(manifests: dict[str, dict], records: list[ClaimRecord]) -> str:
    """Dropout compaction: hidden units kept vs accuracy, one point per prior strength."""
    sweep = {name: m for name, m in manifests.items() if "hidden_kept_fraction" in m["metrics"]}
    if not sweep:
        return ""
    points = [
        (f"{m['model']} on {m['data']['name']}", 100 * m["metrics"]["hidden_kept_fraction"], 100 * m["metrics"]["accuracy"], None)
        for m in sweep.values()
    ]
    keys = [f"{name}: {100 * m['metrics']['accuracy']:.2f} %, {100 * m['metrics']['hidden_kept_fraction']:.1f} % of hidden units kept"
            for name, m in sweep.items()]
    title = f"dropout compaction: one run per prior strength, {seeds_words(sweep.values())}"
    svg = plots.scatter_by_group(points, "hidden units kept %", "test accuracy %", title, min_yspan=plots.MIN_ACCURACY_SPAN)
    return section("Dropout compaction: width vs accuracy", keyed_figure(svg, keys))


CLAIM = Claim(
    id="kubo2016-runtime",
    paper="Kubo, Tucker, Wiesler 2016, Compacting Neural Network Classifiers via Dropout Training (arXiv 1611.06148)",
    claim="A dropout-compacted net with < 50 % of the hidden units runs >= 2.5x faster than the dense net at comparable accuracy.",
    metric=f"inference speedup over dense (onnxruntime, batch {TIMING_BATCH})",
    claimed=2.5, unit="x", bound=2.5,
    tolerance=(
        "the speedup's interval (over seeds) >= 2.5 at a prior strength whose kept fraction's interval lies below 50 %, "
        "test accuracy within 1 point of the better of dense and dropout; the 5 % error rate split over the two intervals"
    ),
    runs={"dense": "dense", "dropout": "dropout", "sweep": "dropout-compaction-"},
    check=check, timed=True, conditions=1,
    paper_setup={"data": "mnist", "data_words": "MNIST as we read it (the full text is not available to us)",
                 "other": [("method", "dropout compaction (the paper's)", "our reconstruction (Concrete relaxation, Beta prior)", True)]},
)

PAPER = Paper("Kubo, Tucker, Wiesler 2016", (CLAIM,), report_section)
