"""Baseline `dropout`: standard (inverted) Bernoulli dropout after every hidden activation."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from .base import Method


@dataclass(frozen=True)
class DropoutConfig:
    p: float = 0.5  # probability of dropping a unit

    def __post_init__(self):
        if not 0.0 <= self.p < 1.0:
            raise ValueError(f"p must be in [0, 1), got {self.p}")


class Dropout(Method):
    name = "dropout"
    summary = "baseline: standard Bernoulli dropout at every hidden layer"
    Config = DropoutConfig

    def prepare(self, model: nn.Module) -> nn.Module:
        for i in range(len(model.sites)):
            model.sites[i] = nn.Dropout(self.config.p)
        return model
