"""`variational`: sparse variational dropout (Molchanov, Ashukha, Vetrov 2017, arXiv 1701.05369).

Every Linear / Conv2d weight gets a Gaussian posterior N(theta, sigma^2) with its own
log sigma^2 (init -10); log alpha = log sigma^2 - log theta^2, clipped to [-8, 8]. Training uses
the local reparameterisation trick: the pre-activation is sampled as
mean + sqrt(var + 1e-8) * eps with mean = x·theta and var = x^2·(alpha theta^2) (convolutions the
same way), which is Gaussian dropout with a learned rate per weight. The regulariser is the
paper's approximation of KL(q || log-uniform prior),

    -KL ~ k1 sigmoid(k2 + k3 log alpha) - 0.5 log1p(exp(-log alpha)) - k1,

summed over weights and added as beta * KL / N to the mean cross-entropy (N = training samples),
which is the paper's N * CE + beta * KL divided by N. beta warms up from 0 to 1. Weights with
log alpha >= 3 (dropout rate alpha / (1 + alpha) > 0.95) are zero at test time.

`train_clip` (the reference's LeNet runs, bayesgroup/variational-dropout-sparsifies-dnn
`nets/layers.py`, pass `train_clip=True`): in training the mean x·theta uses theta with the
weights at and above the threshold set to zero, as at test time. As in the reference the mask is
a constant (no gradient through it; a clipped weight gets no gradient from the mean), and the
variance uses the clipped theta in convolutions (`Conv2DVarDropOutARD`) but the full theta in
dense layers (`DenseVarDropOutARD`); we keep that asymmetry.

Compaction: the sparse net (theta masked) with its compression ratio and per-layer sparsity, and
a `structural` variant: hidden units no weight connects and input pixels no weight reads removed.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..catalog import LOG_ALPHA_LIMIT, VariationalConfig
from ..dataset import Dataset
from ..errors import ConfigError
from ..pruning import remove_unconnected_units, remove_unread_inputs
from ..train import StepState
from .base import Compacted, Method, plain_model

K1, K2, K3 = 0.63576, 1.87320, 1.48695


def kl_approximation(log_alpha: torch.Tensor) -> torch.Tensor:
    """Per-weight KL(q || log-uniform prior), the paper's approximation (eq. 14), >= 0."""
    return K1 - K1 * torch.sigmoid(K2 + K3 * log_alpha) + 0.5 * F.softplus(-log_alpha)


class SVDO:
    """What LinearSVDO and Conv2dSVDO share: log sigma^2, log alpha, the KL and the test-time mask."""

    weight: nn.Parameter
    log_sigma2: nn.Parameter
    threshold: float
    train_clip: bool
    clips_variance: bool  # train_clip also clips the variance (the reference's convolutions do)

    def _init_svdo(self, layer: nn.Module, init_log_sigma2: float, threshold: float, train_clip: bool) -> None:
        with torch.no_grad():
            self.weight.copy_(layer.weight)
            self.bias.copy_(layer.bias)
        self.log_sigma2 = nn.Parameter(torch.full_like(self.weight, init_log_sigma2))
        self.threshold, self.train_clip = threshold, train_clip

    def log_alpha(self) -> torch.Tensor:
        return (self.log_sigma2 - torch.log(self.weight**2 + 1e-8)).clamp(-LOG_ALPHA_LIMIT, LOG_ALPHA_LIMIT)

    def kl(self) -> torch.Tensor:
        """The layer's KL. Right after a training forward (the step's regulariser) it reuses that
        forward's log alpha: computing it once a step instead of three times took a LeNet-300-100
        step from 11.6 to 7.1 ms (2 threads)."""
        log_alpha = self.__dict__.pop("forward_log_alpha", None)
        return kl_approximation(self.log_alpha() if log_alpha is None else log_alpha).sum()

    def sparse_weight(self, log_alpha: torch.Tensor | None = None) -> torch.Tensor:
        """theta where log alpha < threshold, else 0: the deterministic test-time weight."""
        return self.weight * ((self.log_alpha() if log_alpha is None else log_alpha) < self.threshold)

    def op(self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        raise NotImplementedError  # F.linear or the convolution

    def moments(self, x: torch.Tensor, log_alpha: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Training-time mean and variance of the pre-activation (local reparameterisation)."""
        log_alpha = self.log_alpha() if log_alpha is None else log_alpha
        clipped = self.sparse_weight(log_alpha) if self.train_clip else self.weight
        theta = clipped if self.clips_variance else self.weight
        return self.op(x, clipped, self.bias), self.op(x * x, log_alpha.exp() * theta**2, None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Training: a sample of the pre-activation; eval: the deterministic sparse weight."""
        if not self.training:
            return self.op(x, self.sparse_weight(), self.bias)
        log_alpha = self.log_alpha()
        self.forward_log_alpha = log_alpha  # for this step's KL (kl), not a parameter or buffer
        mean, var = self.moments(x, log_alpha)
        return mean + torch.sqrt(var + 1e-8) * torch.randn_like(mean)


class LinearSVDO(SVDO, nn.Linear):
    clips_variance = False  # DenseVarDropOutARD: sigma from the unclipped W

    def __init__(self, layer: nn.Linear, init_log_sigma2: float = -10.0, threshold: float = 3.0, train_clip: bool = False):
        nn.Linear.__init__(self, layer.in_features, layer.out_features)
        self._init_svdo(layer, init_log_sigma2, threshold, train_clip)

    def op(self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        return F.linear(x, weight, bias)


class Conv2dSVDO(SVDO, nn.Conv2d):
    clips_variance = True  # Conv2DVarDropOutARD: sigma from the clipped W

    def __init__(self, layer: nn.Conv2d, init_log_sigma2: float = -10.0, threshold: float = 3.0, train_clip: bool = False):
        nn.Conv2d.__init__(self, layer.in_channels, layer.out_channels, layer.kernel_size, layer.stride, layer.padding)
        self._init_svdo(layer, init_log_sigma2, threshold, train_clip)

    def op(self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        return self._conv_forward(x, weight, bias)


def svdo_layers(module: nn.Module) -> dict[str, SVDO]:
    return {name: m for name, m in module.named_modules() if isinstance(m, SVDO)}


def beta(config: VariationalConfig, progress: float) -> float:
    """KL weight: 0 until warmup_start, linear to kl_weight at warmup_end (fractions of training)."""
    if progress >= config.warmup_end:
        return config.kl_weight
    if progress < config.warmup_start:
        return 0.0
    return config.kl_weight * (progress - config.warmup_start) / (config.warmup_end - config.warmup_start)


def sparsity_metrics(model: nn.Module) -> dict:
    """Compression = all weights / non-zero weights (Linear and Conv2d weights, biases excluded)."""
    layers = {name: m.weight for name, m in model.named_modules() if isinstance(m, (nn.Linear, nn.Conv2d))}
    total = sum(w.numel() for w in layers.values())
    nonzero = sum(int(w.count_nonzero()) for w in layers.values())
    return {
        "weights": total, "nonzero_weights": nonzero, "compression": total / max(nonzero, 1),
        "layer_sparsity": {name: 1.0 - int(w.count_nonzero()) / w.numel() for name, w in layers.items()},
    }


class Variational(Method):
    name = "variational"
    summary = "sparse variational dropout: a learned dropout rate per weight (Molchanov et al. 2017)"

    def prepare(self, model: nn.Module) -> nn.Module:
        if model.arch["kind"] not in ("mlp", "lenet5"):
            raise ConfigError(f"variational supports the mlp, lenet-300-100 and lenet5 models, not {model.arch['kind']!r}")
        c = self.config
        for layers in (getattr(model, name) for name in ("layers", "convs", "fcs") if hasattr(model, name)):
            for i, layer in enumerate(layers):
                svdo = LinearSVDO if isinstance(layer, nn.Linear) else Conv2dSVDO
                layers[i] = svdo(layer, c.init_log_sigma2, c.threshold, c.train_clip)
        return model

    def regularizer(self, module: nn.Module, state: StepState) -> torch.Tensor | None:
        weight = beta(self.config, state.progress)
        if weight == 0.0:
            return None
        return weight * sum(layer.kl() for layer in svdo_layers(module).values()) / state.dataset_size

    def compact(self, module: nn.Module, data: Dataset) -> Compacted:
        model = plain_model(module)
        with torch.no_grad():
            for name, layer in svdo_layers(module).items():
                model.get_submodule(name).weight.copy_(layer.sparse_weight())
        narrow = remove_unconnected_units(model)
        if narrow.arch["kind"] == "mlp":
            narrow = remove_unread_inputs(narrow)
        structural = Compacted(narrow, metrics=sparsity_metrics(narrow))
        return Compacted(model, metrics=sparsity_metrics(model), variants={"structural": structural})
