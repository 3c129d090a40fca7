"""Removing units and weights from plain models: the surgery every compacting method shares.

Torch stores Linear weights as [out, in] (Conv2d as [out, in, kh, kw]): a unit's incoming
weights are a row, its outgoing weights a column of the next layer. "Hidden site i" is the
i-th slot of `model.sites` (after the i-th hidden activation).

Post-hoc pruning for evaluation (`prune_weights`, `prune_inner_units`, `pruning_curve`) leaves the
input layer (the producer of site 0) and the output layer whole, as targeted dropout's reference
prunes (for-ai/TD `scripts/prune/prune.py`); it treats every method's net alike.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .catalog import UNIT_CRITERIA
from .dataset import Dataset
from .errors import ConfigError
from .models import build_model, lenet_feature_side
from .train import evaluate

PRUNING_FRACTIONS = (0.0, 0.25, 0.5, 0.75, 0.9)


def _site_layers(model: nn.Module) -> list[tuple[str, str]]:
    """(producer, consumer) parameter prefixes around each hidden site."""
    kind = model.arch["kind"]
    if kind == "mlp":
        n = len(model.layers)
        return [(f"layers.{i}", f"layers.{i + 1}") for i in range(n - 1)]
    if kind == "lenet5":
        fc = [f"fcs.{j}" for j in range(len(model.fcs))]
        return [("convs.0", "convs.1"), ("convs.1", "fcs.0")] + list(zip(fc[:-1], fc[1:]))
    raise ConfigError(f"unit removal is not supported for {kind!r} models")


def site_producers(model: nn.Module) -> list[nn.Module]:
    """For each hidden site, the layer whose output units feed it (ConfigError for LSTMs)."""
    return [model.get_submodule(producer) for producer, _ in _site_layers(model)]


def inner_sites(model: nn.Module) -> dict[int, str]:
    """Hidden site -> name of the layer producing it, for every site but the first.

    Their producers are the weight layers between the input layer (which produces site 0) and the
    output layer: the only layers targeted dropout targets and post-hoc evaluation prunes.
    """
    return {site: producer for site, (producer, _) in enumerate(_site_layers(model)) if site > 0}


def incoming_weights(model: nn.Module) -> list[torch.Tensor]:
    """For each hidden site, the [units, fan_in] matrix of the units' incoming weights."""
    return [layer.weight.detach().flatten(1) for layer in site_producers(model)]


def outgoing_weights(model: nn.Module) -> list[torch.Tensor]:
    """For each hidden site, the [units, fan_out] matrix of the weights that read each unit.

    A conv channel feeding a conv owns a kernel slice per output channel; a channel of the
    flattened map feeding fcs.0 owns a block of consecutive columns: reshaping the consumer to
    [out, units, -1] covers all three cases.
    """
    out = []
    for producer, consumer in _site_layers(model):
        units = model.get_submodule(producer).weight.shape[0]
        w = model.get_submodule(consumer).weight.detach()
        out.append(w.reshape(w.shape[0], units, -1).transpose(0, 1).flatten(1))
    return out


def unit_norms(model: nn.Module) -> list[torch.Tensor]:
    """L2 norm of each hidden unit's incoming weight vector, per site."""
    return [w.norm(dim=1) for w in incoming_weights(model)]


def unit_scores(model: nn.Module, criterion: str = "incoming") -> list[torch.Tensor]:
    """Importance of each hidden unit, per site (a higher score is kept longer).

    "incoming": the L2 norm of the unit's incoming weights (its row). "group": the L2 norm of its
    incoming and outgoing weights together, sqrt(|row|^2 + |column|^2), the ranking of
    Torch-Pruning's GroupMagnitudeImportance(p=2) within a layer (its mean reduction and mean
    normaliser rescale a layer's scores without reordering them; biases left out, as its default).
    """
    if criterion not in UNIT_CRITERIA:
        raise ConfigError(f"unit criterion must be one of {', '.join(UNIT_CRITERIA)}; got {criterion!r}")
    if criterion == "incoming":
        return unit_norms(model)
    return [torch.cat([w_in, w_out], dim=1).norm(dim=1) for w_in, w_out in zip(incoming_weights(model), outgoing_weights(model))]


def remove_units(model: nn.Module, keep: list[torch.Tensor | None], scale: list[torch.Tensor | None] | None = None) -> nn.Module:
    """A physically narrower copy keeping units `keep[i]` (sorted indices, or None = all) at site i.

    Each kept unit's outgoing weights are multiplied by `scale[i]` (e.g. a retention probability
    or a structural-dropout factor folded into the next layer). Scaling the outgoing weights is
    exact because the site sits after a ReLU (and max-pool) and every scale is positive.
    """
    pairs = _site_layers(model)
    if len(keep) != len(pairs):
        raise ValueError(f"keep has {len(keep)} entries, the model has {len(pairs)} hidden sites")
    scale = scale or [None] * len(pairs)
    arch = copy.deepcopy(model.arch)
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    side_area = lenet_feature_side(arch) ** 2 if arch["kind"] == "lenet5" else 1
    for site, ((producer, consumer), idx, s) in enumerate(zip(pairs, keep, scale)):
        units = state[f"{producer}.weight"].shape[0]
        idx = torch.arange(units) if idx is None else torch.as_tensor(idx, dtype=torch.int64).sort().values
        if len(idx) == 0:
            raise ConfigError(f"compaction would remove every unit of hidden layer {site}; lower the pruning threshold")
        state[f"{producer}.weight"] = state[f"{producer}.weight"][idx]
        state[f"{producer}.bias"] = state[f"{producer}.bias"][idx]
        w = state[f"{consumer}.weight"]
        # A flattened conv feature map feeds fcs.0: each channel owns side_area consecutive inputs.
        block = side_area if (arch["kind"] == "lenet5" and site == 1) else 1
        w = w.reshape(w.shape[0], units, block, *w.shape[2:])[:, idx]
        if s is not None:  # a scalar or one factor per unit
            s = torch.as_tensor(s, dtype=w.dtype)
            factor = s[idx] if s.dim() else s.expand(len(idx))
            w = w * factor.reshape(1, -1, *[1] * (w.dim() - 2))
        state[f"{consumer}.weight"] = w.reshape(w.shape[0], len(idx) * block, *w.shape[3:])
        _set_width(arch, site, len(idx))
    narrow = build_model(arch)
    narrow.load_state_dict(state)
    return narrow.eval()


def _set_width(arch: dict, site: int, width: int) -> None:
    if arch["kind"] == "mlp":
        arch["widths"][site + 1] = width
    elif site < 2:
        arch["conv"][site] = width
    else:
        arch["fc"][site - 2] = width


def remove_inputs(model: nn.Module, keep: torch.Tensor) -> nn.Module:
    """An MLP that reads only the flattened input features `keep` (e.g. pixels no weight uses)."""
    if model.arch["kind"] != "mlp":
        raise ConfigError("input-feature removal is only supported for MLPs")
    keep = torch.as_tensor(keep, dtype=torch.int64).sort().values
    arch = copy.deepcopy(model.arch)
    previous = arch.get("input_index")
    arch["input_index"] = (torch.tensor(previous)[keep] if previous is not None else keep).tolist()
    arch["widths"][0] = len(keep)
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    state["layers.0.weight"] = state["layers.0.weight"][:, keep]
    narrow = build_model(arch)
    narrow.load_state_dict(state)
    return narrow.eval()


def rounded_width(width: int, units: int, multiple: int) -> int:
    """`width` rounded up to a multiple of `multiple`, at most the layer's `units`."""
    return min(units, -(-width // multiple) * multiple)


def check_multiple_fits(model: nn.Module, multiple: int) -> None:
    """Refuse, before training, a multiple wider than a hidden layer: no width of it could be rounded."""
    narrowest = min(model.hidden_sizes())
    if multiple > narrowest:
        raise ConfigError(f"width_multiple {multiple} is wider than the narrowest hidden layer ({narrowest} units); use at most {narrowest}")


def widened_to_multiple(keep: list[torch.Tensor | None], scores: list[torch.Tensor | None], multiple: int) -> list[torch.Tensor | None]:
    """Each site's kept units (indices) widened to a multiple of `multiple` with the highest-scoring
    units not yet kept: CPU kernels run some widths much faster than their neighbours (docs/methods.md)."""
    widened = []
    for idx, score in zip(keep, scores):
        if idx is None or score is None or multiple == 1:
            widened.append(idx)
            continue
        left = torch.ones(len(score), dtype=torch.bool)
        left[idx] = False
        candidates = left.nonzero().flatten()
        extra = candidates[score[candidates].argsort(descending=True)[: rounded_width(len(idx), len(score), multiple) - len(idx)]]
        widened.append(torch.cat([torch.as_tensor(idx, dtype=torch.int64), extra]))
    return widened


def keep_count(units: int, fraction: float) -> int:
    """Units kept when pruning `fraction` of them (at least one)."""
    return max(1, units - int(math.floor(fraction * units + 1e-9)))


def prune_units(model: nn.Module, fraction: float, scores: list[torch.Tensor | None] | None = None, width_multiple: int = 1) -> nn.Module:
    """Remove the `fraction` of hidden units with the lowest score (default: incoming L2 norm) per
    layer, each kept width then rounded up to a multiple of `width_multiple`.

    A site whose score is None keeps every unit.
    """
    scores = scores if scores is not None else unit_norms(model)
    keep = [None if s is None else s.topk(keep_count(len(s), fraction)).indices for s in scores]
    return remove_units(model, widened_to_multiple(keep, scores, width_multiple))


def prune_inner_units(model: nn.Module, fraction: float, criterion: str = "incoming", width_multiple: int = 1) -> nn.Module:
    """Post-hoc unit pruning for evaluation: every hidden layer but the input layer's units (site 0)."""
    scores: list[torch.Tensor | None] = list(unit_scores(model, criterion))
    scores[0] = None
    return prune_units(model, fraction, scores, width_multiple)


def prune_units_to(model: nn.Module, widths: list[int], criterion: str = "incoming") -> nn.Module:
    """Keep the `widths[i]` highest-scoring units of hidden site i (e.g. a compacted net's widths)."""
    sizes = model.hidden_sizes()
    if len(widths) != len(sizes) or not all(1 <= w <= n for w, n in zip(widths, sizes)):
        raise ConfigError(f"widths must give 1..n units for each of the {len(sizes)} hidden layers {sizes}; got {list(widths)}")
    return remove_units(model, [s.topk(w).indices for s, w in zip(unit_scores(model, criterion), widths)])


def smallest(scores: torch.Tensor, fraction: float) -> torch.Tensor:
    """Boolean mask of the floor(fraction * n) smallest entries along the last axis (per row).

    Entries tied with the k-th smallest are all included (with real-valued weights only exact
    zeros tie, and masking a zero changes nothing).
    """
    n_low = int(math.floor(fraction * scores.shape[-1] + 1e-9))
    if not n_low:
        return torch.zeros_like(scores, dtype=torch.bool)
    return scores <= kth_smallest(scores, n_low)


def kth_smallest(scores: torch.Tensor, k: int) -> torch.Tensor:
    """The k-th smallest value (1-based) along the last axis, keeping that axis.

    Targeted dropout ranks every weight row at every training step: on CPU numpy's introselect
    is ~3x faster than torch.kthvalue (and ~9x faster than topk) on a 1024 x 1024 matrix.
    """
    if scores.device.type == "cpu":
        return torch.from_numpy(np.partition(scores.detach().numpy(), k - 1, axis=-1)[..., k - 1 : k])
    return scores.kthvalue(k, dim=-1, keepdim=True).values


def weight_masks(model: nn.Module, fraction: float, every_layer: bool = False) -> dict[str, torch.Tensor]:
    """Per output unit, mask out the `fraction` of incoming weights with the smallest |w|.

    By default only the layers between the input and the output layer are masked, as targeted
    dropout's reference prunes; `every_layer` masks every Linear and Conv2d weight (the
    `magnitude` baseline's weight mode).
    """
    if every_layer:
        names = [n for n, p in model.named_parameters() if n.endswith("weight") and p.dim() >= 2 and not n.startswith(("embed", "lstms"))]
    else:
        names = [f"{layer}.weight" for layer in inner_sites(model).values()]
    params = dict(model.named_parameters())
    return {name: ~smallest(params[name].detach().flatten(1).abs(), fraction).reshape(params[name].shape) for name in names}


def prune_weights(model: nn.Module, fraction: float) -> nn.Module:
    """A copy with the smallest `fraction` of each unit's incoming weights set to zero (first and last layer left dense)."""
    pruned = copy.deepcopy(model)
    apply_masks(pruned, weight_masks(pruned, fraction))
    return pruned.eval()


@torch.no_grad()
def apply_masks(model: nn.Module, masks: dict[str, torch.Tensor]) -> None:
    params = dict(model.named_parameters())
    for name, mask in masks.items():
        params[name].mul_(mask)


def pruning_curve(model: nn.Module, data: Dataset, mode: str, fractions: tuple[float, ...] = PRUNING_FRACTIONS, split: str = "test") -> list[dict[str, float]]:
    """Accuracy of `model` after post-hoc pruning at each fraction.

    mode "unit": the lowest-norm fraction of units removed per hidden layer (prune_inner_units);
    mode "weight": the smallest-|w| fraction of each unit's incoming weights zeroed (prune_weights).
    Either way the input and output layers stay whole.
    """
    if mode not in ("unit", "weight"):
        raise ConfigError(f"pruning mode must be 'unit' or 'weight', got {mode!r}")
    prune = prune_inner_units if mode == "unit" else prune_weights
    return [{"fraction": f, "accuracy": evaluate(prune(model, f), data, split)["accuracy"]} for f in fractions]


def remove_unread_inputs(model: nn.Module) -> nn.Module:
    """An MLP without the input features (pixels) that no first-layer weight reads."""
    read = model.layers[0].weight.detach().ne(0).any(0)
    if not bool(read.any()):  # a net that reads nothing still needs an input
        read[0] = True
    return model if bool(read.all()) else remove_inputs(model, read.nonzero().flatten())


def remove_unconnected_units(model: nn.Module) -> nn.Module:
    """A narrower copy of a sparse net without the hidden units that zero weights cut off.

    A unit goes when all its outgoing weights are zero (nothing reads it), or when all its
    incoming weights are zero: it then outputs the constant relu(bias), which is folded into the
    next layer's bias, exact unless that layer is a padded convolution (then the unit stays).
    Repeated until nothing changes, since removing units can cut off others.
    """
    while True:
        model = copy.deepcopy(model)
        params = dict(model.named_parameters())
        keep, removed = [], False
        for producer, consumer in _site_layers(model):
            w_in, w_out = params[f"{producer}.weight"].detach(), params[f"{consumer}.weight"].detach()
            units = w_in.shape[0]
            # The consumer's weights per unit: [out, units, ...] (a flattened conv map feeds fcs.0 in blocks)
            w_out = w_out.reshape(w_out.shape[0], units, -1)
            silent = w_in.flatten(1).eq(0).all(1)
            unread = w_out.eq(0).all(0).all(1)
            foldable = silent & ~unread & _folds_constants(model, consumer)
            drop = unread | foldable
            if bool(drop.all()):  # a dead layer: keep one unit so the net still has a shape
                drop[0] = False
            with torch.no_grad():
                constant = F.relu(params[f"{producer}.bias"]) * (foldable & drop)
                params[f"{consumer}.bias"] += (w_out.sum(2) * constant).sum(1)
            removed |= bool(drop.any())
            keep.append((~drop).nonzero().flatten())
        if not removed:
            return model.eval()
        model = remove_units(model, keep)


def _folds_constants(model: nn.Module, consumer: str) -> bool:
    """A constant input map adds a constant to `consumer`'s output (not so for padded convolutions)."""
    layer = model.get_submodule(consumer)
    return not isinstance(layer, nn.Conv2d) or all(p == 0 for p in layer.padding)


def prune_global(model: nn.Module, fraction: float) -> nn.Module:
    """A copy with the `fraction` smallest |w| of all Linear / Conv2d weights together set to zero.

    Global magnitude pruning (Han et al. 2015): every layer competes for the same budget, so the
    large, redundant layers lose most; the practitioner's way to a high weight compression.
    """
    pruned = copy.deepcopy(model)
    weights = [m.weight for m in pruned.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    k = int(math.floor(fraction * sum(w.numel() for w in weights) + 1e-9))
    if k:
        threshold = kth_smallest(torch.cat([w.detach().abs().flatten() for w in weights]), k)
        with torch.no_grad():
            for w in weights:
                w.mul_(w.abs() > threshold)
    return pruned.eval()
