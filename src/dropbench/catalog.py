"""What a plan's runs can name, torch-free: each method's parameters (its Config: names, types,
ranges) and the models with their default widths.

The torch registries take these from here (methods.METHODS: each method's `Config`; models: the
model names), so `dropbench plan validate` checks a plan without loading torch;
tests/test_plans.py checks that the registries and this catalogue agree. Training code: a change
here changes the run cache's key (runs.code_version). The claims' roles, which cannot change a
checkpoint, are in plans/checks.py.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError

MASKS = ("element", "unit")  # dropout's masks
MODES = ("unit", "weight")  # targeted dropout's and magnitude pruning's modes
UNIT_CRITERIA = ("incoming", "group")  # pruning.unit_scores
LOG_ALPHA_LIMIT = 8.0  # sparse VD clips log alpha to (-8, 8)


def check_width_multiple(value: int) -> None:
    """The `width_multiple` of a unit-removing method's Config (1: widths as the method chose them)."""
    if value < 1:
        raise ValueError(f"width_multiple must be >= 1, got {value}")


@dataclass(frozen=True)
class NoParams:
    """Config of a method without hyper-parameters."""


@dataclass(frozen=True)
class DropoutConfig:
    p: float = 0.5  # probability of dropping a unit
    mask: str = "element"  # "element": per element (and time step); "unit": whole units, one mask per step

    def __post_init__(self):
        if not 0.0 <= self.p < 1.0:
            raise ValueError(f"p must be in [0, 1), got {self.p}")
        if self.mask not in MASKS:
            raise ValueError(f"mask must be 'element' or 'unit', got {self.mask!r}")


@dataclass(frozen=True)
class MagnitudeConfig:
    mode: str = "unit"  # "unit" or "weight"
    fraction: float = 0.5  # fraction of units (or of each unit's weights) removed
    finetune_epochs: int = 0
    finetune_lr: float = 1e-3
    criterion: str = "incoming"  # unit score: "incoming" (row norm) or "group" (row and column norm)
    width_multiple: int = 1  # each kept hidden width rounded up to a multiple of this (pruning.widened_to_multiple)

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"mode must be 'unit' or 'weight', got {self.mode!r}")
        if self.criterion not in UNIT_CRITERIA:
            raise ValueError(f"criterion must be one of {', '.join(UNIT_CRITERIA)}, got {self.criterion!r}")
        if not 0.0 <= self.fraction < 1.0:
            raise ValueError(f"fraction must be in [0, 1), got {self.fraction}")
        if self.finetune_epochs < 0:
            raise ValueError("finetune_epochs must be >= 0")
        check_width_multiple(self.width_multiple)


@dataclass(frozen=True)
class DropoutCompactionConfig:
    strength: float = 1.0  # weight of the prior, relative to one pass over the training set
    a: float = 0.5  # Beta(a, b) prior; a < 1 pulls toward p = 0
    b: float = 0.9  # b < 1 pulls toward p = 1; b > a makes p = 0 the stronger pull
    init_retention: float = 0.5
    temperature: float = 0.5  # of the relaxed Bernoulli: lower = closer to hard 0/1 masks
    threshold: float = 0.1  # units with a retention below this are removed
    logit_gain: float = 10.0  # logit = gain x parameter: the gates learn `gain` times faster under Adam
    width_multiple: int = 1  # each kept hidden width rounded up to a multiple of this (pruning.widened_to_multiple)

    def __post_init__(self):
        if not (self.strength >= 0 and math.isfinite(self.strength)):
            raise ValueError(f"strength must be >= 0, got {self.strength}")
        if not (0 < self.a < 1 and 0 < self.b < 1):
            raise ValueError(f"the prior needs 0 < a, b < 1 (bimodal Beta), got a={self.a}, b={self.b}")
        if not 0 < self.init_retention < 1:
            raise ValueError(f"init_retention must be in (0, 1), got {self.init_retention}")
        if not 0 < self.threshold < 1:
            raise ValueError(f"threshold must be in (0, 1), got {self.threshold}")
        if self.temperature <= 0 or self.logit_gain <= 0:
            raise ValueError("temperature and logit_gain must be > 0")
        check_width_multiple(self.width_multiple)


@dataclass(frozen=True)
class TargetedConfig:
    mode: str = "weight"  # "weight" or "unit"
    gamma: float = 0.5  # targeted fraction (of each unit's weights, or of the units)
    alpha: float = 0.5  # drop probability of a candidate
    ramp: float = 0.0  # fraction of training over which gamma and alpha ramp up from 0
    prune_fraction: float = 0.5  # the shipped model is pruned at this fraction
    width_multiple: int = 1  # unit mode: each kept hidden width rounded up to a multiple of this (pruning.widened_to_multiple)

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"mode must be 'weight' or 'unit', got {self.mode!r}")
        for name in ("gamma", "alpha", "ramp"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if not 0.0 <= self.prune_fraction < 1.0:
            raise ValueError(f"prune_fraction must be in [0, 1), got {self.prune_fraction}")
        check_width_multiple(self.width_multiple)


@dataclass(frozen=True)
class StructuralConfig:
    p: float = 0.5  # probability that a layer is cut on a forward pass
    lower_bound: int = 8  # the smallest width a cut keeps
    step: int = 1  # cuts are lower_bound, lower_bound + step, ... below the layer's width
    sweep_points: int = 64  # widths evaluated after training
    width_multiple: int = 1  # each kept hidden width rounded up to a multiple of this (pruning.widened_to_multiple)

    def __post_init__(self):
        if not 0.0 <= self.p <= 1.0:
            raise ValueError(f"p must be in [0, 1], got {self.p}")
        if self.lower_bound < 1 or self.step < 1:
            raise ValueError("lower_bound and step must be >= 1")
        if self.sweep_points < 2:
            raise ValueError("sweep_points must be >= 2")
        check_width_multiple(self.width_multiple)


@dataclass(frozen=True)
class VariationalConfig:
    threshold: float = 3.0  # log alpha at and above which a weight is zero at test time
    init_log_sigma2: float = -10.0
    warmup_start: float = 0.025  # fraction of training before which beta = 0 (paper: epoch 5 of 200)
    warmup_end: float = 0.1  # fraction of training at which beta reaches kl_weight (paper: epoch 20 of 200)
    kl_weight: float = 1.0  # beta after the warm-up; 1 = the paper's variational lower bound
    train_clip: bool = False  # zero the weights at and above threshold in the training-time mean too

    def __post_init__(self):
        if not 0.0 <= self.warmup_start <= self.warmup_end <= 1.0:
            raise ValueError(f"need 0 <= warmup_start <= warmup_end <= 1, got {self.warmup_start} and {self.warmup_end}")
        if not self.kl_weight > 0:
            raise ValueError(f"kl_weight must be positive, got {self.kl_weight}")
        if not -LOG_ALPHA_LIMIT < self.threshold < LOG_ALPHA_LIMIT:
            raise ValueError(f"threshold must lie inside the clipping range (-8, 8), got {self.threshold}")


@dataclass(frozen=True)
class ApproximateRandomConfig:
    p: float = 0.5  # per-unit (row) or per-synapse (tile) drop probability
    pattern: str = "row"  # "row" (units) or "tile" (tile x tile synapse blocks)
    block: int = 16  # units per block of the row pattern (fewer if a layer has < 4 blocks)
    tile: int = 128  # side of the tile pattern's synapse blocks (small tiles make small, slow GEMMs)

    def __post_init__(self):
        if not 0.0 <= self.p < 1.0:
            raise ValueError(f"p must be in [0, 1), got {self.p}")
        if self.pattern not in ("row", "tile"):
            raise ValueError(f"pattern must be 'row' or 'tile', got {self.pattern!r}")
        if self.block < 1 or self.tile < 1:
            raise ValueError(f"block and tile must be >= 1, got {self.block} and {self.tile}")


# the method names, in the order the CLI lists them, and their parameters
METHOD_CONFIGS: dict[str, type] = {
    "dense": NoParams, "dropout": DropoutConfig, "magnitude": MagnitudeConfig, "dropout-compaction": DropoutCompactionConfig,
    "targeted": TargetedConfig, "structural": StructuralConfig, "variational": VariationalConfig,
    "approximate-random": ApproximateRandomConfig,
}

# user-facing model names -> (kind, default hidden widths)
MODELS: dict[str, tuple[str, list[int]]] = {
    "mlp": ("mlp", [256, 256]),
    "lenet-300-100": ("mlp", [300, 100]),
    "lenet5": ("lenet5", [500]),
    "lstm": ("lstm", [256]),
}

TRAINING_RATES = (0.3, 0.5, 0.7)  # the asv training suites sweep each method with a dropout rate (a Config field `p`) over these


def training_cases() -> dict[str, tuple[str, float | None]]:
    """The asv training suites' cases, case -> (method, dropout rate): each method by name, a method
    with a dropout rate (a Config field `p`) once per TRAINING_RATES (`dropout-p0.3`)."""
    cases: dict[str, tuple[str, float | None]] = {}
    for name, config in METHOD_CONFIGS.items():
        rates = TRAINING_RATES if "p" in {f.name for f in dataclasses.fields(config)} else (None,)
        cases.update({name if rate is None else f"{name}-p{rate}": (name, rate) for rate in rates})
    return cases


def method_config(name: str, params: dict[str, Any]) -> Any:
    """The Config of method `name` from user parameters (CLI strings are converted); one ConfigError
    for an unknown method, an unknown parameter or a bad value."""
    config = METHOD_CONFIGS.get(name)
    if config is None:
        raise ConfigError(f"unknown method {name!r}; choose one of: {', '.join(METHOD_CONFIGS)}")
    fields = {f.name: f for f in dataclasses.fields(config)}
    unknown = sorted(set(params) - set(fields))
    if unknown:
        raise ConfigError(f"method {name!r} has no parameter {unknown[0]!r}; its parameters: {', '.join(fields) or 'none'}")
    try:
        return config(**{k: _coerce(fields[k], v) for k, v in params.items()})
    except (TypeError, ValueError) as e:
        raise ConfigError(f"method {name!r}: {e}") from None


def _coerce(f: dataclasses.Field, value: Any) -> Any:
    """Turn CLI strings into the field's type (the default's type decides)."""
    if not isinstance(value, str) or f.default is dataclasses.MISSING:
        return value
    kind = type(f.default)
    if kind is bool:
        if value.lower() in ("1", "true", "yes", "on"):
            return True
        if value.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{f.name} must be true or false, got {value!r}")
    if kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            raise ValueError(f"{f.name} must be a {kind.__name__}, got {value!r}") from None
    if kind in (tuple, list):
        return kind(float(v) for v in value.split(","))
    return value
