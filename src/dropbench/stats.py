"""Statistics: robust summaries, intervals of timing ratios over rounds, and bootstrap intervals
of accuracy figures over seeds and test examples.

Timing: samples inside one timing round share that round's runners, memory placement and order,
so they are not independent; a speed ratio's interval is taken over independent rounds
(`rounds_ci`). Accuracy: a figure from several trainings varies with the seed *and* with the
examples it is evaluated on; `two_level_bootstrap` resamples both.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Callable, Iterator, Sequence

import numpy as np
from scipy import stats as scipy_stats

BOOTSTRAP_RESAMPLES = 2000  # at least; stricter levels take more, so each tail holds TAIL_RESAMPLES
TAIL_RESAMPLES = 10
_CONFIDENCE: ContextVar[float] = ContextVar("confidence", default=0.95)


def current_confidence() -> float:
    """The level intervals are computed at when none is named: 95 %, or what `at_confidence` set."""
    return _CONFIDENCE.get()


@contextmanager
def at_confidence(level: float) -> Iterator[None]:
    """Every interval computed inside the block at `level` (the adaptive mode's later looks are stricter)."""
    token = _CONFIDENCE.set(level)
    try:
        yield
    finally:
        _CONFIDENCE.reset(token)


def ci_label() -> str:
    """'95% CI', or the level in force."""
    return f"{100 * current_confidence():g}% CI"


def median(xs: Sequence[float]) -> float:
    return float(np.median(xs))


def iqr(xs: Sequence[float]) -> float:
    q1, q3 = np.percentile(xs, [25, 75])
    return float(q3 - q1)


def geometric_mean(ratios: Sequence[float]) -> float:
    return float(math.exp(np.mean(np.log(ratios))))


def rounds_ci(ratios: Sequence[float], confidence: float | None = None) -> tuple[float, float]:
    """Student-t interval of the geometric mean of per-round ratios (log scale, n - 1 degrees of freedom).

    One round has no between-round spread to measure: at least two are needed.
    """
    logs = np.log(np.asarray(ratios, dtype=float))
    if len(logs) < 2:
        raise ValueError("an interval over rounds needs at least 2 rounds")
    confidence = confidence or current_confidence()
    half = scipy_stats.t.ppf(0.5 + confidence / 2, len(logs) - 1) * logs.std(ddof=1) / math.sqrt(len(logs))
    return float(math.exp(logs.mean() - half)), float(math.exp(logs.mean() + half))


def grouped_rounds_ci(groups: Sequence[Sequence[float]], confidence: float | None = None) -> tuple[float, float]:
    """Interval of the geometric mean of per-round ratios timed in groups of equal size (one group
    per pair of nets, e.g. per training seed): the two-level bootstrap over groups and rounds, as
    accuracy intervals span seeds and examples, so the spread between groups enters it."""
    logs = np.log(np.asarray(groups, dtype=float))
    if logs.ndim != 2 or logs.shape[0] < 2:
        raise ValueError("a grouped interval needs at least 2 groups of equally many rounds")
    low, high = two_level_bootstrap(lambda x: x.mean(), [logs], confidence)
    return math.exp(low), math.exp(high)


def replication_coverage(rounds: int, confidence: float | None = None) -> float:
    """How often a second run's estimate lies inside the first run's `rounds_ci`, when both time
    `rounds` rounds of one normal distribution and nothing changes between runs.

    Not the interval's confidence: the second estimate has its own error, so the chance is
    P(|T| < t_q / sqrt(2)) with n - 1 degrees of freedom, 0.877 for 5 rounds at 95 % (0.83 as the
    rounds grow). A calibrated interval leaves that many inside; fewer means the runs differ by
    more than their rounds spread."""
    confidence = confidence or current_confidence()
    quantile = scipy_stats.t.ppf(0.5 + confidence / 2, rounds - 1)
    return float(2 * scipy_stats.t.cdf(quantile / math.sqrt(2), rounds - 1) - 1)


def two_level_bootstrap(
    statistic: Callable[..., float], arms: Sequence[np.ndarray], confidence: float | None = None,
    resamples: int | None = None, seed: int = 0,
) -> tuple[float, float]:
    """Percentile interval of `statistic(*arms)` resampling seeds and examples.

    Each arm is an array [seeds, examples, ...] (e.g. per-example correctness of each seed's
    net). A resample draws each arm's seeds independently (different trainings) and one set of
    example indices shared by all arms (the same examples: paired), then recomputes the
    statistic. With one seed per arm this is the ordinary paired bootstrap over examples.
    """
    confidence = confidence or current_confidence()
    resamples = resamples or max(BOOTSTRAP_RESAMPLES, math.ceil(2 * TAIL_RESAMPLES / (1 - confidence)))
    arms = [np.asarray(a) for a in arms]
    n_examples = arms[0].shape[1]
    if any(a.shape[1] != n_examples for a in arms):
        raise ValueError("every arm must be evaluated on the same examples")
    rng = np.random.default_rng(seed)
    values = np.empty(resamples)
    for i in range(resamples):
        examples = rng.integers(0, n_examples, n_examples)
        values[i] = statistic(*(a[rng.integers(0, len(a), len(a))][:, examples] for a in arms))
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)
