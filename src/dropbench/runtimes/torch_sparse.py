"""torch sparse: Linear and Conv2d layers as CSR x dense products (runtimes/csr.py); pays off when most weights are zero."""

from __future__ import annotations

from ..checkpoint import Checkpoint
from ..errors import ConfigError
from ..profiles import Profile
from .base import Model, Runner, Runtime, example_batch, needs_checkpoint
from .csr import csr_model
from .torch_eager import inference


def make(checkpoint: Model, batch: int, profile: Profile) -> Runner:
    if profile.dtype != "float32":
        raise ConfigError(f"torch-sparse runs float32 only; profile {profile.name!r} asks for {profile.dtype}")
    return inference(csr_model(checkpoint.model, profile.device), example_batch(checkpoint, batch).to(profile.device))


def unsupported_reason(model: Model) -> str | None:
    if not isinstance(model, Checkpoint) or not model.is_sparse:
        return needs_checkpoint(model) or "the checkpoint has no zero weights to skip"
    return None


RUNTIME = Runtime("torch-sparse", make, unsupported_reason, by_default=True)
