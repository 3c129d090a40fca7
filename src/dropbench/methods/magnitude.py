"""Baseline `magnitude`: post-hoc magnitude pruning of a densely trained net.

`mode=unit` removes the `fraction` of hidden units with the smallest incoming-weight L2 norm
(physically narrower layers); `mode=weight` zeroes the `fraction` smallest |w| of each unit's
incoming weights (sparse weights). An optional short fine-tune keeps the pruned structure.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from ..data import Dataset
from ..pruning import apply_masks, prune_units, weight_masks
from .base import Compacted, Method, plain_model


@dataclass(frozen=True)
class MagnitudeConfig:
    mode: str = "unit"  # "unit" or "weight"
    fraction: float = 0.5  # fraction of units (or of each unit's weights) removed
    finetune_epochs: int = 0
    finetune_lr: float = 1e-3

    def __post_init__(self):
        if self.mode not in ("unit", "weight"):
            raise ValueError(f"mode must be 'unit' or 'weight', got {self.mode!r}")
        if not 0.0 <= self.fraction < 1.0:
            raise ValueError(f"fraction must be in [0, 1), got {self.fraction}")
        if self.finetune_epochs < 0:
            raise ValueError("finetune_epochs must be >= 0")


class Magnitude(Method):
    name = "magnitude"
    summary = "baseline: post-hoc magnitude pruning (units or weights), optional fine-tune"
    Config = MagnitudeConfig

    def compact(self, module: nn.Module, data: Dataset) -> Compacted:
        model = plain_model(module)
        if self.config.mode == "unit":
            pruned, masks = prune_units(model, self.config.fraction), {}
        else:
            masks = weight_masks(model, self.config.fraction)
            apply_masks(model, masks)
            pruned = model
        if self.config.finetune_epochs:
            from ..train import (  # train imports methods' types only; avoid a cycle
                TrainConfig,
                fit,
            )

            fit(pruned, data, TrainConfig(epochs=self.config.finetune_epochs, lr=self.config.finetune_lr), grad_masks=masks)
            apply_masks(pruned, masks)
        return Compacted(pruned.eval(), metrics={"pruned_fraction": self.config.fraction})
