"""Speed ratios over timing rounds, each model timed alone in a fresh process (docs/design.md, "Measuring").

A round times the baseline and the candidate one after the other, each in a process of its own
that builds its runner, warms it up and samples it for half the round's `min_run_time`; the
baseline goes first in even rounds, the candidate in odd ones, and the round's ratio is the ratio
of the two medians. One model per process is how users deploy a model: two models interleaved in
one process made each one's thread pool compete with the other's (onnxruntime's spinning threads
slowed the other session, a dense net 1.1 -> 1.8 ms, issue 36). Fresh processes also span what
changes between invocations, which rounds inside one process miss (the same comparison run twice
gave song-LSTM savings of 29.2 % [27.5, 30.8] and 43.4 % [41.2, 45.6]); both processes of round r
fork from preloaded server r (`servers.py`: each server has an address-space layout of its own),
so the runner factories must be picklable.
"""

from __future__ import annotations

import math
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from .. import stats
from ..runtimes.base import sync_for, torch_threads
from .measurement import CONTENDED_CORES, Comparison, Measurement, timeit
from .servers import in_fresh_process, start_servers

DEFAULT_ROUNDS = 3
MAX_RETIMES = 3  # rounds of one comparison timed again after another process shared the machine

RunnerFactory = Callable[[], Callable[[], Any]]


@dataclass(frozen=True)
class Side:
    """One model's part of a round, or one latency: picklable, so it runs in a process of its own."""

    make: RunnerFactory
    min_run_time: float
    max_samples: int = 200
    warmup: float = 0.05
    threads: int | None = None  # torch intra-op threads while the runner is built and timed (None: leave as is)
    device: str = "cpu"


def time_side(side: Side) -> Measurement:
    """Build the runner, warm it up and sample it, in this process; its compile time, if any, in `metadata`."""
    with torch_threads(side.threads) if side.threads else nullcontext():
        runner = side.make()
        compiled = _compiled(getattr(runner, "compile_s", None))
        return timeit(runner, min_run_time=side.min_run_time, max_samples=side.max_samples, warmup=side.warmup,
                      sync=sync_for(side.device), metadata=compiled)


@dataclass(frozen=True)
class Round:
    """One timing round: the baseline's and the candidate's Side, sampled for half of `min_run_time` each."""

    baseline: RunnerFactory
    candidate: RunnerFactory
    swapped: bool  # time the candidate first
    min_run_time: float
    max_samples: int
    warmup: float
    threads: int | None  # torch intra-op threads while runners are built and timed (None: leave as is)
    device: str

    def side(self, make: RunnerFactory) -> Side:
        # half each: every model keeps the sampling time it had when the two were interleaved, and a round its cost
        return Side(make, self.min_run_time / 2, self.max_samples, self.warmup, self.threads, self.device)


@dataclass
class RoundResult:
    baseline: list[float]  # per-call seconds of each sample
    candidate: list[float]
    numbers: tuple[int, int]  # calls per sample
    contention: float  # cores other processes kept busy while either side was timed (the larger)
    compile_s: tuple[float | None, float | None]  # one-time compilation of each runner (torch-compile)
    warnings: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())  # each runner's own (runtimes.Runner.warnings)

    @property
    def ratio(self) -> float:
        return stats.median(self.baseline) / stats.median(self.candidate)


def time_round(plan: Round, run: Callable[[Side], Measurement] = time_side) -> RoundResult:
    """Time both sides one after the other, in the round's order, each with `run` (default: in this
    process, one runner alive at a time)."""
    order = [plan.candidate, plan.baseline] if plan.swapped else [plan.baseline, plan.candidate]
    first, second = (run(plan.side(make)) for make in order)
    base, cand = (second, first) if plan.swapped else (first, second)
    return RoundResult(
        base.times, cand.times, (base.number, cand.number), max(base.contention, cand.contention),
        (base.metadata.get("compile_s"), cand.metadata.get("compile_s")), (base.runner_warnings, cand.runner_warnings),
    )


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

    Each side of a round runs in a fresh process of its own unless `fresh_processes` is off (then
    both run in this process, one after the other, and the factories need not be picklable); both
    sides of round r fork from server r % `servers` (default: a server per round). A round is timed
    again when either side shared the machine. The interval is stats.rounds_ci for one pair, stats.grouped_rounds_ci over pairs and rounds for more."""
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
    """The round with each side in a process of its own forked from `server`, or both in this one."""
    if not fresh_process:
        return time_round(plan, time_side)
    return time_round(plan, lambda side: in_fresh_process(time_side, side, server=server))


def _compiled(compile_s: float | None) -> dict[str, Any]:
    return {} if compile_s is None else {"compile_s": compile_s}
