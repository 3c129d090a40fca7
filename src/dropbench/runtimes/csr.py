"""CSR forms of plain models, for the `torch-sparse` inference runner.

Linear weights become torch sparse CSR matrices and run as CSR x dense products (MKL sparse on
CPU, cuSPARSE on CUDA); Conv2d layers run as im2col followed by the same product. Only layers with
at most MAX_DENSITY non-zero weights are converted: on denser ones the dense kernels win (LeNet-5's
first conv, 66 % non-zero, ran 1.6x slower as CSR at batch 64). Embeddings and LSTMs stay dense.
The converted model computes what the plain model computes.
"""

from __future__ import annotations

import copy
import warnings

import torch
import torch.nn.functional as F
from torch import nn

MAX_DENSITY = 0.25  # fraction of non-zero weights up to which a layer runs as CSR


def to_csr(weight: torch.Tensor, device: str) -> torch.Tensor:
    """[out, ...] weight as an [out, fan_in] CSR matrix."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return weight.detach().flatten(1).to(device).to_sparse_csr()


class CSRLinear(nn.Module):
    def __init__(self, layer: nn.Linear, device: str):
        super().__init__()
        self.weight = to_csr(layer.weight, device)
        self.bias = layer.bias.detach().to(device)[:, None]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(-1, x.shape[-1])
        y = torch.addmm(self.bias, self.weight, flat.t())  # [out, samples]
        return y.t().reshape(*x.shape[:-1], -1)


class CSRConv2d(nn.Module):
    def __init__(self, layer: nn.Conv2d, device: str):
        super().__init__()
        if layer.groups != 1 or layer.dilation != (1, 1) or not isinstance(layer.padding, tuple):
            raise ValueError("CSR convolution supports groups=1, dilation=1 and numeric padding only")
        self.weight = to_csr(layer.weight, device)
        self.bias = layer.bias.detach().to(device)[:, None]
        self.kernel_size, self.padding, self.stride = layer.kernel_size, layer.padding, layer.stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        (kh, kw), (ph, pw), (sh, sw) = self.kernel_size, self.padding, self.stride
        patches = F.pad(x, (pw, pw, ph, ph)).unfold(2, kh, sh).unfold(3, kw, sw)  # [batch, C, H', W', kh, kw]
        batch, _, out_h, out_w = patches.shape[:4]
        # im2col in the weight's (C, kh, kw) order, one copy; F.unfold + transpose took 10x longer
        cols = patches.permute(1, 4, 5, 0, 2, 3).reshape(-1, batch * out_h * out_w)
        y = torch.addmm(self.bias, self.weight, cols)  # [out, batch * H' * W']
        return y.view(-1, batch, out_h, out_w).transpose(0, 1)


def csr_model(model: nn.Module, device: str = "cpu") -> nn.Module:
    """A copy of `model` whose sparse Linear and Conv2d layers hold CSR weights (inference only)."""
    converted = copy.deepcopy(model).to(device).eval()
    for parent in list(converted.modules()):
        for name, child in parent.named_children():
            if isinstance(child, (nn.Linear, nn.Conv2d)) and child.weight.count_nonzero() <= MAX_DENSITY * child.weight.numel():
                setattr(parent, name, (CSRLinear if isinstance(child, nn.Linear) else CSRConv2d)(child, device))
    return converted
