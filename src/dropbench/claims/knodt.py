"""Knodt 2022: one structural-dropout training yields every width; 50-80 % of the features can be
pruned with little accuracy loss (arXiv 2205.06906).

Roles: `structural` (the structural-dropout run, every width in its manifest's curve), `dense`
(the accuracy reference at full width, and a control net) and `dropout` (the other control net).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from torch import nn

from ..checkpoint import Checkpoint
from ..methods.structural import narrow_to
from ..pruning import UNIT_CRITERIA, prune_units_to
from ..report import plots
from ..report.html import esc, figure, section, seeds_words
from ..stats import ci_label, two_level_bootstrap
from .accuracy import COMPARABLE_POINTS, Hits, accuracy_drop, beats, best_within, points_gap, verdict_words
from .base import Claim, Control, Evidence, Paper
from .context import ClaimContext
from .record import ClaimRecord


def check(claim: Claim, ctx: ClaimContext) -> Evidence:
    """Fraction of every hidden layer's features removable within 1 point of the dense net's full width.

    Every width comes from one structural training per seed. Validation picks the smallest width
    whose accuracy is within 1 point of the dense net's; test accuracy at it is reported. Control:
    the dense and the dropout net pruned by unit magnitude to every width (net and criterion
    chosen on validation), read the same way.
    """
    structural, dense, dropout = (ctx.checkpoints(claim.run(role)) for role in ("structural", "dense", "dropout"))
    widths = sorted(point["width"] for point in structural[0].manifest["curves"]["width"])
    full = max(structural[0].model.hidden_sizes())
    curve = width_hits(structural, widths, lambda c, w: narrow_to(c.model, w))
    reference = Hits.of(dense)
    full_widths = dense[0].model.hidden_sizes()
    controls = {
        f"{label} pruned by {criterion} norm": width_hits(runs, widths, lambda c, w, k=criterion: prune_units_to(c.model, [min(w, u) for u in full_widths], k))
        for label, runs in (("dense", dense), ("dropout", dropout)) for criterion in UNIT_CRITERIA
    }

    def removable(ref: np.ndarray, hits: np.ndarray) -> float:
        """1 - the smallest width within 1 point of the reference, over the full width (0 when none is)."""
        accuracy = dict(zip(widths, 100 * hits.mean(axis=(0, 1))))
        width = best_within(accuracy, 100 * ref.mean() - COMPARABLE_POINTS, rank=lambda w: -w)
        return 1 - width / full if width is not None else 0.0

    measured = removable(reference.val, curve.val)
    ci = two_level_bootstrap(removable, [reference.val, curve.val], resamples=1000)
    control_name = max(controls, key=lambda k: (removable(reference.val, controls[k].val), 100 * controls[k].val.mean()))
    control_hits = controls[control_name]
    control_measured = removable(reference.val, control_hits.val)
    control_ci = two_level_bootstrap(removable, [reference.val, control_hits.val], resamples=1000)
    beyond_ci = two_level_bootstrap(lambda r, s, c: removable(r, s) - removable(r, c), [reference.val, curve.val, control_hits.val], resamples=1000)
    beaten = beats(beyond_ci, (0.0, 0.0))
    index = widths.index(round(full * (1 - measured)))
    drop, drop_ci = points_gap(reference.test, curve.test[:, :, index])
    condition = accuracy_drop(drop, drop_ci, "the dense net at full width", prefix=f"at width {widths[index]} ")
    control = Control(
        control_name, control_measured, control_ci, beaten,
        f"{control_name} (chosen on validation) can remove {100 * control_measured:.0f}% ({ci_label()} {100 * control_ci[0]:.0f}..{100 * control_ci[1]:.0f}%); "
        f"structural dropout removes {100 * (measured - control_measured):+.0f} points of width beyond it ({ci_label()} {100 * beyond_ci[0]:+.0f}.."
        f"{100 * beyond_ci[1]:+.0f}): {verdict_words(beaten, 'structural dropout')}",
        {"beyond": measured - control_measured, "beyond_ci": list(beyond_ci)},
    )
    explanation = (
        f"{100 * measured:.0f}% of the {full} features per hidden layer can be removed with validation accuracy within {COMPARABLE_POINTS:g} point "
        f"of the dense net's ({len(widths)} widths, one training per seed); {condition.text}. Control: {control.text}"
    )
    selection = {"width": widths[index], "control": control_name, "split": "val"}
    details = {
        "widths": widths, "full_width": full,
        "curves": {
            "reference_test_accuracy": reference.accuracy("test"),
            "structural": [round(100 * a, 3) for a in curve.test.mean(axis=(0, 1))],
            **{name: [round(100 * a, 3) for a in h.test.mean(axis=(0, 1))] for name, h in controls.items()},
        },
    }
    runs = {"candidate": [c.path for c in structural], "reference": [c.path for c in dense], "dropout": [c.path for c in dropout]}
    return Evidence(measured, ci, explanation, [condition], runs, details, control, selection, min(len(structural), len(dense), len(dropout)))


def width_hits(checkpoints: list[Checkpoint], widths: list[int], narrow: Callable[[Checkpoint, int], nn.Module]) -> Hits:
    """Hits [seeds, examples, widths] of every seed's net narrowed to every width."""
    per_width = [Hits.of(checkpoints, lambda c, w=w: narrow(c, w)) for w in widths]
    return Hits(np.stack([h.val for h in per_width], axis=-1), np.stack([h.test for h in per_width], axis=-1))


def report_section(manifests: dict[str, dict], records: list[ClaimRecord]) -> str:
    """Accuracy at every width of each structural run (one training), then the claim's curves beside its control's."""
    figures = []
    for name, m in manifests.items():
        curve = m.get("curves", {}).get("width")
        if curve:
            series = {split: [(p["width"], 100 * p[f"{split}_accuracy"]) for p in curve] for split in ("val", "test")}
            title = f"{name}: accuracy vs width (one training, {seeds_words([m])})"
            figures.append(figure(plots.lines(series, "hidden units per layer", "accuracy %", title, min_yspan=plots.MIN_ACCURACY_SPAN)))
    widths = section("Structural dropout: accuracy vs width", "".join(figures)) if figures else ""
    record = next((r for r in records if "curves" in r.details), None)
    if record is None:
        return widths
    curves = dict(record.details["curves"])
    reference = curves.pop("reference_test_accuracy")
    series = {name: list(zip(record.details["widths"], accuracy)) for name, accuracy in curves.items()}
    svg = plots.lines(series, "hidden units per layer", "test accuracy % (mean over seeds)", "structural dropout vs magnitude unit pruning",
                      hline=reference, min_yspan=plots.MIN_ACCURACY_SPAN)
    return widths + section("Structural dropout against its control", f"{figure(svg)}<p class=\"muted\">{esc(record.control.text)}</p>")


CLAIM = Claim(
    id="knodt2022-width",
    paper="Knodt 2022, Structural Dropout for Model Width Compression (arXiv 2205.06906)",
    claim="One training yields every width; 50-80 % of the features can be pruned with little accuracy loss.",
    metric="fraction of hidden features removable within 1 point of the dense net's accuracy (width picked on validation)",
    claimed=[0.5, 0.8], unit="fraction", bound=0.5,
    tolerance="95% CI (seeds x validation examples) of the removable fraction >= 0.5, test accuracy at that width within 1 point of the dense net",
    runs={"structural": "structural", "dense": "dense", "dropout": "dropout"},
    check=check,
)

PAPER = Paper("Knodt 2022", (CLAIM,), report_section)
