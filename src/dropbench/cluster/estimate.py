"""How long a plan would take on N nodes, from the per-run training times a reproduce recorded.

Training tasks are packed onto N nodes x C one-CPU workers longest first (LPT, within 4/3 of the
best packing); the export + copy and timing stages are added as measured, since each profile's
timing runs alone on its own node whatever N is.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..checkpoint import MANIFEST
from ..errors import ConfigError
from ..limits import MANIFEST_MAX_BYTES, RECORDS_MAX_BYTES
from ..schemas import read_json


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


def recorded_seconds(path: Path, max_bytes: int, what: str, *keys: str) -> float:
    """The seconds at `keys` in a JSON file a reproduce wrote, read through the bounded reader
    (schemas.read_json); a file without them is one line of ConfigError."""
    value: Any = read_json(path, ConfigError, max_bytes, what)
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ConfigError(f"{path}: {'.'.join(keys)} is not a number of seconds; it is not a {what} dropbench wrote")
    return value


def training_seconds(out: Path) -> list[float]:
    """Every training of a reproduce output (each seed directory's manifest)."""
    seconds = [recorded_seconds(path, MANIFEST_MAX_BYTES, "checkpoint manifest", "train", "seconds") for path in sorted(Path(out).glob(f"runs/*/{MANIFEST}"))]
    if not seconds:
        raise ConfigError(f"{out} holds no runs/*/{MANIFEST}: point it at a reproduce output")
    return seconds


def estimate(out: Path, nodes: list[int], cpus_per_node: int, slowdown: float = 1.0, other_s: float | None = None) -> list[Estimate]:
    """The plan of reproduce output `out` on each node count. `slowdown` scales its recorded training
    times to one thread per task (1.0: they were recorded so); `other_s` replaces the export, copy and
    timing seconds its reproduce.json records."""
    seconds = [s * slowdown for s in training_seconds(out)]
    if other_s is None:
        record = Path(out) / "reproduce.json"
        if not record.is_file():
            raise ConfigError(f"{record} is missing (an output of an older dropbench); give --other-seconds")
        other_s = sum(recorded_seconds(record, RECORDS_MAX_BYTES, "reproduce record", "stages", stage) for stage in ("export + copy", "time + claims"))
    return [Estimate(n, makespan(seconds, n * cpus_per_node), other_s) for n in nodes]
