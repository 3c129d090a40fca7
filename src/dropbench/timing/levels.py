"""Where a speed ratio's variance comes from: between processes and within one.

A two-level design in the sense of Kalibera and Jones ("Rigorous Benchmarking in Reasonable
Time", 2013): `processes` fresh processes each run `rounds` timing rounds of one comparison. The
spread of the log ratio splits into a within-process part (rounds in one process) and a
between-process part (what a new process changes: allocation, placement, thread start-up). When
the between-process part is not small, an interval over rounds of one process is too narrow for
the next run, which is why `rounds.compare` gives every round processes of its own (one per model).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, replace

import numpy as np

from .rounds import Round, time_round
from .servers import in_fresh_process, start_servers


@dataclass
class Levels:
    ratios: list[list[float]]  # per process, the ratio of each of its rounds
    process_s: float  # mean seconds a fresh process costs beyond its rounds (fork, load, build)
    round_s: float  # mean seconds one round takes

    @property
    def within(self) -> float:
        """Variance of the log ratio between rounds of one process (pooled over processes)."""
        return float(np.mean([np.var(np.log(r), ddof=1) for r in self.ratios]))

    @property
    def between(self) -> float:
        """Variance of the log ratio between processes, beyond what their rounds' spread explains
        (the ANOVA estimate: variance of the process means less within / rounds, at least 0)."""
        means = [np.mean(np.log(r)) for r in self.ratios]
        return max(0.0, float(np.var(means, ddof=1)) - self.within / len(self.ratios[0]))

    @property
    def best_rounds_per_process(self) -> float:
        """Rounds per process that give the narrowest interval for the time spent (Kalibera and
        Jones): sqrt(process cost / round cost x within / between); inf when between is 0."""
        if self.between == 0:
            return math.inf
        return math.sqrt(self.process_s / self.round_s * self.within / self.between)

    def as_dict(self) -> dict:
        return {
            **asdict(self), "within_variance": self.within, "between_variance": self.between,
            "within_sd_percent": 100 * math.sqrt(self.within), "between_sd_percent": 100 * math.sqrt(self.between),
            "best_rounds_per_process": self.best_rounds_per_process,
        }


def variance_levels(plan: Round, processes: int = 5, rounds: int = 4) -> Levels:
    """Time `plan` in `processes` fresh processes, `rounds` rounds each (alternating order); process
    p forks from server p, as round p of `rounds.compare` does."""
    if processes < 2 or rounds < 2:
        raise ValueError("a two-level design needs at least 2 processes of at least 2 rounds")
    start_servers(processes)  # the servers they fork from: a one-time cost, not a process's
    ratios, process_s, round_s = [], [], []
    for p in range(processes):
        start = time.perf_counter()
        per_round, inside = in_fresh_process(_rounds_in_one_process, plan, rounds, server=p)
        ratios.append(per_round)
        process_s.append(time.perf_counter() - start - inside)
        round_s.append(inside / rounds)
    return Levels(ratios, float(np.mean(process_s)), float(np.mean(round_s)))


def _rounds_in_one_process(plan: Round, rounds: int) -> tuple[list[float], float]:
    start = time.perf_counter()
    ratios = [time_round(replace(plan, swapped=r % 2 == 1)).ratio for r in range(rounds)]
    return ratios, time.perf_counter() - start
