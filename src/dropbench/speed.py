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

from .data import load_dataset
from .dataset import Dataset
from .flops import theoretical_speedup
from .measure import DEFAULT_ROUNDS, Comparison, compare
from .methods import Method, get_method
from .models import build_model, default_arch
from .profiles import Profile
from .runs import RunSpec
from .runtimes import Model, RuntimeUnavailable, default_runtimes, device_sync, profile_threads
from .runtimes.bench import compare_checkpoints, model_batch_sizes
from .train import StepState, batches, make_optimizer, steps_per_epoch, train_step


def baseline_runtime(candidate_runtime: str) -> str:
    """The runtime the baseline runs in: its own, but torch eager against the sparse runner."""
    return "torch-eager" if candidate_runtime == "torch-sparse" else candidate_runtime


def speedup_record(
    baseline: Model, candidate: Model, profile: Profile, candidate_runtime: str, batch: int, min_run_time: float,
    rounds: int = DEFAULT_ROUNDS,
) -> dict[str, Any]:
    """Measured (over timing rounds) and theoretical speedup of `candidate` over `baseline` in one runtime at one batch size."""
    c = compare_checkpoints(baseline, candidate, profile, baseline_runtime(candidate_runtime), batch, min_run_time, candidate_runtime, rounds)
    flop_ratio = theoretical_speedup(baseline.metrics, candidate.metrics, sparse=candidate_runtime == "torch-sparse")
    return {
        **c.as_dict(), "candidate": candidate.name, "baseline": baseline.name, "runtime": candidate_runtime, "batch": batch,
        "flop_ratio": flop_ratio, "realisation": c.speedup / flop_ratio, "profile": profile.name,
    }


def speedup_records(
    baseline: Model, candidate: Model, profile: Profile, min_run_time: float,
    runtimes: list[str] | None = None, batch_sizes: list[int] | None = None, rounds: int = DEFAULT_ROUNDS,
) -> list[dict[str, Any]]:
    """`speedup_record` for every runtime (default: the candidate's default runtimes) x batch size
    (default: the profile's); a runtime that cannot run here gives a record with the reason under `skipped`."""
    records = []
    for runtime in runtimes or default_runtimes(candidate):
        for batch in batch_sizes or model_batch_sizes(candidate, profile):
            try:
                records.append(speedup_record(baseline, candidate, profile, runtime, batch, min_run_time, rounds))
            except RuntimeUnavailable as e:
                where = {"candidate": candidate.name, "baseline": baseline.name, "runtime": runtime, "batch": batch, "profile": profile.name}
                records.append({**where, "skipped": str(e)})
    return records


AA_TOLERANCE = 0.03  # an A/A ratio further than this from 1 means the timing is not to be trusted


def aa_calibration(
    model: Model, profile: Profile, comparisons: int = 20, runtime: str = "onnxruntime", batch: int = 64,
    min_run_time: float = 0.5, rounds: int = DEFAULT_ROUNDS, progress: Any = None,
) -> dict[str, Any]:
    """`comparisons` A/A comparisons of a model (checkpoint or ONNX file) against itself, each as a speedup is measured.

    A calibrated interval covers 1.0 in about 95 % of them, and every ratio stays within
    AA_TOLERANCE of 1; `covered` and `within_tolerance` count both.
    """
    task = progress.add_task("A/A", total=comparisons, status="") if progress else None
    results = []
    for _ in range(comparisons):
        c = compare_checkpoints(model, model, profile, runtime, batch, min_run_time, rounds=rounds)
        results.append({"ratio": c.speedup, "ci": list(c.ci), "rounds": c.rounds})
        if task is not None:
            progress.advance(task)
    return {
        "model": model.name, "profile": profile.name, "runtime": runtime, "batch": batch, "rounds": rounds, "min_run_time": min_run_time,
        "comparisons": results, "covered": sum(r["ci"][0] <= 1.0 <= r["ci"][1] for r in results),
        "within_tolerance": sum(abs(r["ratio"] - 1.0) <= AA_TOLERANCE for r in results), "tolerance": AA_TOLERANCE,
        "max_deviation": max(abs(r["ratio"] - 1.0) for r in results),
    }


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


def compare_training(baseline: RunSpec, candidate: RunSpec, profile: Profile, min_run_time: float = 2.0, rounds: int = DEFAULT_ROUNDS) -> Comparison:
    """Training-step speedup of `candidate` over `baseline` (same batch), fresh modules every round."""
    profile.require_available()
    with profile_threads(profile):  # every round builds its modules in compare, then times them
        return compare(
            lambda: train_step_runner(baseline, profile.device), lambda: train_step_runner(candidate, profile.device),
            (baseline.name, candidate.name), rounds=rounds, min_run_time=min_run_time, sync=device_sync(profile),
        )


def training_saving(baseline: RunSpec, candidate: RunSpec, profile: Profile, min_run_time: float = 2.0, rounds: int = DEFAULT_ROUNDS) -> dict[str, Any]:
    """Training-step time `candidate` saves over `baseline` (same model and batch), beside its FLOP ideal.

    `time_saved` = 1 - candidate step / baseline step (interval over timing rounds), `flop_ideal`
    = 1 - the candidate method's expected fraction of the GEMM FLOPs, `realisation` = their ratio.
    """
    _, method, module = _prepared(candidate, "cpu")
    ideal = 1.0 - method.training_flop_fraction(module)
    c = compare_training(baseline, candidate, profile, min_run_time, rounds)
    saved = 1.0 - 1.0 / c.speedup
    return {
        **c.as_dict(), "baseline": baseline.name, "candidate": candidate.name, "time_saved": saved,
        "time_saved_ci": [1.0 - 1.0 / c.ci[0], 1.0 - 1.0 / c.ci[1]],
        "flop_ideal": ideal, "realisation": saved / ideal if ideal > 0 else None, "profile": profile.name,
    }


def savings_over_dropout(spec: RunSpec, rates: Sequence[float], profile: Profile, min_run_time: float = 2.0) -> list[dict[str, Any]]:
    """`training_saving` of `spec`'s method against standard dropout at each rate p (same model, batch)."""
    records = []
    for p in rates:
        baseline = replace(spec, name=f"dropout p={p}", method="dropout", params={"p": p})
        candidate = replace(spec, name=f"{spec.method} p={p}", params={**spec.params, "p": p})
        records.append({**training_saving(baseline, candidate, profile, min_run_time), "p": p})
    return records
