"""Accuracy over seeds and examples, and the choices made on it (validation picks, test reports).

`Hits` holds 0/1 correctness [seeds, examples] of one run's nets on the validation and test
splits; gaps between runs carry an interval over seeds and examples (stats.accuracy_gap_ci:
variance components, Student-t with Satterthwaite's degrees of freedom). `best_within` is the one rule every check chooses by: among the
options within a margin of a reference on validation, the one a criterion ranks highest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Hashable, Mapping, TypeVar

import numpy as np
from torch import nn

from ..checkpoint import Checkpoint
from ..data import load_dataset
from ..stats import accuracy_gap_ci, ci_label
from ..train import predict
from .base import Condition, NotRunnable

COMPARABLE_POINTS = 1.0  # "comparable" / "negligible" accuracy loss: at most 1 point

K = TypeVar("K", bound=Hashable)


@dataclass
class Hits:
    """0/1 correctness [seeds, examples] of one run's nets on the validation and test splits."""

    val: np.ndarray
    test: np.ndarray

    @classmethod
    def of(cls, checkpoints: list[Checkpoint], transform: Callable[[Checkpoint], nn.Module] | None = None) -> "Hits":
        """Each seed's net (or `transform(checkpoint)`, e.g. a pruned copy, built once) on both splits."""
        return cls.of_nets(checkpoints, [transform(c) if transform else c.model for c in checkpoints])

    @classmethod
    def of_nets(cls, checkpoints: list[Checkpoint], nets: list[nn.Module]) -> "Hits":
        """`nets` (one per seed, derived from `checkpoints`) on both splits of the checkpoints' data set."""
        return cls(*(split_hits(checkpoints[0], nets, split) for split in ("val", "test")))

    def accuracy(self, split: str) -> float:
        return float(100 * getattr(self, split).mean())


def split_hits(checkpoint: Checkpoint, nets: list[nn.Module], split: str) -> np.ndarray:
    """[nets, examples] 0/1 correctness on one split of `checkpoint`'s data set."""
    data = load_dataset(checkpoint.manifest["data"]["name"])
    part = data.split(split)
    if data.kind != "classification" or len(part) == 0:
        raise NotRunnable(f"data set {data.name!r} has no labelled {split} split to {'choose on' if split == 'val' else 'report on'}")
    rows = [(predict(net, part.x).argmax(-1) == part.y).numpy() for net in nets]
    return np.stack(rows).astype(float)


def val_accuracy(options: Mapping[K, Hits]) -> dict[K, float]:
    return {key: hits.accuracy("val") for key, hits in options.items()}


def best_on_val(options: Mapping[K, Hits]) -> K:
    """The option with the highest validation accuracy (ties: the first)."""
    return max(options, key=lambda k: options[k].accuracy("val"))


def best_within(accuracy: Mapping[K, float], floor: float, rank: Callable[[K], float]) -> K | None:
    """Among the options whose (validation) accuracy reaches `floor`, the one `rank` puts highest
    (ties: the first); None when no option reaches it."""
    within = [key for key, value in accuracy.items() if value >= floor]
    return max(within, key=rank) if within else None


def points_gap(reference: np.ndarray, candidate: np.ndarray) -> tuple[float, tuple[float, float]]:
    """Accuracy points of `reference` minus `candidate` (mean over seeds and examples) and its interval."""
    low, high = accuracy_gap_ci(reference, candidate)
    return float(100 * (reference.mean() - candidate.mean())), (100 * low, 100 * high)


def comparable(reference_label: str, reference: Hits, candidate: Hits) -> Condition:
    """Test accuracy at most COMPARABLE_POINTS below the reference's: met when the whole interval of the drop is below it."""
    return accuracy_drop(*points_gap(reference.test, candidate.test), reference_label)


def accuracy_drop(drop: float, ci: tuple[float, float], reference_label: str, prefix: str = "") -> Condition:
    """The condition "test accuracy at most COMPARABLE_POINTS below `reference_label`" on a measured drop."""
    return Condition(f"{prefix}{gap_words(drop, ci, reference_label)}, limit {COMPARABLE_POINTS:g} below", drop, ci, COMPARABLE_POINTS)


def gap_words(drop: float, ci: tuple[float, float], reference_label: str) -> str:
    side = "below" if drop >= 0 else "above"
    return f"test accuracy {abs(drop):.2f} points {side} {reference_label} ({ci_label()} of the drop {ci[0]:+.2f}..{ci[1]:+.2f})"


def beats(method_ci: tuple[float, float], control_ci: tuple[float, float]) -> bool | None:
    """True / False when the intervals separate, None when they overlap."""
    if method_ci[0] > control_ci[1]:
        return True
    if method_ci[1] < control_ci[0]:
        return False
    return None


def verdict_words(beaten: bool | None, method: str) -> str:
    return {True: f"{method} beats it", False: f"{method} does not beat it", None: "the intervals overlap: no clear winner"}[beaten]
