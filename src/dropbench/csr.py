"""CSR forms of plain models, for the `torch-sparse` inference runner.

Linear weights become torch sparse CSR matrices and run as CSR x dense products (MKL sparse on
CPU, cuSPARSE on CUDA); Conv2d layers run as unfold (im2col) followed by the same product.
Embeddings and LSTMs stay dense. The converted model computes what the plain model computes.
"""

from __future__ import annotations

import copy
import warnings

import torch
import torch.nn.functional as F
from torch import nn


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
        if layer.groups != 1 or layer.dilation != (1, 1):
            raise ValueError("CSR convolution supports groups=1, dilation=1 only")
        self.weight = to_csr(layer.weight, device)
        self.bias = layer.bias.detach().to(device)[:, None]
        self.kernel_size, self.padding, self.stride = layer.kernel_size, layer.padding, layer.stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, _, height, width = x.shape
        cols = F.unfold(x, self.kernel_size, padding=self.padding, stride=self.stride)  # [batch, fan_in, positions]
        fan_in, positions = cols.shape[1:]
        y = torch.addmm(self.bias, self.weight, cols.transpose(0, 1).reshape(fan_in, batch * positions))
        out_h = (height + 2 * self.padding[0] - self.kernel_size[0]) // self.stride[0] + 1
        return y.reshape(-1, batch, out_h, positions // out_h).transpose(0, 1)


def csr_model(model: nn.Module, device: str = "cpu") -> nn.Module:
    """A copy of `model` whose Linear and Conv2d layers hold CSR weights (inference only)."""
    converted = copy.deepcopy(model).to(device).eval()
    for parent in list(converted.modules()):
        for name, child in parent.named_children():
            if isinstance(child, nn.Linear):
                setattr(parent, name, CSRLinear(child, device))
            elif isinstance(child, nn.Conv2d):
                setattr(parent, name, CSRConv2d(child, device))
    return converted
