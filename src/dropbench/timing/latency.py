"""Latency of one model in each runtime x batch size (`dropbench bench`, the asv and pytest suites)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..onnx_model import OnnxModel
from ..profiles import Profile
from ..runtimes import Model, RuntimeUnavailable, default_runtimes, device_sync, make_runner, profile_threads
from .measurement import Measurement, timeit


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
