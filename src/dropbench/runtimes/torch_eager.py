"""torch eager: the checkpoint's own module, in inference mode."""

from __future__ import annotations

import torch

from ..profiles import Profile
from .base import Model, Runner, Runtime, needs_checkpoint, torch_inputs


def inference(model: torch.nn.Module, x: torch.Tensor) -> Runner:
    def run() -> torch.Tensor:
        with torch.inference_mode():
            return model(x)

    return Runner(run)


def make(checkpoint: Model, batch: int, profile: Profile) -> Runner:
    return inference(*torch_inputs(checkpoint, batch, profile))


RUNTIME = Runtime("torch-eager", make, needs_checkpoint, by_default=True)
