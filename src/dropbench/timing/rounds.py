"""Speed ratios over timing rounds, each round in a fresh process (docs/design.md, "Measuring").

A round builds both runners anew, warms them up and interleaves their samples for `min_run_time`
seconds, A B A B in even rounds and B A B A in odd ones; its ratio is the ratio of its medians.
Rounds inside one process share its allocator, thread pools and memory placement, so their spread
misses what changes between invocations: the same comparison run twice gave song-LSTM savings of
29.2 % [27.5, 30.8] and 43.4 % [41.2, 45.6]. So `compare` runs every round in a new process, as asv
and pyperf spread their samples over processes, round r forked from preloaded server r
(`servers.py`: each server has an address-space layout of its own); the runner factories must be
picklable.
"""

from __future__ import annotations

import math
import time
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from .. import stats
from ..runtimes.base import sync_for, torch_threads
from .measurement import CONTENDED_CORES, MIN_SAMPLES, Comparison, Measurement, OtherProcesses, calibrate, sample
from .servers import in_fresh_process, start_servers

DEFAULT_ROUNDS = 3
MAX_RETIMES = 3  # rounds of one comparison timed again after another process shared the machine

RunnerFactory = Callable[[], Callable[[], Any]]


@dataclass(frozen=True)
class Round:
    """One timing round: picklable, so it can run in another process."""

    baseline: RunnerFactory
    candidate: RunnerFactory
    swapped: bool  # build, warm up and sample the candidate first
    min_run_time: float
    max_samples: int
    warmup: float
    threads: int | None  # torch intra-op threads while runners are built and timed (None: leave as is)
    device: str


@dataclass
class RoundResult:
    baseline: list[float]  # per-call seconds of each sample
    candidate: list[float]
    numbers: tuple[int, int]  # calls per sample
    contention: float  # cores other processes kept busy while it was timed
    compile_s: tuple[float | None, float | None]  # one-time compilation of each runner (torch-compile)
    warnings: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())  # each runner's own (runtimes.Runner.warnings)

    @property
    def ratio(self) -> float:
        return stats.median(self.baseline) / stats.median(self.candidate)


def time_round(plan: Round) -> RoundResult:
    """Build both runners, warm them up and interleave their samples (in this process)."""
    with torch_threads(plan.threads) if plan.threads else nullcontext():
        sync = sync_for(plan.device)
        order = [plan.candidate, plan.baseline] if plan.swapped else [plan.baseline, plan.candidate]
        first, second = (make() for make in order)
        numbers = calibrate(first, sync, plan.warmup), calibrate(second, sync, plan.warmup)
        others = OtherProcesses()
        xs: list[float] = []
        ys: list[float] = []
        start = time.perf_counter()
        while len(xs) < plan.max_samples and (len(xs) < MIN_SAMPLES or time.perf_counter() - start < plan.min_run_time):
            xs.append(sample(first, numbers[0], sync))
            ys.append(sample(second, numbers[1], sync))
        contention = others.cores()
        compile_s = getattr(first, "compile_s", None), getattr(second, "compile_s", None)
        warnings = tuple(getattr(first, "warnings", ())), tuple(getattr(second, "warnings", ()))
    if plan.swapped:
        return RoundResult(ys, xs, numbers[::-1], contention, compile_s[::-1], warnings[::-1])
    return RoundResult(xs, ys, numbers, contention, compile_s, warnings)


def compare(
    make_baseline: RunnerFactory, make_candidate: RunnerFactory, labels: tuple[str, str] = ("baseline", "candidate"), **options: Any,
) -> Comparison:
    """Speed ratio of two runners over independent rounds (`compare_pairs` with one pair)."""
    return compare_pairs([(make_baseline, make_candidate)], labels, **options)


def compare_pairs(
    pairs: Sequence[tuple[RunnerFactory, RunnerFactory]], labels: tuple[str, str] = ("baseline", "candidate"), *,
    rounds: int = DEFAULT_ROUNDS, min_run_time: float = 1.0, max_samples: int = 200, warmup: float = 0.05,
    threads: int | None = None, device: str = "cpu", fresh_processes: bool = True, servers: int | None = None,
) -> Comparison:
    """Speed ratio of baseline over candidate runners over independent rounds spread evenly over
    `pairs` (e.g. one pair of nets per training seed, so the interval spans seeds as well as
    rounds): round r times pair r % len(pairs), each pair in alternating order, and every pair
    gets the same number of rounds (at least `rounds` in all).

    Each round runs in a fresh process unless `fresh_processes` is off (then the factories need not
    be picklable); round r forks from server r % `servers` (default: a server per round). The
    interval is stats.rounds_ci for one pair, stats.grouped_rounds_ci over pairs and rounds for more."""
    if not pairs:
        raise ValueError("nothing to compare: no pair of runners")
    per_pair = math.ceil(rounds / len(pairs))
    total = per_pair * len(pairs)
    if total < 2:
        raise ValueError("rounds must be >= 2: the interval is taken over rounds")
    servers = servers or total
    if fresh_processes:
        start_servers(servers)  # before the first round: their start-up must not share the machine with one
    results, retimed = [], 0
    for r in range(total):
        baseline, candidate = pairs[r % len(pairs)]
        plan = Round(baseline, candidate, (r // len(pairs)) % 2 == 1, min_run_time, max_samples, warmup, threads, device)
        server = r % servers
        result = _time(plan, fresh_processes, server)
        while result.contention > CONTENDED_CORES and retimed < MAX_RETIMES:  # a blip from another process: time it again
            result, retimed = _time(plan, fresh_processes, server), retimed + 1
        results.append(result)
    ratios = [result.ratio for result in results]
    round_pairs = [r % len(pairs) for r in range(total)]
    last = results[-1]
    baseline = Measurement(labels[0], [t for result in results for t in result.baseline], last.numbers[0], _compiled(last.compile_s[0]),
                           runner_warnings=last.warnings[0])
    candidate = Measurement(labels[1], [t for result in results for t in result.candidate], last.numbers[1], _compiled(last.compile_s[1]),
                            runner_warnings=last.warnings[1])
    contention = [result.contention for result in results]
    ci = stats.rounds_ci(ratios) if len(pairs) == 1 else stats.grouped_rounds_ci([ratios[p::len(pairs)] for p in range(len(pairs))])
    return Comparison(baseline, candidate, stats.geometric_mean(ratios), ci, ratios, stats.current_confidence(), contention, fresh_processes,
                      retimed, round_pairs)


def _time(plan: Round, fresh_process: bool, server: int) -> RoundResult:
    return in_fresh_process(time_round, plan, server=server) if fresh_process else time_round(plan)


def _compiled(compile_s: float | None) -> dict[str, Any]:
    return {} if compile_s is None else {"compile_s": compile_s}
