"""What a timing is: a `Measurement` and a `Comparison` carry their numbers and their own warnings.

`timeit` times one runner in this process; comparisons over rounds are in `rounds.py`.

Timing owns the machine: every timed block also measures the CPU that other processes (and the
hypervisor, as steal time) took meanwhile, in cores (`contention`); a block above
CONTENDED_CORES shared the machine and says so in its warnings.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import psutil

from .. import stats

NOISY_IQR_FRACTION = 0.10  # torch.utils.benchmark flags the same spread as high variance
MIN_SAMPLES = 5
TARGET_SAMPLE_TIME = 0.01  # seconds per sample: far above timer resolution and call overhead
MIN_ROUNDS = 3  # with 2 rounds the t-interval over rounds is very wide (t = 12.7)
# other processes' CPU during a timed block, in cores, above which it shared the machine (an idle
# machine shows about 0.01; Ray's idle daemons about 0.03; one busy process 1.0)
CONTENDED_CORES = 0.15


def contention_words(cores: float) -> str:
    return f"shared the machine: other processes used {cores:.2f} cores while it was timed"


class OtherProcesses:
    """The CPU other processes (and steal time) take from the moment it is made: `cores()` says how
    many cores, on average, they kept busy since.

    The kernel counts CPU time in clock ticks (10 ms), per CPU and for this process: a difference
    can be off by one tick per CPU and one for this process, so that much is not counted as
    contention (over a 0.1 s round on 2 CPUs, 0.3 cores)."""

    BUSY = ("user", "nice", "system", "irq", "softirq", "steal")
    TICK = 1.0 / os.sysconf("SC_CLK_TCK")

    def __init__(self) -> None:
        self._own = psutil.Process()
        self._resolution = ((psutil.cpu_count() or 1) + 1) * self.TICK
        self._start = self._now()

    def _now(self) -> tuple[float, float, float]:
        everything, own = psutil.cpu_times(), self._own.cpu_times()
        return time.perf_counter(), sum(getattr(everything, name, 0.0) for name in self.BUSY), own.user + own.system

    def cores(self) -> float:
        (t0, busy0, own0), (t1, busy1, own1) = self._start, self._now()
        return max(0.0, (busy1 - busy0) - (own1 - own0) - self._resolution) / (t1 - t0) if t1 > t0 else 0.0


@dataclass
class Measurement:
    """Per-call times (seconds) of `number` calls per sample, with metadata and warnings."""

    label: str
    times: list[float]
    number: int = 1
    metadata: dict[str, Any] = field(default_factory=dict)
    contention: float = 0.0  # cores other processes kept busy while it was timed
    runner_warnings: tuple[str, ...] = ()  # what the runner could not do as asked (Runner.warnings)

    @property
    def median(self) -> float:
        return stats.median(self.times)

    @property
    def iqr(self) -> float:
        return stats.iqr(self.times)

    @property
    def warnings(self) -> list[str]:
        notes = list(self.runner_warnings)
        if len(self.times) < MIN_SAMPLES:
            notes.append(f"only {len(self.times)} samples; the figure is rough")
        if self.median > 0 and self.iqr / self.median > NOISY_IQR_FRACTION:
            notes.append(f"noisy: IQR is {100 * self.iqr / self.median:.0f}% of the median")
        if self.contention > CONTENDED_CORES:
            notes.append(contention_words(self.contention))
        return notes

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label, "median_s": self.median, "iqr_s": self.iqr, "samples": len(self.times),
            "number": self.number, "contention": self.contention, "warnings": self.warnings, **self.metadata,
        }

    def __str__(self) -> str:
        note = f" [{'; '.join(self.warnings)}]" if self.warnings else ""
        return f"{self.label}: median {format_seconds(self.median)} (IQR {format_seconds(self.iqr)}, {len(self.times)} samples x {self.number} calls){note}"


@dataclass
class Comparison:
    """`speedup` = baseline time / candidate time: > 1 means the candidate is faster.

    Measured in `rounds` independent timing rounds (fresh runners, alternating order, each model in
    a fresh process of its own unless `fresh_processes` is off: rounds.compare_pairs); each round's
    ratio is the ratio of its medians, `speedup` their geometric mean and `ci` a t-interval over rounds
    (stats.rounds_ci), or over pairs and rounds when the rounds timed several pairs of nets
    (stats.grouped_rounds_ci). `baseline` / `candidate` pool every round's samples.
    """

    baseline: Measurement
    candidate: Measurement
    speedup: float
    ci: tuple[float, float]
    rounds: list[float] = field(default_factory=list)  # per-round ratios
    confidence: float = 0.95
    contention: list[float] = field(default_factory=list)  # per round: cores other processes kept busy
    fresh_processes: bool = False  # whether each model of each round ran in a process of its own
    retimed: int = 0  # rounds timed again because another process shared the machine (rounds.MAX_RETIMES)
    round_pairs: list[int] = field(default_factory=list)  # per round: which pair of nets it timed (rounds.compare_pairs)

    @property
    def contended(self) -> list[str]:
        """What shared the machine, one line per round that did (empty: it owned the machine)."""
        return [f"round {i + 1} {contention_words(c)}" for i, c in enumerate(self.contention) if c > CONTENDED_CORES]

    @property
    def warnings(self) -> list[str]:
        notes = [f"{m.label}: {w}" for m in (self.baseline, self.candidate) for w in m.warnings]
        if len(self.rounds) < MIN_ROUNDS:
            notes.append(f"only {len(self.rounds)} timing rounds: the interval is wide")
        if self.ci[0] <= 1.0 <= self.ci[1]:
            notes.append(f"the {int(100 * self.confidence)}% interval includes 1: no significant difference")
        return notes + self.contended

    def as_dict(self) -> dict[str, Any]:
        return {
            "speedup": self.speedup, "ci": list(self.ci), "confidence": self.confidence, "rounds": self.rounds, "contention": self.contention,
            "fresh_processes": self.fresh_processes, "retimed": self.retimed, "round_pairs": self.round_pairs,
            "baseline_timing": self.baseline.as_dict(), "candidate_timing": self.candidate.as_dict(), "warnings": self.warnings,
        }


def format_seconds(s: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if s >= scale:
            return f"{s / scale:.3g} {unit}"
    return f"{s / 1e-9:.3g} ns"


def calibrate(fn: Callable[[], Any], sync: Callable[[], None], warmup: float) -> int:
    """Warm up for `warmup` seconds (at least 3 calls); return calls per ~TARGET_SAMPLE_TIME sample."""
    calls, start = 0, time.perf_counter()
    while calls < 3 or time.perf_counter() - start < warmup:
        fn()
        calls += 1
    sync()
    per_call = (time.perf_counter() - start) / calls
    return max(1, int(TARGET_SAMPLE_TIME / max(per_call, 1e-9)))


def sample(fn: Callable[[], Any], number: int, sync: Callable[[], None]) -> float:
    start = time.perf_counter()
    for _ in range(number):
        fn()
    sync()
    return (time.perf_counter() - start) / number


def no_sync() -> None:
    pass


def timeit(
    fn: Callable[[], Any], label: str = "", *, min_run_time: float = 0.5, max_samples: int = 200,
    warmup: float = 0.05, sync: Callable[[], None] = no_sync, metadata: dict | None = None,
) -> Measurement:
    """Time `fn` after warming up: samples until `min_run_time` seconds and at least MIN_SAMPLES.
    A runner's own warnings (runtimes.Runner) travel with its timing."""
    number = calibrate(fn, sync, warmup)
    times: list[float] = []
    others = OtherProcesses()
    start = time.perf_counter()
    while len(times) < max_samples and (len(times) < MIN_SAMPLES or time.perf_counter() - start < min_run_time):
        times.append(sample(fn, number, sync))
    return Measurement(label, times, number, metadata or {}, others.cores(), getattr(fn, "warnings", ()))
