"""The main job: train every method, compact, export, bench, compare with dense, check the claims, report.

Trained checkpoints come from the run cache (runs.cached_run), so a second reproduce, the claims
and the asv suites reuse them; each is copied into the output directory.

The plan (plans/: a built-in name or a TOML file) lists the runs and the claims. This module only orchestrates: an executor (execution.py:
here, or a Ray cluster) runs the two stages (stages.py): every run is trained, then each hardware
profile times every checkpoint and checks the claims alone on its machine. Output (written to a
staging directory, renamed into place at the end):

    DIR/runs/<run>/{manifest.json, model.safetensors, model.onnx}   the first seed (timed)
    DIR/runs/<run>.seed<N>/   the run's other seeds (their accuracy enters the verdicts)
    DIR/bench.json       latency of every checkpoint x runtime x batch size x profile
    DIR/speedups.json    speedup of every compacted checkpoint over its dense baseline (3 timing
                         rounds), and the A/A calibration: the dense checkpoint against itself
    DIR/claims.json      every claim's verdict (dropbench claims), one record per profile
    DIR/report.html      self-contained report, the profiles side by side
    DIR/reproduce.json   the plan (name, SHA-256, itself), profiles, cluster, the wall seconds of each stage, and the provenance
                         (commit, version, command line, libraries, machine: provenance.py)
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .checkpoint import checkpoint_dirs, load_checkpoint, read_manifest
from .claims.record import ClaimRecord
from .execution import Executor, LocalExecutor
from .fsutil import atomic_write_json, check_output_dir, staged_dir
from .plans.specs import plan_checks, run_specs
from .profiles import Profile, fingerprint
from .schemas.plan import PlanSchema
from .provenance import provenance
from .report.document import write_report
from .stages import TimingBudget, export_timed, seed_dirs


@dataclass
class ReproduceResult:
    out: Path
    runs: dict[str, list[Path]] = field(default_factory=dict)  # run name -> one directory per seed
    bench: list[dict[str, Any]] = field(default_factory=list)
    speedups: list[dict[str, Any]] = field(default_factory=list)
    claims: list[ClaimRecord] = field(default_factory=list)
    seconds: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)  # wall seconds of each stage (reproduce.json)


def reproduce(
    out: Path, plan: PlanSchema, profiles: Profile | list[Profile], force: bool = False, progress: Any = None,
    executor: Executor | None = None, budget: TimingBudget | None = None,
) -> ReproduceResult:
    """Run the whole job into `out` (replaced atomically when it finishes) and time it on every profile.

    The executor runs the stages (default: here, one step after another; a connected
    `cluster.Cluster` runs them as Ray tasks); `out` is written here either way. `plan` is
    validated (plans.specs.load_plan), with the command line's --seeds and --data applied
    (plans.files.overridden): its hash is recorded as what ran."""
    profiles = [profiles] if isinstance(profiles, Profile) else list(profiles)
    executor = executor or LocalExecutor(progress)
    budget = budget or TimingBudget()
    specs, checks = run_specs(plan), plan_checks(plan)
    check_output_dir(out, force)
    executor.check(profiles)  # every profile can be timed, every task fits: before any work
    start = time.perf_counter()
    with staged_dir(out, force) as tmp:
        result = ReproduceResult(Path(out))
        cached = executor.train_all(specs)
        result.stages["train"] = time.perf_counter() - start
        export_timed(cached)
        for spec in specs:
            dirs = seed_dirs(spec, tmp / "runs")
            for entry, directory in zip(cached[spec.name], dirs):
                shutil.copytree(entry, directory, symlinks=True)
            result.runs[spec.name] = [Path(out) / d.relative_to(tmp) for d in dirs]
        result.stages["export + copy"] = time.perf_counter() - start - result.stages["train"]
        for figures in executor.measure_all(specs, cached, tmp / "runs", profiles, checks, budget):
            result.bench += figures.bench
            result.speedups += figures.speedups
            result.claims += figures.claims
        result.seconds = time.perf_counter() - start
        result.stages["time + claims"] = result.seconds - sum(result.stages.values())
        atomic_write_json(tmp / "reproduce.json", {
            "plan": plan.name, "plan_sha256": checks.sha256, "plan_spec": plan.model_dump(),
            "runs": [spec.name for spec in specs], "seeds": sorted({s for spec in specs for s in spec.all_seeds()}),
            "profiles": [p.name for p in profiles],
            "cluster": str(executor.address) if executor.address else None,
            "trainings": sum(len(spec.all_seeds()) for spec in specs), "seconds": result.seconds, "stages": result.stages,
            "provenance": provenance().as_dict(), "fingerprint": fingerprint(),
        })
        atomic_write_json(tmp / "bench.json", result.bench)
        atomic_write_json(tmp / "speedups.json", result.speedups)
        atomic_write_json(tmp / "claims.json", [record.as_dict() for record in result.claims])
        manifests = {c.name: c.manifest for spec in specs for c in map(load_checkpoint, checkpoint_dirs(tmp / "runs" / spec.name))}
        seed_manifests = {spec.name: [read_manifest(d) for d in seed_dirs(spec, tmp / "runs")] for spec in specs}
        write_report(tmp / "report.html", {
            "title": f"dropbench reproduce --plan {plan.name}", "plan": plan.name, "plan_sha256": checks.sha256, "profiles": [p.as_dict() for p in profiles],
            "fingerprint": fingerprint(), "provenance": provenance().as_dict(), "manifests": manifests, "seed_manifests": seed_manifests,
            "bench": result.bench, "speedups": result.speedups, "claims": result.claims, "seconds": result.seconds,
        })
    return result
