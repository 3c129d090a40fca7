"""Knodt 2022: one structural-dropout training yields every width; 50-80 % of the features can be
pruned with little accuracy loss (arXiv 2205.06906).

The paper's sentence (abstract): structural dropout "prunes [...] 50 to 80 % of the features
[...] with little accuracy loss" from one training that covers every width. Hypothesis tested,
at the range's lower end: with half of every hidden layer's features removed (the largest width
of the grid at or below 50 %), the test accuracy of the structural-dropout nets is at most 1
point below the dense net's at full width, over seeds and test examples. The width is fixed by
the paper's sentence, not chosen, so no validation choice enters the measured value, and its
interval is a plain accuracy-gap interval (stats.accuracy_gap_ci). The change at 80 % removed is
reported beside it. Margin: 1 point is our reading of "little accuracy loss".

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
from ..stats import ci_label
from .accuracy import COMPARABLE_POINTS, Hits, beats, best_on_val, points_gap, verdict_words
from .base import Claim, Control, Evidence, Paper
from .context import ClaimContext
from .record import ClaimRecord

REMOVED = (0.5, 0.8)  # the paper's range of removable features: tested at its lower end, the upper reported


def check(claim: Claim, ctx: ClaimContext) -> Evidence:
    """Test-accuracy change at half the features removed, against the dense net at full width.

    Every width comes from one structural training per seed. Control: the dense and the dropout
    net pruned by unit magnitude to the same width (net and criterion chosen on validation), read
    the same way.
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
    index, upper = (width_index(widths, full, removed) for removed in REMOVED)
    drop, drop_ci = points_gap(reference.test, curve.test[:, :, index])
    measured, ci = -drop, (-drop_ci[1], -drop_ci[0])
    control_name = ctx.pick(claim, "control", lambda: best_on_val({name: at_width(h, index) for name, h in controls.items()}))
    control_hits = controls[control_name]
    control_drop, control_ci = points_gap(reference.test, control_hits.test[:, :, index])
    beyond, beyond_ci = points_gap(curve.test[:, :, index], control_hits.test[:, :, index])
    beaten = beats(beyond_ci, (0.0, 0.0))
    control = Control(
        control_name, -control_drop, (-control_ci[1], -control_ci[0]), beaten,
        f"{control_name} (chosen on validation) at width {widths[index]} changes test accuracy by {-control_drop:+.2f} points "
        f"({ci_label()} {-control_ci[1]:+.2f}..{-control_ci[0]:+.2f}); structural dropout is {beyond:+.2f} points from it "
        f"({ci_label()} {beyond_ci[0]:+.2f}..{beyond_ci[1]:+.2f}): {verdict_words(beaten, 'structural dropout')}",
        {"beyond": beyond, "beyond_ci": list(beyond_ci)},
    )
    upper_drop, upper_ci = points_gap(reference.test, curve.test[:, :, upper])
    explanation = (
        f"with {100 * (1 - widths[index] / full):.0f}% of the {full} features per hidden layer removed (width {widths[index]}), structural dropout's "
        f"test accuracy is {measured:+.2f} points from the dense net's at full width ({ci_label()} {ci[0]:+.2f}..{ci[1]:+.2f}); at "
        f"{100 * (1 - widths[upper] / full):.0f}% removed (width {widths[upper]}) {-upper_drop:+.2f} ({-upper_ci[1]:+.2f}..{-upper_ci[0]:+.2f}). "
        f"Control: {control.text}"
    )
    selection = {"control": control_name, "split": "val"}
    details = {
        "widths": widths, "full_width": full, "width": widths[index], "upper_width": widths[upper],
        "change_at_upper": -upper_drop, "change_at_upper_ci": [-upper_ci[1], -upper_ci[0]],
        "curves": {
            "reference_test_accuracy": reference.accuracy("test"),
            "structural": [round(100 * a, 3) for a in curve.test.mean(axis=(0, 1))],
            **{name: [round(100 * a, 3) for a in h.test.mean(axis=(0, 1))] for name, h in controls.items()},
        },
    }
    runs = {"candidate": [c.path for c in structural], "reference": [c.path for c in dense], "dropout": [c.path for c in dropout]}
    return Evidence(measured, ci, explanation, [], runs, details, control, selection, min(len(structural), len(dense), len(dropout)))


def width_index(widths: list[int], full: int, removed: float) -> int:
    """The index of the largest width of the grid that removes at least `removed` of the features."""
    return max(i for i, w in enumerate(widths) if w <= full * (1 - removed) + 1e-9)


def at_width(hits: Hits, index: int) -> Hits:
    return Hits(hits.val[:, :, index], hits.test[:, :, index])


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
    metric="test-accuracy change at 50 % of the hidden features removed, against the dense net at full width",
    claimed="50-80 % of the features removable", unit="points", bound=-COMPARABLE_POINTS,
    tolerance="the interval (seeds x test examples) of the change at 50 % removed at least -1 point",
    runs={"structural": "structural", "dense": "dense", "dropout": "dropout"},
    check=check,
    paper_setup={"other": [("model and data", "the paper's (convolutional nets and others)", "a 3 x 1024 MLP on the plan's images", True)]},
)

PAPER = Paper("Knodt 2022", (CLAIM,), report_section)
