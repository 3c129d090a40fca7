"""Baseline `dropout`: standard (inverted) Bernoulli dropout after every hidden activation.

`mask=element` (default) is nn.Dropout at every site: a mask per element, so per sample and, on
the LSTM, per time step, between layers only (the Zaremba placement; recurrent connections are
never dropped).

`mask=unit` drops whole units, the connections `approximate-random`'s row pattern drops but with
an independent Bernoulli(p) per unit instead of a regular pattern: one mask per training step
and hidden site, shared by the batch (and on the LSTM by the whole sequence), with inverted
1 / (1 - p) scaling. On the LSTM a dropped hidden unit is zeroed in its output and in its
recurrent connection (its W_hh column), and a dropped embedding dimension in the embedding's
output; the dropped unit's own gate rows are still computed (and then never read), so this is
the full-cost dense twin of approximate-random's narrow LSTM. On the MLP and LeNet-5 the mask
covers a unit or a conv channel at each hidden site.
"""

from __future__ import annotations

import torch
from torch import nn

from ..models import run_lstm
from .base import Method


def scaled_unit_mask(units: int, p: float, device: torch.device | str = "cpu") -> torch.Tensor:
    """A Bernoulli(1 - p) keep mask over `units`, divided by 1 - p (inverted dropout)."""
    return (torch.rand(units, device=device) >= p).float() / (1.0 - p)


class UnitDropout(nn.Module):
    """A hidden site that drops whole units (dim 1: features or conv channels), one mask for the batch."""

    def __init__(self, p: float):
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        mask = scaled_unit_mask(x.shape[1], self.p, x.device).to(x.dtype)
        return x * mask.reshape(1, -1, *[1] * (x.dim() - 2))


class UnitDropoutLSTM(nn.Module):
    """The LSTM language model with whole units dropped for the sequence, recurrence included.

    Shares the plain model's layers (same state_dict keys).
    """

    def __init__(self, model: nn.Module, p: float):
        super().__init__()
        self.arch, self.embed, self.lstms, self.head, self.p = model.arch, model.embed, model.lstms, model.head, p

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return self.masked(tokens, [None] * (len(self.lstms) + 1))
        sizes = [self.arch["embed"], *self.arch["hidden"]]
        return self.masked(tokens, [scaled_unit_mask(n, self.p, tokens.device) for n in sizes])

    def masked(self, tokens: torch.Tensor, masks: list[torch.Tensor | None]) -> torch.Tensor:
        """Forward with site i's units multiplied by `masks[i]` (None = kept unscaled) wherever they are read."""
        x = self.embed(tokens)
        x = x * masks[0] if masks[0] is not None else x
        for lstm, mask in zip(self.lstms, masks[1:]):
            w_hh = lstm.weight_hh_l0 if mask is None else lstm.weight_hh_l0 * mask  # the recurrent read of each unit
            x = run_lstm(x, lstm.weight_ih_l0, w_hh, lstm.bias_ih_l0, lstm.bias_hh_l0)
            x = x * mask if mask is not None else x  # the next layer's (or the head's) read
        return self.head(x)


class Dropout(Method):
    name = "dropout"
    summary = "baseline: standard Bernoulli dropout at every hidden layer"

    def prepare(self, model: nn.Module) -> nn.Module:
        if self.config.mask == "unit" and model.arch["kind"] == "lstm":
            return UnitDropoutLSTM(model, self.config.p)
        for i in range(len(model.sites)):
            model.sites[i] = UnitDropout(self.config.p) if self.config.mask == "unit" else nn.Dropout(self.config.p)
        return model
