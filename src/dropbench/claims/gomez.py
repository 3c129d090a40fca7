"""Gomez et al. 2019: under heavy post-hoc pruning a net trained with targeted dropout keeps clearly
more accuracy than plain dropout or magnitude pruning of a dense net (arXiv 1905.13678).

The paper's sentence (abstract): targeted dropout makes a network "robust to post hoc pruning of
weights or units that frequently occur in the dropped sets. The method improves upon more
complicated sparsifying regularisers while being simple to implement and easy to tune."
Hypothesis tested: at 90 % weight pruning, targeted dropout keeps more than 1 point of test
accuracy over the best (on validation) of three rivals pruned the same way: plain dropout,
magnitude pruning of the dense net, and a sparsifying regulariser (sparse variational dropout,
KL weight 0.1, on the same MLP). Margin: +1 point is our reading of "clearly more"; the paper's
own comparison table is not available to us, so the margin is not taken from it (a deviation
every record lists).

Roles: `targeted` (the targeted-dropout run, weight variant), `dropout`, `dense` and
`regulariser` (the rivals: the dropout net pruned, the dense net pruned by magnitude, the sparse-VD
net pruned), trained alike.
"""

from __future__ import annotations

from typing import Any

from ..catalog import MODES
from ..checkpoint import Checkpoint
from ..data import load_dataset
from ..errors import ConfigError
from ..pruning import PRUNING_FRACTIONS, prune_weights, pruning_curve
from ..report import plots
from ..report.html import figure, section, seeds_words
from ..stats import accuracy_ci, ci_label
from .accuracy import Hits, beats, best_on_val, points_gap, verdict_words
from .base import Claim, Control, Evidence, Paper
from .context import ClaimContext
from .record import ClaimRecord

FRACTION = 0.9  # the "heavy" pruning the verdict is read at
RIVALS = {"dropout": "dropout", "magnitude": "dense", "variational": "variational"}  # each rival's label -> the method its run must hold
BUDGET_KEYS = ("epochs", "batch_size", "lr", "optimizer", "schedule", "weight_decay")  # what "trained alike" compares


def check(claim: Claim, ctx: ClaimContext) -> Evidence:
    """Targeted dropout vs the rival validation picks (dropout or magnitude) at 90 % weight pruning.

    Weight pruning keeps, per unit, the largest |w| of every layer but the first and the last (as
    the reference); a net shipped pruned at a lower fraction prunes to 90 % exactly as its
    unpruned self would. The advantage is a mean over seeds and test examples.
    """
    targeted, dropout, dense, regulariser = (ctx.checkpoints(claim.run(role)) for role in ("targeted", "dropout", "dense", "regulariser"))
    comparison = pruning_comparison(targeted[0], {"dropout": dropout[0], "magnitude": dense[0], "variational": regulariser[0]})  # also refuses unlike budgets
    if targeted[0].manifest["method"]["params"].get("prune_fraction", 0.0) > FRACTION:
        raise ConfigError(f"{targeted[0].path} was shipped pruned beyond {FRACTION:.0%}; the claim needs it at most that pruned")
    hits = {
        label: Hits.of(runs, lambda c: prune_weights(c.model, FRACTION))
        for label, runs in (("targeted", targeted), ("dropout", dropout), ("magnitude", dense), ("variational", regulariser))
    }
    rival = ctx.pick(claim, "rival", lambda: best_on_val({k: h for k, h in hits.items() if k in RIVALS}))
    advantage, ci = points_gap(hits["targeted"].test, hits[rival].test)
    accuracy = {label: round(h.accuracy("test"), 2) for label, h in hits.items()}
    explanation = (
        f"at {FRACTION:.0%} weight pruning targeted dropout keeps {accuracy['targeted']}% test accuracy, dropout {accuracy['dropout']}%, "
        f"magnitude (dense pruned) {accuracy['magnitude']}%, sparse variational dropout {accuracy['variational']}% (means over seeds): "
        f"{advantage:+.2f} points over {rival}, the rival validation picks"
    )
    control_ci = tuple(100 * x for x in accuracy_ci(hits[rival].test))
    beaten = beats(ci, (0.0, 0.0))
    others = " and ".join(k for k in RIVALS if k != rival)
    control_text = (
        f"{rival} (better on validation than {others}) keeps {accuracy[rival]}% at {FRACTION:.0%} weight pruning: "
        f"targeted dropout is {advantage:+.2f} points ({ci_label()} {ci[0]:+.2f}..{ci[1]:+.2f}) from it, {verdict_words(beaten, 'targeted dropout')}"
    )
    control = Control(f"{rival} pruned to {FRACTION:.0%}", accuracy[rival], control_ci, beaten, control_text)
    explanation += f". Control: {control_text}"
    selection = {"rival": rival, "split": "val", "val_accuracy": {k: round(h.accuracy("val"), 3) for k, h in hits.items()}}
    runs = {"targeted": [c.path for c in targeted], "dropout": [c.path for c in dropout], "magnitude": [c.path for c in dense],
            "variational": [c.path for c in regulariser]}
    details = {"accuracy_at_fraction": accuracy, "fraction": FRACTION, **comparison}
    return Evidence(advantage, ci, explanation, [], runs, details, control, selection, min(map(len, (targeted, dropout, dense, regulariser))))


def pruning_comparison(targeted: Checkpoint, rivals: dict[str, Checkpoint]) -> dict[str, Any]:
    """Test accuracy under post-hoc pruning at PRUNING_FRACTIONS, units and weights, for targeted
    dropout and each rival (label -> checkpoint, see RIVALS).

    targeted: its manifest's curves (computed from the unpruned net when it was trained); each
    rival: its checkpoint pruned now. The runs must share data set, hidden widths and training
    budget, or ConfigError.
    """
    runs = {"targeted": (targeted, "targeted"), **{label: (c, RIVALS[label]) for label, c in rivals.items()}}
    for label, (checkpoint, method) in runs.items():
        if checkpoint.manifest["method"]["name"] != method:
            raise ConfigError(f"{checkpoint.path} is a {checkpoint.manifest['method']['name']!r} run; the {label} curve needs a {method!r} run")
    setups = {
        label: (c.manifest["data"]["name"], c.metrics.get("trained_widths", c.model.hidden_sizes()), [c.manifest["train"].get(k) for k in BUDGET_KEYS])
        for label, (c, _) in runs.items()
    }
    if len(set(map(repr, setups.values()))) > 1:
        raise ConfigError(f"the runs differ in data set, hidden widths or training budget ({setups}); train them alike to compare")
    data = load_dataset(targeted.manifest["data"]["name"])
    curves = {"targeted": targeted.manifest["curves"]["pruning"]}
    for label, checkpoint in rivals.items():
        curves[label] = {mode: pruning_curve(checkpoint.model, data, mode) for mode in MODES}
    return {"fractions": list(PRUNING_FRACTIONS), "data": data.name, "curves": curves}


def report_section(manifests: dict[str, dict], records: list[ClaimRecord]) -> str:
    """Targeted dropout under post-hoc pruning, beside dropout and magnitude (the claim's curves).

    Each targeted run contributes the curve of its own mode (the weight variant to weight
    pruning, the unit variant to unit pruning); dropout and magnitude are the claim's curves.
    """
    record = next((r for r in records if "curves" in r.details), None)
    rivals = record.details["curves"] if record else {}
    seeds = seeds_words(m for m in manifests.values() if m["method"]["name"] == "targeted")
    figures = []
    for mode in ("weight", "unit"):
        targeted = {
            name: m["curves"]["pruning"][mode]
            for name, m in manifests.items()
            if m["method"]["name"] == "targeted" and m["method"]["params"].get("mode") == mode
        }
        if not targeted:
            continue
        others = {label: curves[mode] for label, curves in rivals.items() if label != "targeted"}
        series = {label: [(p["fraction"], 100 * p["accuracy"]) for p in points] for label, points in {**targeted, **others}.items()}
        marks = claim_marks(record, next(iter(targeted))) if mode == "weight" else {}
        figures.append(figure(plots.lines(series, f"fraction of {mode}s pruned post hoc", "test accuracy %", f"{mode} pruning, one training each ({seeds})",
                                          min_yspan=plots.MIN_ACCURACY_SPAN, marks=marks, marks_label="the claim: mean over seeds")))
    caption = ('<p class="muted">Each curve is one training (the first seed); the diamonds are what the verdict compares: '
               "the mean over every seed and the test examples at 90 % weight pruning.</p>")
    return section("Targeted dropout: accuracy vs pruned fraction", caption + "".join(figures)) if figures else ""


def claim_marks(record: ClaimRecord | None, targeted_name: str) -> dict[str, tuple[float, float]]:
    """The claim's accuracy of each curve (mean over seeds) at its pruning fraction, keyed by the curve's name."""
    if record is None:
        return {}
    means = record.details.get("accuracy_at_fraction", {})
    return {targeted_name if label == "targeted" else label: (record.details["fraction"], accuracy) for label, accuracy in means.items()}


CLAIM = Claim(
    id="gomez2019-pruning",
    paper="Gomez et al. 2019, Learning Sparse Networks Using Targeted Dropout (arXiv 1905.13678)",
    claim=(
        "Under heavy post-hoc pruning a net trained with targeted dropout keeps clearly more accuracy than plain dropout, "
        "magnitude pruning of a dense net, or a sparsifying regulariser."
    ),
    metric="test-accuracy advantage over the rival (dropout, magnitude or sparse VD, picked on validation) at 90 % weight pruning",
    claimed="clearly more", unit="points", bound=1.0,
    tolerance="the interval (seeds x test examples) of the advantage above +1 point",
    runs={"targeted": "targeted-weight", "dropout": "dropout", "dense": "dense", "regulariser": "variational"},
    check=check,
    paper_setup={"other": [("margin", "the paper's comparison table", "+1 point, our reading of 'clearly more' (the table is not available to us)", True),
                           ("model and data", "ResNet-32 on CIFAR-10, Transformer", "a 3 x 1024 MLP on the plan's images", True)]},
)

PAPER = Paper("Gomez et al. 2019", (CLAIM,), report_section)
