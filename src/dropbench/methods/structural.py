"""`structural`: structural dropout (Knodt 2022) — one training, every width.

Per hidden layer and forward pass, with probability `p` a cut c is drawn uniformly from
{lower_bound, lower_bound + step, ..., U - 1}; the layer keeps its first c units, scaled by U / c,
and drops the rest. Only the first c rows of the layer (and the first c columns of the next one)
are computed: the forward slices weight views, so a cut saves real FLOPs. These are the
semantics of the paper-time reference (JulianKnodt/structural_dropout, `src/ctrl.py`
`StructuredDropout.pre_apply_linear`), not the later cosine schedule that always cuts; random
draws come from torch's seeded generator instead of Python's `random`, so runs repeat.

After training, every width on a grid (`sweep_points` widths from lower_bound to U, the same
width for every hidden layer, as the reference's latent budget) is evaluated on validation; the
shipped model is the full-width net and the variants `keep99` / `keep95` are the smallest widths
keeping 99 % / 95 % of its validation accuracy, each a physically narrower net with the U / c
scale folded into the next layer.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..catalog import StructuralConfig
from ..dataset import Dataset
from ..errors import ConfigError
from ..pruning import check_multiple_fits, remove_units, rounded_width
from ..train import evaluate
from .base import Compacted, Method, plain_model

TARGETS = {"keep99": 0.99, "keep95": 0.95}  # variant name -> fraction of full-width val accuracy


class StructuralDropoutMLP(nn.Module):
    """Shares a plain MLP's layers (same state-dict keys); computes only the first c units of each hidden layer."""

    def __init__(self, model: nn.Module, config: StructuralConfig):
        super().__init__()
        self.arch, self.layers, self.config = model.arch, model.layers, config

    def draw_width(self, units: int) -> int:
        """The cut for one layer on one training forward pass (`units` = no cut)."""
        c = self.config
        if not self.training or c.lower_bound >= units or torch.rand(()) >= c.p:
            return units
        cuts = range(c.lower_bound, units, c.step)
        return cuts[int(torch.randint(len(cuts), ()))]

    def forward(self, x: torch.Tensor, widths: list[int] | None = None) -> torch.Tensor:
        """`widths` fixes each hidden layer's cut (the reference's eval-time latent budget)."""
        hidden, output = self.layers[:-1], self.layers[-1]
        widths = widths or [self.draw_width(layer.out_features) for layer in hidden]
        x = x.flatten(1)
        for layer, c in zip(hidden, widths):
            x = F.relu(F.linear(x, layer.weight[:c, : x.shape[1]], layer.bias[:c]))
            if c < layer.out_features:
                x = x * (layer.out_features / c)
        return F.linear(x, output.weight[:, : x.shape[1]], output.bias)


def narrow_to(model: nn.Module, width: int) -> nn.Module:
    """A plain MLP keeping the first `width` units of every hidden layer, the U / c scale folded in."""
    units = model.hidden_sizes()
    keep = [torch.arange(min(width, u)) for u in units]
    return remove_units(model, keep, [u / len(k) for u, k in zip(units, keep)])


class Structural(Method):
    name = "structural"
    summary = "structural dropout: random width cuts while training, then any width (Knodt 2022)"

    def prepare(self, model: nn.Module) -> nn.Module:
        if model.arch["kind"] != "mlp":
            raise ConfigError(f"structural dropout is implemented for MLPs, not {model.arch['kind']!r} models")
        check_multiple_fits(model, self.config.width_multiple)
        return StructuralDropoutMLP(model, self.config)

    def compact(self, module: nn.Module, data: Dataset) -> Compacted:
        model = plain_model(module)
        widest = max(model.hidden_sizes())
        grid = torch.linspace(min(self.config.lower_bound, widest), widest, self.config.sweep_points).round().int().unique().tolist()
        curve = []
        for width in grid:
            narrow = narrow_to(model, width)
            curve.append(
                {
                    "width": width,
                    "val_accuracy": evaluate(narrow, data, "val")["accuracy"],
                    "test_accuracy": evaluate(narrow, data, "test")["accuracy"],
                }
            )
        full = curve[-1]["val_accuracy"]
        variants = {}
        for name, target in TARGETS.items():
            chosen = next(point["width"] for point in curve if point["val_accuracy"] >= target * full)
            width = rounded_width(chosen, widest, self.config.width_multiple)
            variants[name] = Compacted(narrow_to(model, width), metrics={"width": width, "width_fraction": width / widest, "target": target})
        metrics = {"full_width_val_accuracy": full, **{f"{name}_width": v.metrics["width"] for name, v in variants.items()}}
        return Compacted(model, metrics=metrics, curves={"width": curve}, variants=variants)
