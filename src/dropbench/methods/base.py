"""The interface every method plugs into (docs/design.md, "How to add a method").

A method may wrap or replace layers (`prepare`), add a regulariser to the loss (`regularizer`),
act each step (`on_step`), and finally `compact` the trained module into plain models that load
from their architecture spec alone. Hyper-parameters live in a small dataclass in the torch-free
catalogue (`catalog.METHOD_CONFIGS`, the method's `Config`), so the CLI, the plans' validation,
the manifest and the tests all see the same fields.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import nn

from ..catalog import METHOD_CONFIGS, method_config
from ..dataset import Dataset
from ..models import build_model
from ..train import StepState


@dataclass
class Compacted:
    """A plain model (what ships) plus what the method learned about it.

    `metrics` are merged into the manifest's metrics, `curves` into its curves (e.g. accuracy vs
    width), and each entry of `variants` is saved as a checkpoint of its own under
    `variants/<name>/` (e.g. structural dropout's widths from one training).
    """

    model: nn.Module
    metrics: dict[str, Any] = field(default_factory=dict)
    curves: dict[str, Any] = field(default_factory=dict)
    variants: dict[str, "Compacted"] = field(default_factory=dict)


class Method:
    """Base class: plain training, compaction = the model as trained.

    Subclasses set `name` and `summary`; their `Config` is catalog.METHOD_CONFIGS[name] (a
    dataclass whose `__post_init__` raises ValueError for out-of-range values).
    """

    name: ClassVar[str]
    summary: ClassVar[str]
    Config: ClassVar[type]

    def __init_subclass__(cls, **kwargs: Any):
        super().__init_subclass__(**kwargs)
        cls.Config = METHOD_CONFIGS[cls.name]  # the catalogue is the one home of a method's parameters

    def __init__(self, config: Any):
        self.config = config

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> "Method":
        """Build from user parameters, with one clear error for an unknown key or bad value."""
        return cls(method_config(cls.name, params))

    def params(self) -> dict[str, Any]:
        return dataclasses.asdict(self.config)

    # --- the hooks; defaults do nothing -------------------------------------------------------
    def prepare(self, model: nn.Module) -> nn.Module:
        """Return the module to train (may wrap `model` and share its parameters)."""
        return model

    def regularizer(self, module: nn.Module, state: StepState) -> torch.Tensor | None:
        """A term added to the mean cross-entropy (already divided by the data set size)."""
        return None

    def on_step(self, module: nn.Module, state: StepState) -> None:
        """Called after each optimiser step."""

    def compact(self, module: nn.Module, data: Dataset) -> Compacted:
        return Compacted(plain_model(module))

    def training_flop_fraction(self, module: nn.Module) -> float:
        """Expected fraction of the plain net's training-step GEMM FLOPs a step of `module` does.

        The FLOP-ideal of a training-time saving is 1 - this; methods that skip work override it.
        """
        return 1.0


def plain_model(module: nn.Module) -> nn.Module:
    """A fresh plain model of `module.arch` holding the trained weights (method extras dropped)."""
    model = build_model(module.arch)
    trained = module.state_dict()
    model.load_state_dict({k: trained[k].detach().clone() for k in model.state_dict()})
    return model.eval()
