"""How long a plan would take on N nodes, from the per-run training times a reproduce recorded.

Training tasks are packed onto N nodes x C one-CPU workers longest first (LPT, within 4/3 of the
best packing); the export + copy and timing stages are added as measured, since each profile's
timing runs alone on its own node whatever N is.
"""

from __future__ import annotations

import heapq
import os
from dataclasses import dataclass
from pathlib import Path

from ..checkpoint import MANIFEST
from ..errors import ConfigError
from ..limits import MANIFEST_MAX_BYTES, RECORDS_MAX_BYTES
from ..schemas import read_record
from ..schemas.records import Reproduce, TrainedRun

OTHER_STAGES = ("export + copy", "time + claims")  # the stages whose seconds do not shrink with more nodes


def makespan(durations: list[float], workers: int) -> float:
    """Wall time of running the tasks on `workers` slots, longest first, each to the first free slot."""
    slots = [0.0] * max(workers, 1)
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
               for path in sorted(Path(out).glob(f"runs/*/{MANIFEST}"))]
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
