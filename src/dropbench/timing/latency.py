"""Latency of one model in each runtime x batch size (`dropbench bench`, the asv and pytest suites).

Each runtime x batch size is timed alone in a fresh process (rounds.time_side), as a speedup's
sides are: one model per process, as users deploy it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..onnx_model import OnnxModel
from ..profiles import Profile
from ..runtimes import Model, Runner, RuntimeUnavailable, default_runtimes, get_runtime, make_runner
from .measurement import Measurement
from .rounds import Side, time_side
from .servers import in_fresh_process


@dataclass(frozen=True)
class RunnerFactory:
    """Builds a runner of `model` in `runtime`: picklable, so a process forked for a timing builds its own.

    (A torch-compile runner is therefore compiled anew in every round; compiling is timed apart.)"""

    runtime: str
    model: Model
    batch: int
    profile: Profile

    def __call__(self) -> Runner:
        return make_runner(self.runtime, self.model, self.batch, self.profile)


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
    """Inference latency of a checkpoint or ONNX file for each runtime x batch size of the profile,
    each in a fresh process on the profile's threads."""
    profile.require_available()
    results: list[Measurement | Skipped] = []
    for runtime in runtimes or default_runtimes(model):
        for batch in batch_sizes or model_batch_sizes(model, profile):
            meta = {"runtime": runtime, "batch": batch, "profile": profile.name, "checkpoint": model.name,
                    **profile.timing_settings(), "one_model_per_process": True}
            side = Side(RunnerFactory(runtime, model, batch, profile), min_run_time, threads=profile.threads, device=profile.device)
            try:
                get_runtime(runtime).require_available(profile.device)  # here: a forked process sees what its server saw
                m = in_fresh_process(time_side, side)
            except RuntimeUnavailable as e:
                results.append(Skipped(runtime, batch, str(e), meta))
                continue
            m.label, m.metadata = f"{runtime} b={batch}", {**meta, **m.metadata, "samples_per_s": batch / m.median}
            results.append(m)
    return results


def model_batch_sizes(model: Model, profile: Profile) -> list[int]:
    """The profile's batch sizes, or the one batch size an ONNX graph fixes."""
    fixed = {i.shape[0] for i in model.inputs if not i.dynamic_batch and i.shape} if isinstance(model, OnnxModel) else set()
    return sorted(fixed) if fixed else list(profile.batch_sizes)
