"""Baseline `magnitude`: post-hoc magnitude pruning of a densely trained net.

`mode=unit` removes the `fraction` of units with the lowest score from every hidden layer
(physically narrower layers); `criterion` picks the score: the L2 norm of a unit's incoming
weights ("incoming") or of its incoming and outgoing weights together ("group", as Torch-Pruning's
group magnitude importance). `mode=weight` zeroes the `fraction` smallest |w| of each unit's
incoming weights in every layer, input and output layers included (sparse weights). An optional
short fine-tune keeps the pruned structure.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from ..dataset import Dataset
from ..pruning import UNIT_CRITERIA, apply_masks, check_multiple_fits, prune_units, unit_scores, weight_masks
from ..train import TrainConfig, fit
from .base import Compacted, Method, check_width_multiple, plain_model


@dataclass(frozen=True)
class MagnitudeConfig:
    mode: str = "unit"  # "unit" or "weight"
    fraction: float = 0.5  # fraction of units (or of each unit's weights) removed
    finetune_epochs: int = 0
    finetune_lr: float = 1e-3
    criterion: str = "incoming"  # unit score: "incoming" (row norm) or "group" (row and column norm)
    width_multiple: int = 1  # each kept hidden width rounded up to a multiple of this (pruning.widened_to_multiple)

    def __post_init__(self):
        if self.mode not in ("unit", "weight"):
            raise ValueError(f"mode must be 'unit' or 'weight', got {self.mode!r}")
        if self.criterion not in UNIT_CRITERIA:
            raise ValueError(f"criterion must be one of {', '.join(UNIT_CRITERIA)}, got {self.criterion!r}")
        if not 0.0 <= self.fraction < 1.0:
            raise ValueError(f"fraction must be in [0, 1), got {self.fraction}")
        if self.finetune_epochs < 0:
            raise ValueError("finetune_epochs must be >= 0")
        check_width_multiple(self.width_multiple)


class Magnitude(Method):
    name = "magnitude"
    summary = "baseline: post-hoc magnitude pruning (units or weights), optional fine-tune"
    Config = MagnitudeConfig

    def prepare(self, model: nn.Module) -> nn.Module:
        if self.config.mode == "unit":
            check_multiple_fits(model, self.config.width_multiple)
        return model

    def compact(self, module: nn.Module, data: Dataset) -> Compacted:
        model = plain_model(module)
        if self.config.mode == "unit":
            pruned, masks = prune_units(model, self.config.fraction, unit_scores(model, self.config.criterion), self.config.width_multiple), {}
        else:
            masks = weight_masks(model, self.config.fraction, every_layer=True)
            apply_masks(model, masks)
            pruned = model
        if self.config.finetune_epochs:
            fit(pruned, data, TrainConfig(epochs=self.config.finetune_epochs, lr=self.config.finetune_lr), grad_masks=masks)
            apply_masks(pruned, masks)
        return Compacted(pruned.eval(), metrics={"pruned_fraction": self.config.fraction})
