"""`targeted`: targeted dropout (Gomez et al. 2019), weight and unit variants.

Torch stores weights as [out, in]: targeting works per OUTPUT unit, i.e. per row (the reference,
for-ai/TD `models/utils/dropouts.py`, is TensorFlow with [in, out] weights and works per column).

Only the weight layers between the input layer and the output (logit) layer are targeted, and
only they are pruned after training (`pruning.inner_sites`). In the reference the logit layer
is never targeted (`dropout=False` / a plain `tf.layers.dense`) and never pruned (`prune.py`
skips every weight named "logit"); its ResNet, the paper's main model, also leaves the first
conv alone (`init_conv` with `dropout=False`, and "init" is skipped by `prune.py`). Its small
MLP ("basic"), VGG and LeNet do target the first layer; we leave the input layer alone for every
model, as its ResNet does, so all pruned rivals keep the same dense first layer.

- weight: in each output unit of a targeted layer, the `gamma` fraction of incoming weights with
  the smallest |w| are candidates; each candidate is zeroed with probability `alpha`, resampled
  every step; survivors are not rescaled.
- unit: the `gamma` fraction of a targeted layer's units with the smallest incoming-weight L2
  norm are candidates; each is dropped (its activation zeroed for the whole batch) with
  probability `alpha`, resampled every step. These are the units of hidden sites 1 onward (site
  0 holds the input layer's units). The reference draws the unit mask per weight element, which
  thins a candidate unit instead of dropping it; we drop whole units, as the paper describes.

`ramp` > 0 raises gamma and alpha linearly from 0 over that fraction of training (the paper's
ramping; the reference ramps over fixed step counts). Evaluation is dense; after training the
net is pruned post hoc at PRUNING_FRACTIONS (units and weights, accuracy on the test split into
the manifest's curves) and shipped pruned at `prune_fraction`: a narrower net (unit) or sparse
weights (weight). The gomez claim
(claims/gomez.py) puts those curves beside `dropout` and `magnitude`.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn
from torch.nn.utils import parametrize

from ..catalog import MODES
from ..dataset import Dataset
from ..errors import ConfigError
from ..pruning import (
    check_multiple_fits,
    inner_sites,
    prune_inner_units,
    prune_weights,
    pruning_curve,
    smallest,
)
from ..train import StepState
from .base import Compacted, Method, plain_model


class Targeting:
    """The current gamma and alpha, shared by every targeted-dropout module of one net."""

    def __init__(self, gamma: float, alpha: float):
        self.gamma, self.alpha = gamma, alpha


class TargetedWeightDropout(nn.Module):
    """A parametrization of a weight: in training, zero each row's bottom-gamma |w| with probability alpha."""

    def __init__(self, targeting: Targeting):
        super().__init__()
        self.targeting = targeting

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return weight
        candidates = smallest(weight.detach().flatten(1).abs(), self.targeting.gamma).reshape(weight.shape)
        return weight.masked_fill(candidates & (torch.rand_like(weight) < self.targeting.alpha), 0.0)


class TargetedUnitDropout(nn.Module):
    """A hidden site: in training, drop each of the bottom-gamma units (by incoming L2 norm) with probability alpha."""

    def __init__(self, producer: nn.Module, targeting: Targeting):
        super().__init__()
        self.producer = [producer]  # a list, so the layer's parameters are not registered twice
        self.targeting = targeting

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return x
        norms = self.producer[0].weight.detach().flatten(1).norm(dim=1)
        drop = smallest(norms, self.targeting.gamma) & (torch.rand(norms.shape, device=x.device) < self.targeting.alpha)
        return x * (~drop).to(x.dtype).reshape(-1, *[1] * (x.dim() - 2))


def targeted_sites(model: nn.Module) -> dict[int, nn.Module]:
    """Hidden site -> the layer producing it, for the layers targeting acts on (neither first nor last).

    ConfigError for a model with no such layer, or whose units cannot be pruned post hoc (LSTM).
    """
    sites = {site: model.get_submodule(name) for site, name in inner_sites(model).items()}
    if not sites:
        raise ConfigError("targeted dropout leaves the input and output layers alone: give the model at least two hidden layers")
    return sites


class Targeted(Method):
    name = "targeted"
    summary = "targeted dropout: drop the low-magnitude weights or units more often (Gomez 2019)"

    def prepare(self, model: nn.Module) -> nn.Module:
        c = self.config
        if c.mode == "unit":
            check_multiple_fits(model, c.width_multiple)
        self.targeting = Targeting(*self._schedule(0.0))
        for site, layer in targeted_sites(model).items():
            if c.mode == "unit":
                model.sites[site] = TargetedUnitDropout(layer, self.targeting)
            else:
                parametrize.register_parametrization(layer, "weight", TargetedWeightDropout(self.targeting))
        return model

    def _schedule(self, progress: float) -> tuple[float, float]:
        ramp = min(1.0, progress / self.config.ramp) if self.config.ramp else 1.0
        return ramp * self.config.gamma, ramp * self.config.alpha

    def on_step(self, module: nn.Module, state: StepState) -> None:
        upcoming = dataclasses.replace(state, step=state.step + 1)
        self.targeting.gamma, self.targeting.alpha = self._schedule(upcoming.progress)

    def compact(self, module: nn.Module, data: Dataset) -> Compacted:
        for layer in targeted_sites(module).values():
            if parametrize.is_parametrized(layer, "weight"):
                parametrize.remove_parametrizations(layer, "weight", leave_parametrized=False)
        model = plain_model(module)
        curves = {"pruning": {mode: pruning_curve(model, data, mode) for mode in MODES}}
        f = self.config.prune_fraction
        shipped = prune_inner_units(model, f, width_multiple=self.config.width_multiple) if self.config.mode == "unit" else prune_weights(model, f)
        metrics = {"pruned_fraction": f, "trained_widths": model.hidden_sizes()}
        return Compacted(shipped, metrics=metrics, curves=curves)
