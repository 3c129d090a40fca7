"""The main job: train every method, compact, export, bench, compare with dense, check the claims, report.

Trained checkpoints come from the run cache (runs.cached_run), so a second reproduce, the claims
and the asv suites reuse them; each is copied into the output directory.

`plan(quick)` lists the runs; each method module's runs sit in one table here so the whole job
reads top to bottom. Output (written to a staging directory, renamed into place at the end):

    DIR/runs/<run>/{manifest.json, model.safetensors, model.onnx}
    DIR/bench.json       latency of every checkpoint x runtime x batch size
    DIR/speedups.json    interleaved speedup of every compacted checkpoint over its dense baseline
    DIR/claims.json      every claim's verdict (dropbench claims)
    DIR/report.html      self-contained report
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .checkpoint import Checkpoint, checkpoint_dirs, load_checkpoint
from .claims import ClaimContext, check_claims, get_claims
from .export import ensure_exported
from .fsutil import atomic_write_json, staged_dir
from .profiles import Profile, fingerprint
from .report import write_report
from .runs import RunSpec, cached_run
from .runtimes.bench import bench_checkpoint
from .speed import speedup_records
from .train import TrainConfig

CLAIM_MIN_RUN_TIME = 1.0  # seconds of interleaved samples per speed ratio of a claim


def plan(quick: bool) -> list[RunSpec]:
    """The runs of `reproduce` (and of the claims and asv suites, which pick them by name).

    quick: a 3x1024 MLP on digits, LeNets on mnist-5k with short budgets, a small LSTM (minutes);
    full: the 3x1024 MLP on mnist-5k, the LeNets with the budgets that reach the targets.
    """
    if quick:
        common = {"model": "mlp", "data": "digits", "hidden": (1024, 1024, 1024), "train": TrainConfig(epochs=20)}
        compaction_strengths = (1.0, 2.0, 4.0)
        lenet_epochs = {"dense": 10, "variational-lenet-300-100": 60, "variational-lenet5": 30}
        lstm = {"model": "lstm", "data": "pydoc-text", "hidden": (128,), "train": TrainConfig(epochs=2)}
    else:
        common = {"model": "mlp", "data": "mnist-5k", "hidden": (1024, 1024, 1024), "train": TrainConfig(epochs=30)}
        compaction_strengths = (0.3, 1.0, 3.0)
        # the dense LeNets have converged (training loss ~0) by 30 epochs
        lenet_epochs = {"dense": 30, "variational-lenet-300-100": 200, "variational-lenet5": 100}
        lstm = {"model": "lstm", "data": "pydoc-text", "hidden": (128,), "train": TrainConfig(epochs=15)}

    def lenet(epochs: int) -> dict:
        return {"data": "mnist-5k", "train": TrainConfig(epochs=epochs, batch_size=100, schedule="cosine")}

    return [
        RunSpec("dense", "dense", **common),
        RunSpec("dropout", "dropout", {"p": 0.5}, **common),
        RunSpec("magnitude-unit", "magnitude", {"mode": "unit", "fraction": 0.5, "finetune_epochs": 3}, **common),
        RunSpec("magnitude-weight", "magnitude", {"mode": "weight", "fraction": 0.75, "finetune_epochs": 3}, **common),
        # the prior strength sets the compaction rate: one run per strength gives the width/accuracy curve
        *[RunSpec(f"dropout-compaction-s{s:g}", "dropout-compaction", {"strength": s}, **common) for s in compaction_strengths],
        RunSpec("targeted-weight", "targeted", {"mode": "weight", "gamma": 0.75, "alpha": 0.5, "prune_fraction": 0.75}, **common),
        RunSpec("targeted-unit", "targeted", {"mode": "unit", "gamma": 0.5, "alpha": 0.5, "prune_fraction": 0.5}, **common),
        RunSpec("structural", "structural", {"p": 0.5, "lower_bound": 8}, **common),
        RunSpec("approximate-random", "approximate-random", {"p": 0.5}, **common),  # against "dropout" at the same p
        # sparse variational dropout: the KL weight is lowered because mnist-5k has 17x fewer
        # training images than MNIST (docs/sparse-and-approximate.md)
        RunSpec("dense-lenet-300-100", "dense", model="lenet-300-100", **lenet(lenet_epochs["dense"])),
        RunSpec("variational-lenet-300-100", "variational", {"kl_weight": 0.3}, model="lenet-300-100", **lenet(lenet_epochs["variational-lenet-300-100"])),
        RunSpec("dense-lenet5", "dense", model="lenet5", **lenet(lenet_epochs["dense"])),
        RunSpec("variational-lenet5", "variational", {"kl_weight": 0.1}, model="lenet5", **lenet(lenet_epochs["variational-lenet5"])),
        RunSpec("lstm-dropout", "dropout", {"p": 0.25}, **lstm),
        RunSpec("lstm-approximate-random", "approximate-random", {"p": 0.25}, **lstm),
    ]


def baseline_for(spec: RunSpec, specs: list[RunSpec]) -> RunSpec | None:
    """The dense run with the same model, data and widths (None for the dense run itself)."""
    for other in specs:
        if other.method == "dense" and (other.model, other.data, other.hidden) == (spec.model, spec.data, spec.hidden):
            return None if other is spec else other
    return None


@dataclass
class ReproduceResult:
    out: Path
    runs: dict[str, Path] = field(default_factory=dict)
    bench: list[dict[str, Any]] = field(default_factory=list)
    speedups: list[dict[str, Any]] = field(default_factory=list)
    claims: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0


def reproduce(out: Path, quick: bool, profile: Profile, force: bool = False, progress: Any = None) -> ReproduceResult:
    """Run the whole job into `out` (replaced atomically when it finishes)."""
    profile.require_available()
    specs = plan(quick)
    start = time.perf_counter()
    stages = progress.add_task("reproduce", total=3 * len(specs) + 2, status="") if progress else None

    def stage(text: str) -> None:
        if progress:
            progress.update(stages, status=text)

    def done() -> None:
        if progress:
            progress.advance(stages)

    with staged_dir(out, force) as tmp:
        result = ReproduceResult(Path(out))
        checkpoints: dict[str, list[Checkpoint]] = {}  # run name -> its checkpoint and variants
        for spec in specs:
            stage(f"train + compact {spec.name}")
            cached = cached_run(spec, progress=progress)
            done()
            stage(f"export {spec.name}")
            for directory in checkpoint_dirs(cached):
                ensure_exported(directory)
            run_dir = Path(shutil.copytree(cached, tmp / "runs" / spec.name))
            checkpoints[spec.name] = [load_checkpoint(d) for d in checkpoint_dirs(run_dir)]
            result.runs[spec.name] = Path(out) / "runs" / spec.name
            done()
            stage(f"bench {spec.name}")
            for checkpoint in checkpoints[spec.name]:
                result.bench += [m.as_dict() for m in bench_checkpoint(checkpoint, profile, min_run_time=0.3)]
            done()
        stage("speedups over the dense baselines")
        for spec in specs:
            base = baseline_for(spec, specs)
            for checkpoint in checkpoints[spec.name] if base else []:
                result.speedups += speedup_records(checkpoints[base.name][0], checkpoint, profile, 0.4)
        done()
        stage("claims")
        run_dirs = {spec.name: tmp / "runs" / spec.name for spec in specs}
        context = ClaimContext(profile, specs, "quick" if quick else "full", progress, CLAIM_MIN_RUN_TIME, run_dirs, relative_to=tmp)
        result.claims = check_claims(get_claims(), context)
        result.seconds = time.perf_counter() - start
        atomic_write_json(tmp / "bench.json", result.bench)
        atomic_write_json(tmp / "speedups.json", result.speedups)
        atomic_write_json(tmp / "claims.json", result.claims)
        write_report(tmp / "report.html", {
            "title": f"dropbench reproduce{' --quick' if quick else ''}", "profile": profile.as_dict(),
            "fingerprint": fingerprint(), "manifests": {c.name: c.manifest for run in checkpoints.values() for c in run},
            "bench": result.bench, "speedups": result.speedups, "claims": result.claims, "seconds": result.seconds,
        })
        done()
    return result
