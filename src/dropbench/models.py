"""The three model kinds, each rebuilt from an architecture spec (a plain dict in the manifest).

Every model exposes `sites`: one module slot after each hidden activation (nn.Identity in a plain
model). Methods plug their per-unit modules there (dropout, gates, ...) without re-implementing
forward. A compacted model is the same class with narrower widths, so it loads from its spec
alone.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .catalog import MODELS
from .dataset import Dataset
from .errors import ConfigError

Arch = dict[str, Any]


class MLP(nn.Module):
    """widths = [inputs, hidden..., classes]; ReLU between layers.

    `input_index` (optional) keeps only those flattened input features: a compacted net that no
    longer reads some pixels.
    """

    def __init__(self, arch: Arch):
        super().__init__()
        self.arch = arch
        widths = arch["widths"]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.sites = nn.ModuleList(nn.Identity() for _ in widths[1:-1])
        index = arch.get("input_index")
        self.register_buffer("input_index", torch.tensor(index, dtype=torch.int64) if index is not None else None, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.flatten(1)
        if self.input_index is not None:
            x = x.index_select(1, self.input_index)
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.sites):
                x = self.sites[i](F.relu(x))
        return x

    def hidden_sizes(self) -> list[int]:
        return list(self.arch["widths"][1:-1])


class LeNet5(nn.Module):
    """LeNet-5-Caffe: conv 20@5x5, max-pool 2, conv 50@5x5, max-pool 2, FC 500, FC classes."""

    def __init__(self, arch: Arch):
        super().__init__()
        self.arch = arch
        c_in = arch["input_shape"][0]
        k, pad = arch["kernel"], arch["padding"]
        c1, c2 = arch["conv"]
        self.convs = nn.ModuleList([nn.Conv2d(c_in, c1, k, padding=pad), nn.Conv2d(c1, c2, k, padding=pad)])
        side = lenet_feature_side(arch)
        fc_widths = [c2 * side * side, *arch["fc"], arch["classes"]]
        self.fcs = nn.ModuleList(nn.Linear(a, b) for a, b in zip(fc_widths[:-1], fc_widths[1:]))
        self.sites = nn.ModuleList(nn.Identity() for _ in range(2 + len(arch["fc"])))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, conv in enumerate(self.convs):
            x = self.sites[i](F.relu(F.max_pool2d(conv(x), 2)))
        x = x.flatten(1)
        for j, fc in enumerate(self.fcs):
            x = fc(x)
            if j < len(self.fcs) - 1:
                x = self.sites[2 + j](F.relu(x))
        return x

    def hidden_sizes(self) -> list[int]:
        return [*self.arch["conv"], *self.arch["fc"]]


class LSTMLanguageModel(nn.Module):
    """Embedding -> stacked single-layer LSTMs -> linear head over the vocabulary.

    Sites: after the embedding and after each LSTM layer (the Zaremba dropout placement).
    """

    def __init__(self, arch: Arch):
        super().__init__()
        self.arch = arch
        self.embed = nn.Embedding(arch["vocab"], arch["embed"])
        sizes = [arch["embed"], *arch["hidden"]]
        self.lstms = nn.ModuleList(nn.LSTM(a, b, batch_first=True) for a, b in zip(sizes[:-1], sizes[1:]))
        self.head = nn.Linear(sizes[-1], arch["vocab"])
        self.sites = nn.ModuleList(nn.Identity() for _ in sizes)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.sites[0](self.embed(tokens))
        for i, lstm in enumerate(self.lstms):
            x = self.sites[i + 1](lstm(x)[0])
        return self.head(x)

    def hidden_sizes(self) -> list[int]:
        return [self.arch["embed"], *self.arch["hidden"]]


def run_lstm(x: torch.Tensor, weight_ih: torch.Tensor, weight_hh: torch.Tensor, bias_ih: torch.Tensor, bias_hh: torch.Tensor) -> torch.Tensor:
    """One single-layer batch-first LSTM over `x` with the given weights, from a zero state (the fused kernel)."""
    zeros = x.new_zeros(1, x.shape[0], weight_hh.shape[1])
    return torch.lstm(x, (zeros, zeros), [weight_ih, weight_hh, bias_ih, bias_hh], True, 1, 0.0, True, False, True)[0]


KINDS = {"mlp": MLP, "lenet5": LeNet5, "lstm": LSTMLanguageModel}


def lenet_feature_side(arch: Arch) -> int:
    """Spatial side of the feature map after the two conv + pool stages."""
    side, k, pad = arch["input_shape"][1], arch["kernel"], arch["padding"]
    for _ in range(2):
        side = (side + 2 * pad - k + 1) // 2
    return side


def default_arch(model: str, data: Dataset, hidden: list[int] | None = None) -> Arch:
    """The architecture spec for a model name on a data set; `hidden` overrides the widths."""
    if model not in MODELS:
        raise ConfigError(f"unknown model {model!r}; choose one of: {', '.join(MODELS)}")
    kind, default_hidden = MODELS[model]
    hidden = list(hidden) if hidden else list(default_hidden)
    if any(h < 1 for h in hidden):
        raise ConfigError(f"hidden widths must be positive, got {hidden}")
    if (kind == "lstm") != (data.kind == "language"):
        need = "the text corpus (--data pydoc-text)" if kind == "lstm" else "a classification data set"
        raise ConfigError(f"model {model!r} needs {need}; {data.name!r} is a {data.kind} set")
    if kind == "mlp":
        return {"kind": "mlp", "input_shape": list(data.input_shape), "widths": [math.prod(data.input_shape), *hidden, data.num_classes]}
    if kind == "lenet5":
        if len(data.input_shape) != 3:
            raise ConfigError(f"lenet5 needs image data [C, H, W]; {data.name!r} has samples of shape {list(data.input_shape)}")
        side = data.input_shape[1]
        arch = {
            "kind": "lenet5",
            "input_shape": list(data.input_shape),
            "conv": [20, 50],
            "fc": hidden,
            "classes": data.num_classes,
            "kernel": 5,
            "padding": 0 if side >= 28 else 2,
        }
        if lenet_feature_side(arch) < 1:
            raise ConfigError(f"lenet5 cannot run on {side}x{side} images")
        return arch
    return {"kind": "lstm", "vocab": data.num_classes, "embed": 64, "hidden": hidden, "seq_len": 64}


def build_model(arch: Arch) -> nn.Module:
    """Rebuild a model from its spec; raises ConfigError for an unknown or malformed spec."""
    cls = KINDS.get(arch.get("kind")) if isinstance(arch, dict) else None
    if cls is None:
        raise ConfigError(f"unknown architecture kind {arch.get('kind') if isinstance(arch, dict) else arch!r}; known: {', '.join(KINDS)}")
    try:
        return cls(arch)
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise ConfigError(f"malformed {arch['kind']} architecture spec: {e}") from None


def example_input(arch: Arch, batch: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """A random input of the right shape and dtype (for timing, export and FLOP counting)."""
    if arch["kind"] == "lstm":
        return torch.randint(0, arch["vocab"], (batch, arch["seq_len"]), generator=generator)
    return torch.rand(batch, *arch["input_shape"], generator=generator)
