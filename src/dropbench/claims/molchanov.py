"""Molchanov, Ashukha, Vetrov 2017: sparse variational dropout leaves LeNet-300-100 with 68x and
LeNet-5-Caffe with 280x fewer weights at negligible accuracy loss (arXiv 1701.05369).

The paper's sentence (abstract): sparse VD gives "up to 280 times reduction of the number of
parameters on LeNet architectures [...] with a negligible decrease of accuracy"; Table 1:
LeNet-300-100 1.92 % error at 68x, LeNet-5-Caffe 0.75 % at 280x. Hypothesis tested: the
compression (weights only, as the paper counts) reaches the table's figure, over seeds, at a KL
weight validation picks, with test accuracy within 1 point of the dense net. Margins: 68x and 280x
are the paper's; 1 point is our reading of "negligible" (the paper's own changes were -0.28 and
+0.05 points).

Roles: `dense` (the dense net of the same architecture and data) and `candidates` (the sparse-VD
runs, one per KL weight; validation picks one).
"""

from __future__ import annotations

import numpy as np

from ..checkpoint import Checkpoint
from ..errors import ConfigError
from ..methods.variational import sparsity_metrics
from ..pruning import prune_global
from ..stats import seed_mean_ci
from .accuracy import COMPARABLE_POINTS, Hits, beats, best_on_val, best_within, comparable, val_accuracy, verdict_words
from .base import Claim, Control, Evidence, Paper
from .context import ClaimContext

GLOBAL_FRACTIONS = (0.5, 0.75, 0.9, 0.95, 0.97, 0.98, 0.99, 0.993, 0.995, 0.997, 0.998, 0.999)  # the control's pruning grid


def check(claim: Claim, ctx: ClaimContext) -> Evidence:
    """Compression of the sparse-VD net whose KL weight validation picks, beside magnitude pruning.

    Validation picks the most compressed KL weight whose validation accuracy is within 1 point of
    the dense net; test accuracy is reported. Control: global magnitude pruning of the dense net
    at the highest fraction validation keeps within 1 point.
    """
    dense = ctx.checkpoints(claim.run("dense"))
    dense_hits = Hits.of(dense)
    candidates = {name: ctx.checkpoints(name) for name in ctx.names(claim.runs["candidates"])}
    for runs in candidates.values():
        if "compression" not in runs[0].metrics:
            raise ConfigError(f"{runs[0].path} records no weight compression; the claim needs a variational run")
    hits = {name: Hits.of(runs) for name, runs in candidates.items()}
    compression = {name: [c.metrics["compression"] for c in runs] for name, runs in candidates.items()}  # weights only, as the paper counts
    floor = dense_hits.accuracy("val") - COMPARABLE_POINTS
    chosen = ctx.pick(claim, "run", lambda: best_within(val_accuracy(hits), floor, rank=lambda name: float(np.mean(compression[name])))
                      or best_on_val(hits))
    measured, ci = float(np.mean(compression[chosen])), seed_mean_ci(compression[chosen])
    condition = comparable("the dense net", dense_hits, hits[chosen])
    control = magnitude_control(ctx, claim, dense, dense_hits, ci)
    sparse = candidates[chosen][0]
    data, epochs = sparse.manifest["data"], sparse.manifest["train"]["epochs"]
    explanation = (
        f"{measured:.1f}x fewer non-zero weights than the dense net ({chosen}, KL weight {sparse.manifest['method']['params']['kl_weight']:g} "
        f"chosen on validation; test accuracy {hits[chosen].accuracy('test'):.2f}% vs dense {dense_hits.accuracy('test'):.2f}%) "
        f"on {data['name']} ({data['sizes']['train']} training images, {epochs} epochs) rather than full MNIST (60,000 images, 200 epochs); "
        f"{condition.text}. Control: {control.text}"
    )
    selection = {"run": chosen, "control_fraction": control.details["fraction"] or None, "split": "val",
                 "val_accuracy": {n: round(h.accuracy("val"), 3) for n, h in {"dense": dense_hits, **hits}.items()}}
    details = {
        "compression_per_seed": compression[chosen], "test_accuracy": {n: round(h.accuracy("test"), 3) for n, h in {"dense": dense_hits, **hits}.items()},
        "candidates": {n: float(np.mean(c)) for n, c in compression.items()},
    }
    runs = {"baseline": [c.path for c in dense], "candidate": [c.path for c in candidates[chosen]]}
    return Evidence(measured, ci, explanation, [condition], runs, details, control, selection, min(len(dense), len(candidates[chosen])))


def magnitude_control(ctx: ClaimContext, claim: Claim, dense: list[Checkpoint], dense_hits: Hits, method_ci: tuple[float, float]) -> Control:
    """Global magnitude pruning of the dense net at the highest fraction within 1 point on validation (none: unpruned)."""
    pruned = {fraction: [prune_global(c.model, fraction) for c in dense] for fraction in GLOBAL_FRACTIONS}
    hits = {fraction: Hits.of_nets(dense, nets) for fraction, nets in pruned.items()}
    fraction = ctx.pick(claim, "control_fraction", lambda: best_within(val_accuracy(hits), dense_hits.accuracy("val") - COMPARABLE_POINTS, rank=float))
    nets, kept = (pruned[fraction], hits[fraction]) if fraction is not None else ([c.model for c in dense], dense_hits)
    fraction = fraction or 0.0
    compression = [sparsity_metrics(net)["compression"] for net in nets]
    ci = seed_mean_ci(compression)
    beaten = beats(method_ci, ci)
    text = (
        f"global magnitude pruning of the dense net at {100 * fraction:.1f}% (the highest fraction within 1 point on validation) gives "
        f"{np.mean(compression):.1f}x at test accuracy {kept.accuracy('test'):.2f}%: {verdict_words(beaten, 'sparse variational dropout')}"
    )
    details = {"fraction": fraction, "test_accuracy": round(kept.accuracy("test"), 3), "compression_per_seed": compression}
    return Control("global magnitude pruning of the dense net", float(np.mean(compression)), ci, beaten, text, details)


PAPER_NAME = "Molchanov, Ashukha, Vetrov 2017, Variational Dropout Sparsifies Deep Neural Networks (arXiv 1701.05369)"


def lenet_claim(model: str, label: str, claimed: float) -> Claim:
    return Claim(
        id=f"molchanov2017-{model.replace('lenet-300-100', 'lenet300')}", paper=PAPER_NAME,
        claim=f"Sparse variational dropout leaves {label} with {claimed:g}x fewer weights at negligible accuracy loss.",
        metric="compression (all weights / non-zero weights, biases left out)",
        claimed=claimed, unit="x", bound=claimed,
        tolerance=(
            f"the compression's interval (over seeds) >= {claimed:g}x and test accuracy within 1 point of the dense "
            f"{label.removesuffix('-Caffe')} on the same data; 5 % error split over the two intervals"
        ),
        runs={"dense": f"dense-{model}", "candidates": f"variational-{model}-"}, check=check, conditions=1,
        paper_setup={"data": "mnist", "data_words": "MNIST (60,000 training images)", "epochs": 200,
                     "other": [("KL weight", "1", "chosen on validation among the plan's (below 1)", True)]},
    )


LENET300 = lenet_claim("lenet-300-100", "LeNet-300-100", 68.0)
LENET5 = lenet_claim("lenet5", "LeNet-5-Caffe", 280.0)

PAPER = Paper("Molchanov, Ashukha, Vetrov 2017", (LENET300, LENET5))
