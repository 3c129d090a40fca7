"""How long a plan would take on N nodes: from the per-run training times a reproduce recorded
(`estimate`), or before anyone runs it, from a few timed training steps of each run (`estimate_plan`).

Training tasks (one per seed) are packed onto N nodes x C one-CPU workers longest first (LPT,
within 4/3 of the best packing); the export + copy and timing stages are added as measured (or
as given), since each profile's timing runs alone on its own node whatever N is.
"""

from __future__ import annotations

import heapq
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from ..checkpoint import MANIFEST
from ..data import load_dataset
from ..dataset import Dataset, Split
from ..errors import ConfigError, DataError
from ..fsutil import user_path
from ..limits import MANIFEST_MAX_BYTES, RECORDS_MAX_BYTES
from ..models import default_arch
from ..runs import RunSpec
from ..runtimes.base import torch_threads
from ..schemas import read_record
from ..schemas.records import Reproduce, TrainedRun
from ..timing.training import train_step_runner
from ..train import steps_per_epoch

OTHER_STAGES = ("export + copy", "time + claims")  # the stages whose seconds do not shrink with more nodes
# export, copies and timing of one profile as the full plan (27 runs) measured them on a 2-core AMD EPYC (docs/cluster.md)
DEFAULT_OTHER_S = 252.0
FULL_MNIST_IMAGES = 60_000  # the full MNIST's training images; idx: data trains on 90 % of them, the rest validates (data.load_idx_dir)


def makespan(durations: list[float], workers: int) -> float:
    """Wall time of running the tasks on `workers` slots, longest first, each to the first free slot
    (slots beyond one per task stay idle, so none are made)."""
    slots = [0.0] * max(min(workers, len(durations)), 1)
    for duration in sorted(durations, reverse=True):
        heapq.heapreplace(slots, slots[0] + duration)
    return max(slots)


@dataclass(frozen=True)
class Estimate:
    nodes: int
    train_s: float
    other_s: float  # export + copy and the timing stage, as measured

    @property
    def total_s(self) -> float:
        return self.train_s + self.other_s


def training_seconds(out: Path) -> list[float]:
    """Every training of a reproduce output (each seed directory's manifest), read through the
    bounded reader and its schema (schemas.records.TrainedRun): bounded, finite, non-negative seconds."""
    seconds = [read_record(path, TrainedRun, ConfigError, MANIFEST_MAX_BYTES, "checkpoint manifest").train.seconds
               for path in sorted(user_path(out, "output directory", ConfigError).glob(f"runs/*/{MANIFEST}"))]
    if not seconds:
        raise ConfigError(f"{out} holds no runs/*/{MANIFEST}: point it at a reproduce output")
    return seconds


def other_seconds(out: Path) -> float:
    """The export + copy and timing seconds a reproduce.json records."""
    path = Path(out) / "reproduce.json"
    if not os.path.lexists(path):
        raise ConfigError(f"{path} is missing (an output of an older dropbench); give --other-seconds")
    stages = read_record(path, Reproduce, ConfigError, RECORDS_MAX_BYTES, "reproduce record").stages
    missing = [stage for stage in OTHER_STAGES if stage not in stages]
    if missing:
        raise ConfigError(f"{path}: stages records no {missing[0]!r} seconds; give --other-seconds")
    return sum(stages[stage] for stage in OTHER_STAGES)


def estimate(out: Path, nodes: list[int], cpus_per_node: int, slowdown: float = 1.0, other_s: float | None = None) -> list[Estimate]:
    """The plan of reproduce output `out` on each node count. `slowdown` scales its recorded training
    times to one thread per task (1.0: they were recorded so); `other_s` replaces the export, copy and
    timing seconds its reproduce.json records."""
    seconds = [s * slowdown for s in training_seconds(out)]
    if other_s is None:
        other_s = other_seconds(out)
    return [Estimate(n, makespan(seconds, n * cpus_per_node), other_s) for n in nodes]


@dataclass(frozen=True)
class RunCost:
    """One run's training, extrapolated from a few timed steps: seconds per step x steps, per seed."""

    name: str
    step_s: float
    steps: int  # steps per epoch x epochs, for one seed
    seeds: int
    note: str = ""  # where the data's size came from, when not from the data itself

    @property
    def seed_s(self) -> float:
        return self.step_s * self.steps


def timed_data(spec: str) -> tuple[Dataset, str]:
    """The data a run trains on; for idx: data that is not here, a stand-in of the full MNIST's
    shape and size (one random image repeated: a step's time does not depend on the pixels)."""
    if not spec.startswith("idx:") or user_path(spec[4:], "idx:DIR", DataError).is_dir():
        return load_dataset(spec), ""
    n = FULL_MNIST_IMAGES * 9 // 10
    split = Split(torch.rand(1, 1, 28, 28).expand(n, 1, 28, 28), torch.randint(0, 10, (n,)))
    return Dataset(spec, "classification", (1, 28, 28), 10, split, split, split), \
        f"{spec} is not here: sized as the full MNIST ({FULL_MNIST_IMAGES:,} training images, {n:,} of them trained on)"


def run_cost(spec: RunSpec, steps: int = 10, warmup: int = 2) -> RunCost:
    """Time `steps` training steps of `spec` (after `warmup`) with one thread, as a cluster's
    worker trains, and extrapolate to its epochs."""
    data, note = timed_data(spec.data)
    arch = default_arch(spec.model, data, list(spec.hidden) if spec.hidden else None)
    step = train_step_runner(spec, "cpu", data)
    with torch_threads(1):
        for _ in range(warmup):
            step()
        start = time.perf_counter()
        for _ in range(steps):
            step()
        step_s = (time.perf_counter() - start) / steps
    total = steps_per_epoch(data, spec.train, arch.get("seq_len", 0)) * spec.train.epochs
    return RunCost(spec.name, step_s, total, len(spec.all_seeds()), note)


def estimate_plan(specs: list[RunSpec], nodes: list[int], cpus_per_node: int, other_s: float = DEFAULT_OTHER_S,
                  steps: int = 10, on_run: Callable[[RunCost], None] | None = None) -> tuple[list[RunCost], list[Estimate]]:
    """A plan's wall time on each node count before it runs: each run's seeds as tasks of its
    extrapolated training seconds, plus `other_s` for export and timing. `on_run` hears each run as it is timed."""
    costs = []
    for spec in specs:
        costs.append(run_cost(spec, steps))
        if on_run:
            on_run(costs[-1])
    tasks = [cost.seed_s for cost in costs for _ in range(cost.seeds)]
    return costs, [Estimate(n, makespan(tasks, n * cpus_per_node), other_s) for n in nodes]
