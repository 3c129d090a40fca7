"""Speedups: inference of a compacted checkpoint over its dense baseline, and training steps.

The measured figure is an interleaved ratio from one run (measure.compare); the theoretical one
is the FLOP ratio; realisation = measured / theoretical says how much of the saving a runtime
actually delivers.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable, Sequence

import torch
from torch import nn

from .data import Dataset, load_dataset
from .flops import theoretical_speedup
from .measure import Comparison, compare
from .methods import Method, StepState, get_method
from .models import build_model, default_arch
from .profiles import Profile
from .runs import RunSpec
from .runtimes import Model, RuntimeUnavailable, apply_threads, default_runtimes, device_sync
from .runtimes.bench import compare_checkpoints, model_batch_sizes
from .train import batches, make_optimizer, steps_per_epoch, train_step


def baseline_runtime(candidate_runtime: str) -> str:
    """The runtime the baseline runs in: its own, but torch eager against the sparse runner."""
    return "torch-eager" if candidate_runtime == "torch-sparse" else candidate_runtime


def speedup_record(
    baseline: Model, candidate: Model, profile: Profile, candidate_runtime: str, batch: int, min_run_time: float,
) -> dict[str, Any]:
    """Measured (interleaved) and theoretical speedup of `candidate` over `baseline` in one runtime at one batch size."""
    c = compare_checkpoints(baseline, candidate, profile, baseline_runtime(candidate_runtime), batch, min_run_time, candidate_runtime)
    flop_ratio = theoretical_speedup(baseline.metrics, candidate.metrics, sparse=candidate_runtime == "torch-sparse")
    return {
        **c.as_dict(), "candidate": candidate.name, "baseline": baseline.name, "runtime": candidate_runtime, "batch": batch,
        "flop_ratio": flop_ratio, "realisation": c.speedup / flop_ratio, "profile": profile.name,
    }


def speedup_records(
    baseline: Model, candidate: Model, profile: Profile, min_run_time: float,
    runtimes: list[str] | None = None, batch_sizes: list[int] | None = None,
) -> list[dict[str, Any]]:
    """`speedup_record` for every runtime (default: the candidate's default runtimes) x batch size
    (default: the profile's); a runtime that cannot run here gives a record with the reason under `skipped`."""
    records = []
    for runtime in runtimes or default_runtimes(candidate):
        for batch in batch_sizes or model_batch_sizes(candidate, profile):
            try:
                records.append(speedup_record(baseline, candidate, profile, runtime, batch, min_run_time))
            except RuntimeUnavailable as e:
                records.append({"candidate": candidate.name, "baseline": baseline.name, "runtime": runtime, "batch": batch, "skipped": str(e)})
    return records


def _prepared(spec: RunSpec, device: str) -> tuple[Dataset, Method, nn.Module]:
    """The data, method and prepared (training-mode) module of `spec`, seeded as a run is."""
    data = load_dataset(spec.data)
    method = get_method(spec.method, spec.params)
    torch.manual_seed(spec.train.seed)
    module = method.prepare(build_model(default_arch(spec.model, data, list(spec.hidden) if spec.hidden else None)))
    return data, method, module.to(device).train()


def train_step_runner(spec: RunSpec, device: str = "cpu") -> Callable[[], Any]:
    """One training step of `spec` on a fixed batch, everything else set up once.

    The step runs at mid-training (StepState halfway), so schedules such as a KL warm-up or a
    targeting ramp are in their typical regime.
    """
    data, method, module = _prepared(spec, device)
    optimizer = make_optimizer([p for p in module.parameters() if p.requires_grad], spec.train)
    seq_len = module.arch.get("seq_len", 0)
    x, y = next(batches(data, spec.train, torch.Generator().manual_seed(0), seq_len))
    x, y = x.to(device), y.to(device)
    per_epoch = steps_per_epoch(data, spec.train, seq_len)
    total = per_epoch * spec.train.epochs
    state = StepState(spec.train.epochs // 2, total // 2, per_epoch, total, len(data.train))
    return lambda: train_step(module, x, y, optimizer, method, state, spec.train.grad_clip)


def compare_training(baseline: RunSpec, candidate: RunSpec, profile: Profile, min_run_time: float = 2.0) -> Comparison:
    """Interleaved training-step speedup of `candidate` over `baseline` (same batch, one run)."""
    profile.require_available()
    apply_threads(profile)
    a, b = train_step_runner(baseline, profile.device), train_step_runner(candidate, profile.device)
    return compare(a, b, (baseline.name, candidate.name), min_run_time=min_run_time, sync=device_sync(profile))


def savings_over_dropout(spec: RunSpec, rates: Sequence[float], profile: Profile, min_run_time: float = 2.0) -> list[dict[str, Any]]:
    """Training-step time of `spec`'s method against standard dropout at each rate p (same model, batch).

    Per p, one interleaved comparison: `time_saved` = 1 - method step / dropout step (medians,
    with the 95 % interval), `flop_ideal` = 1 - the method's expected fraction of the GEMM FLOPs,
    `realisation` = time_saved / flop_ideal.
    """
    records = []
    for p in rates:
        baseline = replace(spec, name=f"dropout p={p}", method="dropout", params={"p": p})
        candidate = replace(spec, name=f"{spec.method} p={p}", params={**spec.params, "p": p})
        _, method, module = _prepared(candidate, "cpu")
        ideal = 1.0 - method.training_flop_fraction(module)
        c = compare_training(baseline, candidate, profile, min_run_time)
        saved = 1.0 - 1.0 / c.speedup
        records.append({
            **c.as_dict(), "p": p, "time_saved": saved, "time_saved_ci": [1.0 - 1.0 / c.ci[0], 1.0 - 1.0 / c.ci[1]],
            "flop_ideal": ideal, "realisation": saved / ideal if ideal > 0 else float("nan"), "profile": profile.name,
        })
    return records
