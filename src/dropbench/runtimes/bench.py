"""Timing models in runtimes: latency per runtime x batch size, and interleaved comparisons."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..checkpoint import ONNX, load_checkpoint
from ..errors import ConfigError
from ..measure import DEFAULT_ROUNDS, Comparison, Measurement, compare, timeit
from ..onnx_model import OnnxModel, load_onnx_model
from ..profiles import Profile
from . import Runner, RuntimeUnavailable, default_runtimes, device_sync, make_runner, profile_threads
from .base import Model


@dataclass(frozen=True)
class Skipped:
    """A runtime x batch size that could not run here (e.g. torch-compile without a C++ compiler)."""

    runtime: str
    batch: int
    reason: str
    metadata: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {**self.metadata, "skipped": self.reason}


def bench_checkpoint(
    model: Model, profile: Profile, runtimes: list[str] | None = None,
    batch_sizes: list[int] | None = None, min_run_time: float = 0.5,
) -> list[Measurement | Skipped]:
    """Inference latency of a checkpoint or ONNX file for each runtime x batch size of the profile."""
    profile.require_available()
    results: list[Measurement | Skipped] = []
    with profile_threads(profile):
        for runtime in runtimes or default_runtimes(model):
            for batch in batch_sizes or model_batch_sizes(model, profile):
                meta = {"runtime": runtime, "batch": batch, "profile": profile.name, "checkpoint": model.name}
                try:
                    runner = make_runner(runtime, model, batch, profile)
                except RuntimeUnavailable as e:
                    results.append(Skipped(runtime, batch, str(e), meta))
                    continue
                if runner.compile_s is not None:
                    meta["compile_s"] = runner.compile_s
                m = timeit(runner, f"{runtime} b={batch}", min_run_time=min_run_time, sync=device_sync(profile), metadata=meta)
                m.metadata["samples_per_s"] = batch / m.median
                results.append(m)
    return results


def model_batch_sizes(model: Model, profile: Profile) -> list[int]:
    """The profile's batch sizes, or the one batch size an ONNX graph fixes."""
    fixed = {i.shape[0] for i in model.inputs if not i.dynamic_batch and i.shape} if isinstance(model, OnnxModel) else set()
    return sorted(fixed) if fixed else list(profile.batch_sizes)


def compare_checkpoints(
    baseline: Model, candidate: Model, profile: Profile, runtime: str, batch: int, min_run_time: float = 1.0,
    candidate_runtime: str | None = None, rounds: int = DEFAULT_ROUNDS,
) -> Comparison:
    """Speedup of `candidate` over `baseline` in one runtime at one batch size, over `rounds` timing rounds.

    `candidate_runtime` lets the candidate run elsewhere (e.g. torch-sparse against torch-eager).
    Every round builds fresh runners (measure.compare); an A/A comparison passes one model twice.
    """
    profile.require_available()
    other = candidate_runtime or runtime
    a, b = RunnerFactory(runtime, baseline, batch, profile), RunnerFactory(other, candidate, batch, profile)
    labels = (f"{baseline.name} {runtime} b={batch}", f"{candidate.name} {other} b={batch}")
    with profile_threads(profile):  # every round builds its runners in compare, then times them
        comparison = compare(a, b, labels, rounds=rounds, min_run_time=min_run_time, sync=device_sync(profile))
    for measurement, factory in ((comparison.baseline, a), (comparison.candidate, b)):
        if factory.built[-1].compile_s is not None:
            measurement.metadata["compile_s"] = factory.built[-1].compile_s
    return comparison


class RunnerFactory:
    """Builds a fresh runner for every timing round; a compiled runner is built once and reused,
    since compiling is a one-time cost per model and batch size, not part of a round."""

    def __init__(self, runtime: str, model: Model, batch: int, profile: Profile):
        self.runtime, self.model, self.batch, self.profile = runtime, model, batch, profile
        self.built: list[Runner] = []

    def __call__(self) -> Runner:
        if not (self.built and self.runtime == "torch-compile"):
            self.built.append(make_runner(self.runtime, self.model, self.batch, self.profile))
        return self.built[-1]


def load_model(path: Path, shapes: dict[str, tuple[int, ...]] | None = None) -> Model:
    """A checkpoint directory, or any ONNX file (its input shapes from the graph and `shapes`)."""
    path = Path(path)
    if path.is_dir():
        if shapes:
            raise ConfigError(f"--shape applies to ONNX files; {path} is a checkpoint directory whose input shape is in its manifest")
        return load_checkpoint(path)
    return load_onnx_model(path, shapes)


def load_pair(baseline: Path, candidate: Path, shapes: dict[str, tuple[int, ...]] | None = None) -> tuple[Model, Model]:
    """Two models of one kind: if either is an ONNX file, both are compared as ONNX graphs (a checkpoint by its model.onnx)."""
    if baseline.is_dir() and candidate.is_dir():
        return load_model(baseline, shapes), load_model(candidate, shapes)
    return tuple(load_onnx_model(onnx_file(path), shapes) for path in (baseline, candidate))  # type: ignore[return-value]


def onnx_file(path: Path) -> Path:
    if not path.is_dir():
        return path
    if ONNX not in load_checkpoint(path).manifest["files"]:
        raise ConfigError(f"{path} has no exported {ONNX}; run `dropbench export {path}` first")
    return path / ONNX
