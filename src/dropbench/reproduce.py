"""The main job: train every method, compact, export, bench, compare with dense, check the claims, report.

Trained checkpoints come from the run cache (runs.cached_run), so a second reproduce, the claims
and the asv suites reuse them; each is copied into the output directory.

`plan(quick)` lists the runs; each method module's runs sit in one table here so the whole job
reads top to bottom. Two stages: every run is trained (`train_all`, or Ray tasks with
`--cluster`), then each hardware profile times every checkpoint and checks the claims alone on
its machine (`measure_profile`). Output (written to a staging directory, renamed into place at the end):

    DIR/runs/<run>/{manifest.json, model.safetensors, model.onnx}   the first seed (timed)
    DIR/runs/<run>.seed<N>/   the run's other seeds (their accuracy enters the verdicts)
    DIR/bench.json       latency of every checkpoint x runtime x batch size x profile
    DIR/speedups.json    speedup of every compacted checkpoint over its dense baseline (3 timing
                         rounds), and the A/A calibration: the dense checkpoint against itself
    DIR/claims.json      every claim's verdict (dropbench claims), one record per profile
    DIR/report.html      self-contained report, the profiles side by side
    DIR/reproduce.json   the plan, profiles, cluster, and the wall seconds of each stage
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .checkpoint import checkpoint_dirs, load_checkpoint
from .claims import ClaimContext, check_claims, get_claims
from .export import ensure_exported
from .fsutil import atomic_write_json, check_output_dir, staged_dir
from .profiles import Profile, fingerprint
from .report import write_report
from .runs import RunSpec, cached_runs
from .runtimes import profile_threads
from .runtimes.bench import bench_checkpoint
from .speed import speedup_records
from .train import TrainConfig

QUICK_SEEDS = (0, 1)
FULL_SEEDS = (0, 1, 2)
SONG_RATES = (0.3, 0.5, 0.7)  # the paper's range of dropout rates
KL_WEIGHTS = (0.1, 0.3)  # sparse VD candidates (the paper's bound is 1), chosen on validation


def plan(quick: bool) -> list[RunSpec]:
    """The runs of `reproduce` (and of the claims and asv suites, which pick them by name).

    quick: a 3x1024 MLP on digits, LeNets on mnist-5k with short budgets, a small LSTM (minutes);
    full: the 3x1024 MLP on mnist-5k, the LeNets with the budgets that reach the targets.
    Every run whose accuracy enters a verdict is trained with every seed (2 quick, 3 full); runs
    that are only timed (`magnitude-*`, `targeted-unit`) with the first.
    """
    seeds = QUICK_SEEDS if quick else FULL_SEEDS
    if quick:
        common = {"model": "mlp", "data": "digits", "hidden": (1024, 1024, 1024), "train": TrainConfig(epochs=20)}
        compaction_strengths = (1.0, 2.0, 4.0)
        epochs = {"dense": 10, "vd300": 60, "vd5": 30}
        lenet5_kl = KL_WEIGHTS[:1]  # LeNet-5 VD is the quick plan's slowest training: one candidate
        lstm = {"model": "lstm", "data": "pydoc-text", "hidden": (128,), "train": TrainConfig(epochs=2)}
    else:
        common = {"model": "mlp", "data": "mnist-5k", "hidden": (1024, 1024, 1024), "train": TrainConfig(epochs=30)}
        compaction_strengths = (0.3, 1.0, 3.0)
        # the dense LeNets have converged (training loss ~0) by 30 epochs
        epochs = {"dense": 30, "vd300": 200, "vd5": 100}
        lenet5_kl = KL_WEIGHTS
        lstm = {"model": "lstm", "data": "pydoc-text", "hidden": (128,), "train": TrainConfig(epochs=15)}
    seeded = {**common, "seeds": seeds}

    def lenet(epochs: int) -> dict:
        return {"data": "mnist-5k", "train": TrainConfig(epochs=epochs, batch_size=100, schedule="cosine"), "seeds": seeds}

    def vd(kl_weight: float) -> dict:  # train_clip as the reference's LeNet runs
        return {"kl_weight": kl_weight, "train_clip": True}

    def rate(p: float) -> str:  # the p = 0.5 runs keep the plain names other claims use
        return "" if p == 0.5 else f"-p{p:g}"

    return [
        RunSpec("dense", "dense", **seeded),
        *[RunSpec(f"dropout{rate(p)}", "dropout", {"p": p}, **seeded) for p in SONG_RATES],
        RunSpec("magnitude-unit", "magnitude", {"mode": "unit", "fraction": 0.5, "finetune_epochs": 3}, **common),
        RunSpec("magnitude-weight", "magnitude", {"mode": "weight", "fraction": 0.75, "finetune_epochs": 3}, **common),
        # the prior strength sets the compaction rate: one run per strength gives the width/accuracy curve
        *[RunSpec(f"dropout-compaction-s{s:g}", "dropout-compaction", {"strength": s}, **seeded) for s in compaction_strengths],
        RunSpec("targeted-weight", "targeted", {"mode": "weight", "gamma": 0.75, "alpha": 0.5, "prune_fraction": 0.75}, **seeded),
        RunSpec("targeted-unit", "targeted", {"mode": "unit", "gamma": 0.5, "alpha": 0.5, "prune_fraction": 0.5}, **common),
        RunSpec("structural", "structural", {"p": 0.5, "lower_bound": 8}, **seeded),
        # approximate random dropout against standard dropout at the same p
        *[RunSpec(f"approximate-random{rate(p)}", "approximate-random", {"p": p}, **seeded) for p in SONG_RATES],
        # sparse variational dropout: mnist-5k has 17x fewer training images than MNIST, so the KL
        # weight is a candidate below the paper's 1; the claim picks one on validation
        RunSpec("dense-lenet-300-100", "dense", model="lenet-300-100", **lenet(epochs["dense"])),
        *[RunSpec(f"variational-lenet-300-100-kl{w:g}", "variational", vd(w), model="lenet-300-100", **lenet(epochs["vd300"])) for w in KL_WEIGHTS],
        RunSpec("dense-lenet5", "dense", model="lenet5", **lenet(epochs["dense"])),
        *[RunSpec(f"variational-lenet5-kl{w:g}", "variational", vd(w), model="lenet5", **lenet(epochs["vd5"])) for w in lenet5_kl],
        # the LSTM baseline drops what approximate-random drops: whole units, recurrent connections included
        *[RunSpec(f"lstm-dropout{rate(p)}", "dropout", {"p": p, "mask": "unit"}, **lstm, seeds=seeds) for p in SONG_RATES],
        *[RunSpec(f"lstm-approximate-random{rate(p)}", "approximate-random", {"p": p}, **lstm, seeds=seeds) for p in SONG_RATES],
    ]


def baseline_for(spec: RunSpec, specs: list[RunSpec]) -> RunSpec | None:
    """The dense run with the same model, data and widths (None for the dense run itself)."""
    for other in specs:
        if other.method == "dense" and (other.model, other.data, other.hidden) == (spec.model, spec.data, spec.hidden):
            return None if other is spec else other
    return None


@dataclass(frozen=True)
class TimingBudget:
    """Seconds of interleaved samples per timing round of each figure reproduce times, and the claims' rounds."""

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
    claims: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ReproduceResult:
    out: Path
    runs: dict[str, list[Path]] = field(default_factory=dict)  # run name -> one directory per seed
    bench: list[dict[str, Any]] = field(default_factory=list)
    speedups: list[dict[str, Any]] = field(default_factory=list)
    claims: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)  # wall seconds of each stage (reproduce.json)


def seed_dir_name(spec: RunSpec, index: int) -> str:
    """runs/<name>/ holds the first seed (exported, timed); runs/<name>.seed<N>/ the others."""
    return spec.name if index == 0 else f"{spec.name}.seed{spec.all_seeds()[index]}"


def seed_dirs(spec: RunSpec, runs_dir: Path) -> list[Path]:
    return [runs_dir / seed_dir_name(spec, i) for i in range(len(spec.all_seeds()))]


def train_all(specs: list[RunSpec], progress: Any = None) -> dict[str, list[Path]]:
    """Every seed of every run from the run cache, trained here where missing: run name -> cache entries."""
    task = progress.add_task("train + compact", total=len(specs), status="") if progress else None
    cached = {}
    for spec in specs:
        if progress:
            progress.update(task, status=f"{spec.name} ({len(spec.all_seeds())} seed(s))")
        cached[spec.name] = cached_runs(spec, progress=progress)
        if progress:
            progress.advance(task)
    return cached


def export_timed(cached: dict[str, list[Path]]) -> None:
    """Export the first seed of every run (and its variants) to ONNX, in the cache: that seed is timed."""
    for entries in cached.values():
        for directory in checkpoint_dirs(entries[0]):
            ensure_exported(directory)


def measure_profile(
    specs: list[RunSpec], runs_dir: Path, profile: Profile, quick: bool, progress: Any = None, budget: TimingBudget = TimingBudget(),
) -> ProfileFigures:
    """Time every checkpoint under runs_dir (laid out as reproduce writes runs/) and check every claim on `profile`.

    This is the timing stage: it must own the machine, so nothing else may run while it does. All
    of it runs on the profile's torch threads, the claims' accuracy figures as much as the timings."""
    profile.require_available()
    with profile_threads(profile):
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
        dense = checkpoints["dense"][0]
        figures.speedups += speedup_records(dense, dense, profile, budget.speedup)  # A/A: must come out 1.0
        for spec in specs:
            base = baseline_for(spec, specs)
            for checkpoint in checkpoints[spec.name] if base else []:
                figures.speedups += speedup_records(checkpoints[base.name][0], checkpoint, profile, budget.speedup)
        done()
        stage("claims")
        mode = "quick" if quick else "full"
        context = ClaimContext(profile, specs, mode, progress, budget.claim, run_dirs, relative_to=runs_dir.parent, rounds=budget.claim_rounds)
        figures.claims = check_claims(get_claims(), context)
        done()
        return figures


def reproduce(
    out: Path, quick: bool, profiles: Profile | list[Profile], force: bool = False, progress: Any = None,
    cluster: Any = None, budget: TimingBudget = TimingBudget(),
) -> ReproduceResult:
    """Run the whole job into `out` (replaced atomically when it finishes) and time it on every profile.

    Without a cluster everything runs here, one step after another. With one (a connected
    `cluster.Cluster`), every training is a Ray task and each profile is timed on a node that
    advertises it; `out` is written here either way."""
    profiles = [profiles] if isinstance(profiles, Profile) else list(profiles)
    specs = plan(quick)
    check_output_dir(out, force)
    if cluster is None:
        for profile in profiles:
            profile.require_available()
    else:
        cluster.check(profiles)  # every profile has a node, every task fits one: before any work
    start = time.perf_counter()
    with staged_dir(out, force) as tmp:
        result = ReproduceResult(Path(out))
        cached = cluster.train_all(specs) if cluster else train_all(specs, progress)
        result.stages["train"] = time.perf_counter() - start
        export_timed(cached)
        for spec in specs:
            dirs = seed_dirs(spec, tmp / "runs")
            for entry, directory in zip(cached[spec.name], dirs):
                shutil.copytree(entry, directory, symlinks=True)
            result.runs[spec.name] = [Path(out) / d.relative_to(tmp) for d in dirs]
        result.stages["export + copy"] = time.perf_counter() - start - result.stages["train"]
        if cluster:
            measured = cluster.measure_all(specs, cached, profiles, quick, budget)
        else:
            measured = [measure_profile(specs, tmp / "runs", profile, quick, progress, budget) for profile in profiles]
        for figures in measured:
            result.bench += figures.bench
            result.speedups += figures.speedups
            result.claims += figures.claims
        result.seconds = time.perf_counter() - start
        result.stages["time + claims"] = result.seconds - sum(result.stages.values())
        atomic_write_json(tmp / "reproduce.json", {
            "plan": "quick" if quick else "full", "profiles": [p.name for p in profiles], "cluster": str(cluster.address) if cluster else None,
            "trainings": sum(len(spec.all_seeds()) for spec in specs), "seconds": result.seconds, "stages": result.stages,
        })
        atomic_write_json(tmp / "bench.json", result.bench)
        atomic_write_json(tmp / "speedups.json", result.speedups)
        atomic_write_json(tmp / "claims.json", result.claims)
        manifests = {c.name: c.manifest for spec in specs for c in map(load_checkpoint, checkpoint_dirs(tmp / "runs" / spec.name))}
        write_report(tmp / "report.html", {
            "title": f"dropbench reproduce{' --quick' if quick else ''}", "profiles": [p.as_dict() for p in profiles],
            "fingerprint": fingerprint(), "manifests": manifests,
            "bench": result.bench, "speedups": result.speedups, "claims": result.claims, "seconds": result.seconds,
        })
    return result
