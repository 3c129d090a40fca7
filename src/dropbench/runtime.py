"""Inference runners: torch eager, torch sparse (CSR weights) and onnxruntime (CPU / CUDA EPs).

A runner is a zero-argument callable that runs one batch on inputs prepared once, so a timer
measures inference and nothing else. Threads follow the profile (DESIGN.md §4): torch's intra-op
threads, ORT's `intra_op_num_threads`, and ORT spinning off because torch shares the process.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Callable

import torch

from .checkpoint import ONNX, Checkpoint
from .csr import csr_model
from .errors import ConfigError, ProfileError
from .measure import DEFAULT_ROUNDS, Comparison, Measurement, compare, timeit
from .models import example_input
from .profiles import Profile

Runner = Callable[[], Any]
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def apply_threads(profile: Profile) -> None:
    torch.set_num_threads(profile.threads)


def device_sync(profile: Profile) -> Callable[[], None]:
    """What a timer calls after each sample: CUDA work is asynchronous."""
    return torch.cuda.synchronize if profile.device == "cuda" else (lambda: None)


def _inputs(checkpoint: Checkpoint, batch: int) -> torch.Tensor:
    return example_input(checkpoint.arch, batch, torch.Generator().manual_seed(batch))


def torch_eager(checkpoint: Checkpoint, batch: int, profile: Profile) -> Runner:
    model = copy.deepcopy(checkpoint.model).to(profile.device)  # leave the checkpoint's model as loaded
    x = _inputs(checkpoint, batch).to(profile.device)
    if x.is_floating_point():
        model, x = model.to(DTYPES[profile.dtype]), x.to(DTYPES[profile.dtype])
    return _inference(model, x)


def torch_sparse(checkpoint: Checkpoint, batch: int, profile: Profile) -> Runner:
    """Linear and Conv2d layers as CSR x dense products: pays off when most weights are zero."""
    if profile.dtype != "float32":
        raise ConfigError(f"torch-sparse runs float32 only; profile {profile.name!r} asks for {profile.dtype}")
    return _inference(csr_model(checkpoint.model, profile.device), _inputs(checkpoint, batch).to(profile.device))


def _inference(model: torch.nn.Module, x: torch.Tensor) -> Runner:
    def run() -> torch.Tensor:
        with torch.inference_mode():
            return model(x)

    return run


def ort_session(path: Path, profile: Profile):
    """An onnxruntime session configured by the profile."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = profile.threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    missing = [p for p in profile.ort_providers if p not in ort.get_available_providers()]
    if missing:
        raise ProfileError(f"onnxruntime here lacks {', '.join(missing)} that profile {profile.name!r} needs")
    return ort.InferenceSession(str(path), options, providers=list(profile.ort_providers))


def onnxruntime(checkpoint: Checkpoint, batch: int, profile: Profile) -> Runner:
    path = checkpoint.path / ONNX
    if ONNX not in checkpoint.manifest["files"]:
        raise ConfigError(f"{checkpoint.path} has no exported {ONNX}; run `dropbench export {checkpoint.path}` first")
    session = ort_session(path, profile)
    feed = {"input": _inputs(checkpoint, batch).numpy()}
    return lambda: session.run(None, feed)


RUNTIMES: dict[str, Callable[[Checkpoint, int, Profile], Runner]] = {
    "torch-eager": torch_eager,
    "torch-sparse": torch_sparse,
    "onnxruntime": onnxruntime,
}


def make_runner(runtime: str, checkpoint: Checkpoint, batch: int, profile: Profile) -> Runner:
    if runtime not in RUNTIMES:
        raise ConfigError(f"unknown runtime {runtime!r}; choose one of: {', '.join(RUNTIMES)}")
    return RUNTIMES[runtime](checkpoint, batch, profile)


def default_runtimes(checkpoint: Checkpoint) -> list[str]:
    """torch eager, onnxruntime if exported, and the sparse runner for sparse checkpoints."""
    names = ["torch-eager"]
    if checkpoint.is_sparse and "torch-sparse" in RUNTIMES:
        names.append("torch-sparse")
    if ONNX in checkpoint.manifest["files"]:
        names.append("onnxruntime")
    return names


def bench_checkpoint(
    checkpoint: Checkpoint, profile: Profile, runtimes: list[str] | None = None,
    batch_sizes: list[int] | None = None, min_run_time: float = 0.5,
) -> list[Measurement]:
    """Inference latency of one checkpoint for each runtime x batch size of the profile."""
    profile.require_available()
    apply_threads(profile)
    results = []
    for runtime in runtimes or default_runtimes(checkpoint):
        for batch in batch_sizes or profile.batch_sizes:
            runner = make_runner(runtime, checkpoint, batch, profile)
            meta = {"runtime": runtime, "batch": batch, "profile": profile.name, "checkpoint": checkpoint.name}
            m = timeit(runner, f"{runtime} b={batch}", min_run_time=min_run_time, sync=device_sync(profile), metadata=meta)
            m.metadata["samples_per_s"] = batch / m.median
            results.append(m)
    return results


def compare_checkpoints(
    baseline: Checkpoint, candidate: Checkpoint, profile: Profile, runtime: str, batch: int, min_run_time: float = 1.0,
    candidate_runtime: str | None = None, rounds: int = DEFAULT_ROUNDS,
) -> Comparison:
    """Speedup of `candidate` over `baseline` in one runtime at one batch size, over `rounds` rounds.

    `candidate_runtime` lets the candidate run elsewhere (e.g. torch-sparse against torch-eager).
    Every round builds fresh runners (measure.compare); an A/A comparison passes one checkpoint twice.
    """
    profile.require_available()
    apply_threads(profile)
    other = candidate_runtime or runtime
    labels = (f"{baseline.name} {runtime} b={batch}", f"{candidate.name} {other} b={batch}")
    return compare(
        lambda: make_runner(runtime, baseline, batch, profile), lambda: make_runner(other, candidate, batch, profile),
        labels, rounds=rounds, min_run_time=min_run_time, sync=device_sync(profile),
    )
