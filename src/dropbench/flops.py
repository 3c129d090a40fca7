"""Parameter and FLOP counts of plain models -> theoretical speedup of one checkpoint over another.

FLOPs are counted per sample (batch 1; for the LSTM, one sequence of `seq_len` tokens) as
2 x multiply-accumulates of the Linear / Conv2d / LSTM layers — the work that compaction removes.
Activations, pooling and biases are left out: they are small and the same kind of work in both
nets. `sparse_flops` counts only multiply-accumulates with a non-zero weight, what a sparse
kernel could skip to.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from .models import example_input


@dataclass(frozen=True)
class Counts:
    params: int
    nonzero_params: int
    flops: int
    sparse_flops: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _layer_flops(module: nn.Module, inp: torch.Tensor, out: torch.Tensor) -> tuple[int, int]:
    """(dense, sparse) FLOPs of one call of a Linear, Conv2d or LSTM at batch 1."""
    if isinstance(module, nn.Linear):
        positions = out.numel() // out.shape[-1]  # tokens or samples sharing the weight
        return 2 * positions * module.weight.numel(), 2 * positions * int(module.weight.count_nonzero())
    if isinstance(module, nn.Conv2d):
        positions = out.shape[-1] * out.shape[-2]
        return 2 * positions * module.weight.numel(), 2 * positions * int(module.weight.count_nonzero())
    if isinstance(module, nn.LSTM):
        steps = inp.shape[1] if module.batch_first else inp.shape[0]
        weights = [p for n, p in module.named_parameters() if n.startswith("weight_")]
        dense = sum(w.numel() for w in weights)
        nonzero = sum(int(w.count_nonzero()) for w in weights)
        return 2 * steps * dense, 2 * steps * nonzero
    return 0, 0


@torch.no_grad()
def count(model: nn.Module) -> Counts:
    """Count parameters, non-zeros and per-sample FLOPs of a plain model (built from its arch)."""
    totals = [0, 0]

    def hook(module, args, out):
        out = out[0] if isinstance(out, tuple) else out
        dense, sparse = _layer_flops(module, args[0], out)
        totals[0] += dense
        totals[1] += sparse

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d, nn.LSTM))]
    was_training = model.training
    try:
        model.eval()
        model(example_input(model.arch, 1))
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    params = sum(p.numel() for p in model.parameters())
    nonzero = sum(int(p.count_nonzero()) for p in model.parameters())
    return Counts(params=params, nonzero_params=nonzero, flops=totals[0], sparse_flops=totals[1])


def theoretical_speedup(baseline: dict, compacted: dict, sparse: bool = False) -> float:
    """FLOP ratio baseline / compacted from two manifests' metrics (sparse: non-zero FLOPs)."""
    key = "sparse_flops" if sparse else "flops"
    return baseline["flops"] / max(compacted[key], 1)
