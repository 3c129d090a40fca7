"""Sparse forms of plain models, for the `torch-sparse` inference runner.

A sparse layer's weight becomes a matrix in one of FORMATS and runs as sparse x dense products:
Linear layers directly, Conv2d layers after im2col. The runner uses its device's DEFAULT_FORMAT,
the fastest that benchmarks/sparse_kernels.py found (docs/sparse-and-approximate.md): scipy's CSR
product on CPU (2.25x the dense LeNet-300-100 at batch 64 on 2 threads, torch's MKL CSR 1.34x),
torch CSR (cuSPARSE) on CUDA.
Only layers with at most MAX_DENSITY non-zero weights are converted: on denser ones the dense
kernels win (benchmarks/realisation.py --before, batch 64, 2 threads: the 1024-wide MLPs pruned
to 25 % non-zero ran 0.54x / 0.87x the dense net in scipy / torch CSR; LeNet-5's first conv,
66 % non-zero, 1.6x slower as CSR), while the sparse VD layers, at most 8 % non-zero, run faster. Other layers
with weights (embeddings, LSTMs) and convolutions that are grouped, dilated or padded by name stay
dense too; `kept_dense` says which and why, and the runner carries it in its warnings. The
converted model computes what the plain model computes.
"""

from __future__ import annotations

import copy
import warnings
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

MAX_DENSITY = 0.10  # fraction of non-zero weights up to which a layer runs sparse
Product = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (bias [out, 1], cols [fan_in, n]) -> bias + W @ cols


def _torch_format(convert: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[torch.Tensor], Product]:
    def make(weight: torch.Tensor) -> Product:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Sparse .* support is in beta")
            sparse = convert(weight)
        return lambda bias, cols: torch.addmm(bias, sparse, cols)

    return make


def _scipy_csr(weight: torch.Tensor) -> Product:
    import scipy.sparse

    sparse = scipy.sparse.csr_matrix(weight.cpu().numpy())  # scipy's product runs on one thread
    return lambda bias, cols: bias + torch.from_numpy(sparse @ cols.numpy())


def _bsr(block: int) -> Callable[[torch.Tensor], Product]:
    """Blocks of block x block non-zeros: the weight padded with zero rows and columns to whole
    blocks, the input with zero rows, the output cut back."""
    def make(weight: torch.Tensor) -> Product:
        out, fan_in = weight.shape
        padded = torch.zeros(-(-out // block) * block, -(-fan_in // block) * block, device=weight.device)
        padded[:out, :fan_in] = weight
        sparse = padded.to_sparse_bsr((block, block))

        def product(bias: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
            rows = F.pad(cols, (0, 0, 0, padded.shape[1] - fan_in))
            return bias + torch.mm(sparse, rows)[:out]

        return product
    return make


FORMATS: dict[str, Callable[[torch.Tensor], Product]] = {  # [out, fan_in] weight -> its product
    "dense": _torch_format(lambda w: w),
    "torch-csr": _torch_format(lambda w: w.to_sparse_csr()),
    "torch-coo": _torch_format(lambda w: w.to_sparse()),
    "scipy-csr": _scipy_csr,
    "torch-bsr-4": _bsr(4),
    "torch-bsr-16": _bsr(16),
}
DEFAULT_FORMAT = {"cpu": "scipy-csr", "cuda": "torch-csr"}


class CSRLinear(nn.Module):
    def __init__(self, layer: nn.Linear, device: str, sparse_format: str):
        super().__init__()
        self.product = FORMATS[sparse_format](layer.weight.detach().to(device))
        self.bias = layer.bias.detach().to(device)[:, None]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(-1, x.shape[-1])
        y = self.product(self.bias, flat.t())  # [out, samples]
        return y.t().reshape(*x.shape[:-1], -1)


class CSRConv2d(nn.Module):
    def __init__(self, layer: nn.Conv2d, device: str, sparse_format: str):
        super().__init__()
        self.product = FORMATS[sparse_format](layer.weight.detach().flatten(1).to(device))
        self.bias = layer.bias.detach().to(device)[:, None]
        self.kernel_size, self.padding, self.stride = layer.kernel_size, layer.padding, layer.stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        (kh, kw), (ph, pw), (sh, sw) = self.kernel_size, self.padding, self.stride
        patches = F.pad(x, (pw, pw, ph, ph)).unfold(2, kh, sh).unfold(3, kw, sw)  # [batch, C, H', W', kh, kw]
        batch, _, out_h, out_w = patches.shape[:4]
        # im2col in the weight's (C, kh, kw) order, one copy; F.unfold + transpose took 10x longer
        cols = patches.permute(1, 4, 5, 0, 2, 3).reshape(-1, batch * out_h * out_w)
        y = self.product(self.bias, cols)  # [out, batch * H' * W']
        return y.view(-1, batch, out_h, out_w).transpose(0, 1)


def dense_reason(layer: nn.Module) -> str | None:
    """Why a layer with weights runs dense in the sparse model, None when it runs sparse."""
    if not isinstance(layer, (nn.Linear, nn.Conv2d)):
        return f"{type(layer).__name__} has no sparse form here"
    if isinstance(layer, nn.Conv2d) and (layer.groups != 1 or layer.dilation != (1, 1) or not isinstance(layer.padding, tuple)):
        return "a grouped, dilated or name-padded convolution has no sparse form here"
    density = float(layer.weight.count_nonzero()) / layer.weight.numel()
    if density > MAX_DENSITY:
        return f"{100 * density:.0f} % non-zero, above the {100 * MAX_DENSITY:.0f} % at which sparse pays"
    return None


def kept_dense(model: nn.Module) -> tuple[str, ...]:
    """One line per layer with weights that `csr_model` leaves dense: its name and why."""
    return tuple(
        f"{name}: {reason}; kept dense" for name, layer in model.named_modules()
        if any(True for _ in layer.parameters(recurse=False)) and (reason := dense_reason(layer))
    )


def csr_model(model: nn.Module, device: str = "cpu", sparse_format: str | None = None) -> nn.Module:
    """A copy of `model` whose sparse Linear and Conv2d layers run in `sparse_format` (default: the
    device's DEFAULT_FORMAT; inference only); the others stay dense (`kept_dense`)."""
    sparse_format = sparse_format or DEFAULT_FORMAT[torch.device(device).type]
    converted = copy.deepcopy(model).to(device).eval()
    for parent in list(converted.modules()):
        for name, child in parent.named_children():
            if isinstance(child, (nn.Linear, nn.Conv2d)) and dense_reason(child) is None:
                setattr(parent, name, (CSRLinear if isinstance(child, nn.Linear) else CSRConv2d)(child, device, sparse_format))
    return converted
