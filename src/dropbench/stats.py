"""Statistics for timings: robust summaries and bootstrap confidence intervals of ratios."""

from __future__ import annotations

from typing import Sequence

import numpy as np

BOOTSTRAP_RESAMPLES = 2000


def median(xs: Sequence[float]) -> float:
    return float(np.median(xs))


def iqr(xs: Sequence[float]) -> float:
    q1, q3 = np.percentile(xs, [25, 75])
    return float(q3 - q1)


def ratio_of_medians_ci(
    a: Sequence[float], b: Sequence[float], confidence: float = 0.95, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0
) -> tuple[float, float]:
    """Percentile-bootstrap interval of median(a) / median(b).

    When a and b have the same length they are treated as paired rounds of an interleaved run
    (A B A B ...) and resampled together, so slow drift of the machine cancels within a pair.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    rng = np.random.default_rng(seed)
    if len(a) == len(b):
        idx = rng.integers(0, len(a), size=(resamples, len(a)))
        ia, ib = idx, idx
    else:
        ia = rng.integers(0, len(a), size=(resamples, len(a)))
        ib = rng.integers(0, len(b), size=(resamples, len(b)))
    ratios = np.median(a[ia], axis=1) / np.median(b[ib], axis=1)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(ratios, [tail, 100 - tail])
    return float(low), float(high)


def bootstrap_mean_ci(values: Sequence[float], confidence: float = 0.95, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0) -> tuple[float, float]:
    """Percentile-bootstrap interval of the mean (e.g. a paired per-example accuracy difference)."""
    values = np.asarray(values, dtype=float)
    idx = np.random.default_rng(seed).integers(0, len(values), size=(resamples, len(values)))
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(values[idx].mean(axis=1), [tail, 100 - tail])
    return float(low), float(high)
