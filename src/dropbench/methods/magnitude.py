"""Baseline `magnitude`: post-hoc magnitude pruning of a densely trained net.

`mode=unit` removes the `fraction` of units with the lowest score from every hidden layer
(physically narrower layers); `criterion` picks the score: the L2 norm of a unit's incoming
weights ("incoming") or of its incoming and outgoing weights together ("group", as Torch-Pruning's
group magnitude importance). `mode=weight` zeroes the `fraction` smallest |w| of each unit's
incoming weights in every layer, input and output layers included (sparse weights). An optional
short fine-tune keeps the pruned structure.
"""

from __future__ import annotations

from torch import nn

from ..dataset import Dataset
from ..pruning import apply_masks, check_multiple_fits, prune_units, unit_scores, weight_masks
from ..train import TrainConfig, fit
from .base import Compacted, Method, plain_model


class Magnitude(Method):
    name = "magnitude"
    summary = "baseline: post-hoc magnitude pruning (units or weights), optional fine-tune"

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
