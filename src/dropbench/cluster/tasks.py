"""The bodies of the Ray tasks. They run on a worker node, import nothing from the driver and
return plain data (bytes, records), so a node needs only dropbench installed at the same commit."""

from __future__ import annotations

import shutil
import socket
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any


from ..claims.context import PlanChecks
from ..profiles import Profile
from ..runs import RunSpec, cache_root, entry_name, train_run, valid_entry
from ..runtimes import torch_threads
from ..stages import ProfileFigures, TimingBudget, measure_profile
from .transfer import pack_dir, unpack_entry


def node_label() -> str:
    import ray

    return f"{socket.gethostname()} ({ray.get_runtime_context().get_node_id()[:6]})"


@dataclass(frozen=True)
class TrainedSeed:
    entry: str  # the cache entry's name as this node computes it: a different one means different code
    payload: bytes  # the checkpoint directory (transfer.pack_dir)
    seconds: float


def train_seed(spec: RunSpec, threads: int) -> TrainedSeed:
    """Train one seed of a run with `threads` torch threads (the CPUs the task holds) and return it packed."""
    start = time.perf_counter()
    with torch_threads(threads), tempfile.TemporaryDirectory(prefix="dropbench-train-") as tmp:
        out = Path(tmp) / spec.name
        train_run(spec, out)
        payload = pack_dir(out)
    return TrainedSeed(entry_name(spec), payload, time.perf_counter() - start)


def missing_entries(names: list[str]) -> list[str]:
    """The cache entries this node lacks (a node on the driver's machine shares its cache)."""
    return [name for name in names if not valid_entry(cache_root() / name)]


def time_profile(
    specs: list[RunSpec], profile: Profile, checks: PlanChecks, budget: TimingBudget, layout: dict[str, str], payloads: dict[str, Any],
) -> ProfileFigures:
    """reproduce's timing stage for one profile, on the node that advertises it.

    `layout` maps each runs/<dir> to its cache entry; `payloads` holds object refs of the entries
    this node lacked, which land in its cache first. The checkpoints are laid out as reproduce
    writes them, so the records name the same paths as a local run's."""
    import ray

    for name, ref in payloads.items():
        unpack_entry(cache_root() / name, ray.get(ref))
    with tempfile.TemporaryDirectory(prefix="dropbench-time-") as tmp:
        runs = Path(tmp) / "runs"
        for directory, entry in layout.items():
            shutil.copytree(cache_root() / entry, runs / directory, symlinks=True)
        return measure_profile(specs, runs, profile, checks, budget=budget)
