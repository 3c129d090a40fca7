"""Statistics: robust summaries and the interval procedures every verdict uses, each valid at the
seed counts the plans use (2, 3, 5): `benchmarks/coverage.py` proves it by simulation with known
truth, and docs/claims.md ("Intervals that keep their word") carries its table.

Every interval here is a Student-t interval, estimate ± t(df) · standard error, because a
percentile bootstrap over two or three seeds returns little more than their range, at 95 % and at
99.7 % alike. What is random, and so what the standard error spans:
- a figure of each training (compression, kept fraction): the seeds (`seed_mean_ci`, n - 1 df);
- accuracy: the seeds and the test examples (`accuracy_ci`, `accuracy_gap_ci`: variance
  components, Satterthwaite's degrees of freedom);
- a ratio of per-seed figures (perplexity): the seeds of both arms, on the log scale (`ratio_ci`);
- a speed ratio: the timing rounds of one pair of nets (`rounds_ci`), and the seeds where rounds
  are spread over several trainings' nets (`grouped_rounds_ci`: the per-seed means, seeds - 1 df).
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np
from scipy import stats as scipy_stats

_CONFIDENCE: ContextVar[float] = ContextVar("confidence", default=0.95)
LOG_BOUND = 20.0  # e^20 = 4.9e8: the widest ratio interval written (records bound figures at 1e12)
CONFIDENCE_RANGE = (0.5, 0.999)  # a level outside it is refused: below, no interval worth the name; above, t quantiles explode at 2 seeds


class TooFewSeeds(ValueError):
    """An interval that spans seeds needs at least two of them: one seed says nothing about the spread between trainings."""


def current_confidence() -> float:
    """The level intervals are computed at when none is named: 95 %, or what `at_confidence` set."""
    return _CONFIDENCE.get()


@contextmanager
def at_confidence(level: float) -> Iterator[None]:
    """Every interval computed inside the block at `level` (a verdict's share of the error rate, the adaptive mode's later looks)."""
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


def t_interval(estimate: float, se: float, df: float, confidence: float | None = None) -> tuple[float, float]:
    """estimate ± t(df) · se at `confidence` (the level in force when None)."""
    half = scipy_stats.t.ppf(0.5 + (confidence or current_confidence()) / 2, df) * se
    return float(estimate - half), float(estimate + half)


def seed_mean_ci(values: Sequence[float], confidence: float | None = None) -> tuple[float, float]:
    """Interval of the mean of a per-seed figure (each training's compression, kept fraction): Student-t, n - 1 df."""
    x = _per_seed(values)
    return t_interval(x.mean(), x.std(ddof=1) / math.sqrt(len(x)), len(x) - 1, confidence)


def ratio_ci(numerators: Sequence[float], denominators: Sequence[float], confidence: float | None = None) -> tuple[float, float]:
    """Interval of mean(numerators) / mean(denominators), per-seed figures of two independent sets of
    trainings (perplexities): Welch's t on the log scale (delta method), Welch-Satterthwaite df."""
    a, b = _per_seed(numerators), _per_seed(denominators)
    parts = [x.var(ddof=1) / (len(x) * x.mean() ** 2) for x in (a, b)]
    se = math.sqrt(sum(parts))
    df = _satterthwaite(parts, [len(a) - 1, len(b) - 1])
    low, high = t_interval(math.log(a.mean() / b.mean()), se, df, confidence)
    return _exp_bounds(low, high)


@dataclass(frozen=True)
class SeedVariance:
    """The seed component of accuracy's variance (σ²_seed: how much a training's accuracy moves with
    its seed, beyond the seed x example interaction), pooled over runs that share a setup (model,
    data, training budget) on the assumption that their trainings vary alike: a run of 2 seeds
    alone gives it 1 degree of freedom (t = 12.7 at 95 %), twelve such runs give it 12.

    `terms` are the signed mean squares whose sum estimates it, each with its degrees of freedom,
    so the interval that uses it gets Satterthwaite's degrees of freedom."""

    terms: tuple[tuple[float, float], ...]  # (weighted variance of one run's per-seed accuracies, its seeds - 1)

    @classmethod
    def pooled(cls, runs: Sequence[np.ndarray]) -> "SeedVariance":
        """From 0/1 correctness [seeds, examples] of each run (runs of one seed add nothing): the
        variance of each run's per-seed accuracies, weighted by seeds - 1. It also holds the seed x
        example interaction's share (σ²_interaction / N), which the per-example term counts again:
        conservative by that share, but a sum of positive terms, whose Satterthwaite degrees of
        freedom stay sound (subtracting the share made them collapse towards 1 when the seed
        effect is small, and the intervals several times wider)."""
        runs = [np.asarray(r, dtype=float) for r in runs if len(r) >= 2]
        if not runs:
            raise TooFewSeeds("a seed variance needs a run with at least 2 seeds")
        total = sum(len(r) - 1 for r in runs)
        return cls(tuple(((len(r) - 1) / total * r.mean(axis=1).var(ddof=1), len(r) - 1) for r in runs))

    @property
    def value(self) -> float:
        return sum(t for t, _ in self.terms)

    @property
    def df(self) -> float:
        return _satterthwaite(*zip(*self.terms))


def accuracy_ci(hits: np.ndarray, seed_variance: SeedVariance | None = None, confidence: float | None = None) -> tuple[float, float]:
    """Interval of the mean of 0/1 correctness [seeds, examples] of one run: seeds and test examples both random.

    One run's seed variance has seeds - 1 degrees of freedom, and Satterthwaite's formula, fed a
    seed term that two agreeing seeds made small, raised them and narrowed the interval just when
    it underestimated (85 % coverage at 2 seeds where seeds dominate, benchmarks/coverage.py): so
    the interval keeps the seed term's own degrees of freedom (conservative where examples dominate)."""
    return _components_interval([hits], [1.0], seed_variance, confidence, seed_df=True)


def accuracy_gap_ci(reference: np.ndarray, candidate: np.ndarray, seed_variance: SeedVariance | None = None,
                    confidence: float | None = None) -> tuple[float, float]:
    """Interval of mean(reference) - mean(candidate), 0/1 correctness [seeds, examples] of two runs
    trained independently and scored on the same examples (paired over examples)."""
    return _components_interval([reference, candidate], [1.0, -1.0], seed_variance, confidence)


def _components_interval(arms: Sequence[np.ndarray], signs: Sequence[float], seed_variance: SeedVariance | None,
                         confidence: float | None, seed_df: bool = False) -> tuple[float, float]:
    """Σ sign · mean(arm) under a two-way random-effects model per arm (seed, example, seed x
    example), the examples shared by the arms.

    Var = σ²_seed · Σ 1 / seeds_arm + Var_e(Σ sign · per-example mean) / N. The example term is
    estimated from the per-example means (which carry each arm's seed x example part, divided by
    its seeds); σ²_seed is `seed_variance` (pooled over the runs of one setup), else pooled over
    the arms themselves. Degrees of freedom: Satterthwaite's, over both terms (`seed_df`: the seed
    term's own, where it is present)."""
    arms = [np.asarray(a, dtype=float) for a in arms]
    n_examples = arms[0].shape[1]
    if any(a.ndim != 2 or a.shape[1] != n_examples for a in arms):
        raise ValueError("every arm must be [seeds, examples] on the same examples")
    if any(len(a) < 2 for a in arms):
        raise TooFewSeeds(f"an accuracy interval over seeds needs at least 2 seeds per run, got {min(len(a) for a in arms)}")
    seed_variance = seed_variance or SeedVariance.pooled(arms)
    estimate = sum(s * a.mean() for s, a in zip(signs, arms))
    per_example = sum(s * a.mean(axis=0) for s, a in zip(signs, arms))
    terms, dfs = [per_example.var(ddof=1) / n_examples], [n_examples - 1]
    if seed_variance.value > 0:
        scale = sum(1 / len(a) for a in arms)
        terms += [scale * t for t, _ in seed_variance.terms]
        dfs += [d for _, d in seed_variance.terms]
    df = seed_variance.df if seed_df and seed_variance.value > 0 else _satterthwaite(terms, dfs)
    return t_interval(estimate, math.sqrt(max(sum(terms), 0.0)), df, confidence)


def rounds_ci(ratios: Sequence[float], confidence: float | None = None) -> tuple[float, float]:
    """Student-t interval of the geometric mean of per-round ratios (log scale, n - 1 degrees of freedom).

    One round has no between-round spread to measure: at least two are needed.
    """
    logs = np.log(np.asarray(ratios, dtype=float))
    if len(logs) < 2:
        raise ValueError("an interval over rounds needs at least 2 rounds")
    low, high = t_interval(logs.mean(), logs.std(ddof=1) / math.sqrt(len(logs)), len(logs) - 1, confidence)
    return _exp_bounds(low, high)


def grouped_rounds_ci(groups: Sequence[Sequence[float]], confidence: float | None = None) -> tuple[float, float]:
    """Interval of the method's speed ratio from rounds timed in groups of equal size, one group per
    pair of nets (per training seed): the seeds are random, so in this balanced nested design the
    variance of the grand mean is that of the per-seed mean log ratios over seeds, seeds - 1 df
    (a seed's rounds narrow its own mean, not the spread between trainings)."""
    logs = np.log(np.asarray(groups, dtype=float))
    if logs.ndim != 2 or logs.shape[0] < 2:
        raise TooFewSeeds("a speed interval over seeds needs at least 2 seeds' nets, each timed in equally many rounds")
    low, high = seed_mean_ci(logs.mean(axis=1), confidence)
    return _exp_bounds(low, high)


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


def _exp_bounds(low: float, high: float) -> tuple[float, float]:
    """An interval on the log scale taken back, its ends kept within e^±LOG_BOUND: at 2 seeds or
    rounds and a strict level (t = 76 with 1 df at 99.2 %) a noisy log interval overflows, and an
    interval wider than a billion-fold decides exactly what one of infinite width decides."""
    return math.exp(max(low, -LOG_BOUND)), math.exp(min(high, LOG_BOUND))


def _per_seed(values: Sequence[float]) -> np.ndarray:
    x = np.asarray(values, dtype=float)
    if len(x) < 2:
        raise TooFewSeeds(f"an interval over seeds needs at least 2 seeds, got {len(x)}")
    return x


def _satterthwaite(terms: Sequence[float], dfs: Sequence[float]) -> float:
    """Degrees of freedom of a sum of variance terms (Satterthwaite 1946); a sum of zeros gets the largest."""
    total = sum(terms)
    spread = sum(t * t / d for t, d in zip(terms, dfs))
    return max(min(total * total / spread, sum(dfs)), 1.0) if spread > 0 else float(sum(dfs))
