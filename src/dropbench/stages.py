"""reproduce's two stages, as every executor runs them (execution.LocalExecutor here, one Ray task
each on a cluster: cluster/driver.py).

1. `train_all`: every seed of every run of the plan, from the run cache, trained where missing.
2. `measure_profile`: on one profile, time every checkpoint (bench.json), each compacted one
   against its dense baseline and the A/A calibration (speedups.json), and check the claims
   (claims.json). It must own the machine: nothing else may run while it does.

Checkpoints are laid out as `reproduce` writes them: runs/<run>/ holds the first seed (benched),
runs/<run>.seed<N>/ the others, exported where a speed claim times them.
"""

from __future__ import annotations

import multiprocessing
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from .checkpoint import checkpoint_dirs, load_checkpoint
from .claims.context import ClaimContext, PlanChecks
from .claims.record import ClaimRecord
from .claims.runner import check_claims
from .export import ensure_exported
from .plans.specs import baseline_for
from .profiles import Profile
from .processes import ctrl_c_ignored_by_children, main_not_rerun
from .runs import RunSpec, cache_entry, cached_run, cached_runs
from .runtimes import profile_threads, torch_threads
from .timing.explain import Breakdowns
from .timing.latency import bench_checkpoint
from .timing.inference import speedup_records


@dataclass(frozen=True)
class TimingBudget:
    """Seconds of samples per timing round of each figure reproduce times (a round gives half to each model's
    process), and the claims' rounds."""

    bench: float = 0.3  # latency of every checkpoint x runtime x batch
    speedup: float = 0.15  # per round (3 rounds), for every compacted checkpoint in speedups.json
    claim: float = 0.5  # per round of a claim's speed ratio
    claim_rounds: int = 5  # its interval is a t-interval over them


@dataclass
class ProfileFigures:
    """What the timing stage measures on one profile: bench.json, speedups.json and claims.json records."""

    profile: str
    bench: list[dict[str, Any]] = field(default_factory=list)
    speedups: list[dict[str, Any]] = field(default_factory=list)
    claims: list[ClaimRecord] = field(default_factory=list)


def seed_dir_name(spec: RunSpec, index: int) -> str:
    """runs/<name>/ holds the first seed (benched); runs/<name>.seed<N>/ the others."""
    return spec.name if index == 0 else f"{spec.name}.seed{spec.all_seeds()[index]}"


def is_first_seed_dir(name: str) -> bool:
    """Whether runs/<name>/ holds a run's first seed (what the report shows), not runs/<run>.seed<N>/."""
    return re.fullmatch(r".+\.seed\d+", name) is None


def seed_dirs(spec: RunSpec, runs_dir: Path) -> list[Path]:
    return [runs_dir / seed_dir_name(spec, i) for i in range(len(spec.all_seeds()))]


def train_all(specs: list[RunSpec], progress: Any = None, threads: int | None = None) -> dict[str, list[Path]]:
    """Every seed of every run from the run cache, trained here where missing: run name -> cache entries.

    Missing seeds train side by side, each in a process of its own with `threads` torch threads
    (default 1), as many at once as the cores allow (training_slots): small nets scale poorly over
    threads, so on the 2-core AMD EPYC two one-thread trainings of the quick plan finish sooner than
    one at a time on two threads (docs/claims.md, "Budgets"). A lone missing seed trains here, on
    as many threads: a seed's bytes do not depend on how many others were missing. (Missing means
    no entry: a damaged one is found, removed and retrained here by runs.cached_run, which loads
    every entry; loading them twice would double a warm run's reading.)"""
    missing = [one for spec in specs for one in spec.per_seed() if not cache_entry(one).exists()]
    processes, each = training_slots(threads)
    if min(processes, len(missing)) > 1:
        _train_side_by_side(missing, processes, each, progress)
    task = progress.add_task("train + compact", total=len(specs), status="") if progress else None
    cached = {}
    with torch_threads(each):  # what is left (a lone seed, or one process's worth) trains here, as it would side by side
        for spec in specs:
            if progress:
                progress.update(task, status=f"{spec.name} ({len(spec.all_seeds())} seed(s))")
            cached[spec.name] = cached_runs(spec, progress=progress)
            if progress:
                progress.advance(task)
    return cached


def training_slots(threads: int | None = None) -> tuple[int, int]:
    """(processes, threads each) for training here: `threads` (default 1) per training, as many
    trainings side by side as this machine has physical cores for."""
    threads = threads or 1
    cores = psutil.cpu_count(logical=False) or os.cpu_count() or 1
    return max(1, cores // threads), threads


def _train_side_by_side(seeds: list[RunSpec], processes: int, threads: int, progress: Any) -> None:
    """Train each seed into the run cache in a pool of fresh (spawned) processes; the first error
    stops the others and is raised here (an interrupted training leaves no entry: runs.cached_run)."""
    task = progress.add_task(f"train ({processes} at a time, {threads} thread(s) each)", total=len(seeds), status="") if progress else None
    context = multiprocessing.get_context("spawn")  # not fork: torch's thread pools do not survive a fork
    with main_not_rerun(), ctrl_c_ignored_by_children():  # Ctrl-C: the parent stops the pool
        pool = context.Pool(processes)
    try:
        for name in pool.imap_unordered(_train_seed, [(seed, threads) for seed in seeds]):
            if progress:
                progress.update(task, status=f"{name} done")
                progress.advance(task)
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()


def _train_seed(args: tuple[RunSpec, int]) -> str:
    seed, threads = args
    with torch_threads(threads):
        cached_run(seed)
    return f"{seed.name} seed {seed.train.seed}"


def export_timed(cached: dict[str, list[Path]]) -> None:
    """Export the first seed of every run (and its variants) to ONNX, in the cache: that seed is
    benched. The other seeds a speed claim times are exported when it times them (ClaimContext.timed)."""
    for entries in cached.values():
        for directory in checkpoint_dirs(entries[0]):
            ensure_exported(directory)


def measure_profile(
    specs: list[RunSpec], runs_dir: Path, profile: Profile, checks: PlanChecks, progress: Any = None, budget: TimingBudget = TimingBudget(),
) -> ProfileFigures:
    """Time every checkpoint under runs_dir (laid out as reproduce writes runs/) and check every claim on `profile`.

    This is the timing stage: it must own the machine, so nothing else may run while it does. All
    of it runs on the profile's torch threads, the claims' accuracy figures as much as the timings."""
    profile.require_available()
    with profile_threads(profile):
        return _measure(specs, runs_dir, profile, checks, progress, budget)


def _measure(specs: list[RunSpec], runs_dir: Path, profile: Profile, checks: PlanChecks, progress: Any, budget: TimingBudget) -> ProfileFigures:
    run_dirs = {spec.name: seed_dirs(spec, runs_dir) for spec in specs}
    checkpoints = {name: [load_checkpoint(d) for d in checkpoint_dirs(dirs[0])] for name, dirs in run_dirs.items()}
    figures = ProfileFigures(profile.name)
    task = progress.add_task(f"time on {profile.name}", total=len(specs) + 2, status="") if progress else None

    def stage(text: str) -> None:
        if progress:
            progress.update(task, status=text)

    def done() -> None:
        if progress:
            progress.advance(task)

    for spec in specs:
        stage(f"bench {spec.name}")
        for checkpoint in checkpoints[spec.name]:
            figures.bench += [m.as_dict() for m in bench_checkpoint(checkpoint, profile, min_run_time=budget.bench)]
        done()
    stage("speedups over the dense baselines, and the A/A calibration")
    dense, breakdowns = checkpoints["dense"][0], Breakdowns()  # each dense baseline is profiled once
    figures.speedups += speedup_records(dense, dense, profile, budget.speedup, breakdowns=breakdowns)  # A/A: must come out 1.0
    for spec in specs:
        base = baseline_for(spec, specs)
        for checkpoint in checkpoints[spec.name] if base else []:
            figures.speedups += speedup_records(checkpoints[base.name][0], checkpoint, profile, budget.speedup, breakdowns=breakdowns)
    done()
    stage("claims")
    context = ClaimContext(profile, specs, checks, progress, budget.claim, run_dirs, relative_to=runs_dir.parent, rounds=budget.claim_rounds)
    figures.claims = check_claims(list(checks.claims), context)
    done()
    return figures
