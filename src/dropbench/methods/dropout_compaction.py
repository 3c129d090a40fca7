"""`dropout-compaction`: Kubo, Tucker & Wiesler 2016 — a reconstruction from the paper's abstract.

Each hidden unit d has a learnable retention probability p_d = sigmoid(logit_d). Training
multiplies the unit's activation by a relaxed Bernoulli(p_d) sample; evaluation multiplies it by
p_d (the expected mask: no inverted scaling). A bimodal Beta(a, b) prior with a, b < 1,
`-sum_d [(a-1) log p_d + (b-1) log(1-p_d)]`, pushes every p_d toward 0 or 1 (b > a by default:
0 pulls harder, so a unit has to earn its place); its `strength` (in units of one pass over the
training set) sets how many units go. Compaction removes the units
with p_d < threshold and folds the survivors' p_d into the next layer's incoming weights.

Gradient estimator: the relaxed Bernoulli (Concrete / Gumbel-sigmoid, Maddison et al. 2017;
Jang et al. 2017), z = sigmoid((logit + log u - log(1-u)) / temperature), u ~ U(0, 1). It gives
a low-variance pathwise gradient through every unit's mask in the same backward pass; a
score-function estimator would need a baseline per unit and far more steps for thousands of
units. The price is a small bias (z is not exactly 0 or 1), which evaluation by p_d absorbs.
"""

from __future__ import annotations

import math
import torch
from torch import nn

from ..dataset import Dataset
from ..pruning import check_multiple_fits, remove_units, site_producers, widened_to_multiple
from ..train import StepState, evaluate
from .base import Compacted, Method, plain_model

PRIOR_EPS = 1e-6  # p is clamped to [eps, 1 - eps] inside the prior's logs
THRESHOLD_SWEEP = (0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9)


class RetentionGate(nn.Module):
    """Multiplies each unit (feature or channel, axis 1) by a relaxed Bernoulli(p) mask; by p in eval."""

    def __init__(self, units: int, init_retention: float, temperature: float, logit_gain: float):
        super().__init__()
        self.temperature, self.logit_gain = temperature, logit_gain
        init_logit = math.log(init_retention / (1 - init_retention))
        self.raw_logit = nn.Parameter(torch.full((units,), init_logit / logit_gain))

    def logit(self) -> torch.Tensor:
        return self.logit_gain * self.raw_logit

    def retention(self) -> torch.Tensor:
        return torch.sigmoid(self.logit())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        per_unit = [1] * (x.dim() - 2)  # conv channels: one mask per channel
        if not self.training:
            return x * self.retention().reshape(-1, *per_unit)
        u = torch.rand(x.shape[0], len(self.raw_logit), device=x.device).clamp(PRIOR_EPS, 1 - PRIOR_EPS)
        z = torch.sigmoid((self.logit() + torch.log(u) - torch.log1p(-u)) / self.temperature)
        return x * z.reshape(*z.shape, *per_unit)


def beta_prior(p: torch.Tensor, a: float, b: float) -> torch.Tensor:
    """-sum [(a-1) log p + (b-1) log(1-p)] with p clamped to [eps, 1-eps]: the negative log Beta(a, b)."""
    p = p.clamp(PRIOR_EPS, 1 - PRIOR_EPS)
    return -((a - 1) * torch.log(p) + (b - 1) * torch.log1p(-p)).sum()


def compact_at(model: nn.Module, retention: list[torch.Tensor], threshold: float, width_multiple: int = 1) -> nn.Module:
    """Remove the units with retention < threshold, fold the rest's retention into the next layer;
    each kept width rounded up to a multiple of `width_multiple` with the next highest-retention units.

    A layer keeps at least its highest-retention unit: an over-strong prior yields a collapsed
    but valid checkpoint (a point on the strength sweep), not an error after training.
    """
    keep = [torch.nonzero(p >= threshold).flatten() if (p >= threshold).any() else p.argmax().reshape(1) for p in retention]
    return remove_units(model, widened_to_multiple(keep, retention, width_multiple), retention)


def gates(module: nn.Module) -> list[RetentionGate]:
    return [site for site in module.sites if isinstance(site, RetentionGate)]


class DropoutCompaction(Method):
    name = "dropout-compaction"
    summary = "learned per-unit retention with a bimodal Beta prior; low-retention units removed (Kubo 2016, reconstruction)"

    def prepare(self, model: nn.Module) -> nn.Module:
        c = self.config
        check_multiple_fits(model, c.width_multiple)
        for i, layer in enumerate(site_producers(model)):  # ConfigError for models without removable units
            model.sites[i] = RetentionGate(layer.weight.shape[0], c.init_retention, c.temperature, c.logit_gain)
        return model

    def regularizer(self, module: nn.Module, state: StepState) -> torch.Tensor:
        prior = sum(beta_prior(g.retention(), self.config.a, self.config.b) for g in gates(module))
        return self.config.strength * prior / state.dataset_size

    def compact(self, module: nn.Module, data: Dataset) -> Compacted:
        retention = [g.retention().detach() for g in gates(module)]
        model = plain_model(module)
        total = sum(len(p) for p in retention)
        sweep = []
        for threshold in THRESHOLD_SWEEP:
            narrow = compact_at(model, retention, threshold)
            kept = sum(narrow.hidden_sizes()) / total
            sweep.append({"threshold": threshold, "kept_fraction": kept, "val_accuracy": evaluate(narrow, data, "val")["accuracy"]})
        shipped = compact_at(model, retention, self.config.threshold, self.config.width_multiple)
        widths = shipped.hidden_sizes()
        metrics = {"hidden_widths": widths, "trained_widths": model.hidden_sizes(), "hidden_kept_fraction": sum(widths) / total}
        return Compacted(shipped, metrics=metrics, curves={"retention_threshold": sweep})
