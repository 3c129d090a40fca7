"""torch sparse: Linear and Conv2d layers as sparse x dense products (runtimes/csr.py); pays off when most weights are zero.

`torch-sparse` runs the device's default format (csr.DEFAULT_FORMAT); `torch-sparse-<format>`
(opt-in) each other format, to compare them through the same timing code. A layer left dense is
named in the runner's warnings.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial

from ..checkpoint import Checkpoint
from ..errors import ConfigError
from ..profiles import Profile
from .base import Model, Runner, Runtime, example_batch, needs_checkpoint
from .csr import FORMATS, csr_model, kept_dense
from .torch_eager import inference


def make(checkpoint: Model, batch: int, profile: Profile, sparse_format: str | None = None) -> Runner:
    if profile.dtype != "float32":
        raise ConfigError(f"torch-sparse runs float32 only; profile {profile.name!r} asks for {profile.dtype}")
    model = csr_model(checkpoint.model, profile.device, sparse_format)
    runner = inference(model, example_batch(checkpoint, batch).to(profile.device))
    return replace(runner, warnings=kept_dense(checkpoint.model))


def unsupported_reason(model: Model) -> str | None:
    if not isinstance(model, Checkpoint) or not model.is_sparse:
        return needs_checkpoint(model) or "the checkpoint has no zero weights to skip"
    return None


RUNTIME = Runtime("torch-sparse", make, unsupported_reason, by_default=True, sparse=True)
FORMAT_RUNTIMES = tuple(
    Runtime(f"torch-sparse-{name}", partial(make, sparse_format=name), unsupported_reason, by_default=False, sparse=True)
    for name in FORMATS if name != "dense"
)
