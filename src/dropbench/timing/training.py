"""Training-step speedups: one method's step against another's on the same model and batch."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, Iterator, Sequence

import torch
from torch import nn

from ..data import load_dataset
from ..dataset import Dataset
from ..methods import Method, get_method
from ..models import build_model, default_arch
from ..profiles import Profile
from ..runs import RunSpec
from ..train import StepState, TrainConfig, batches, loop_step, make_optimizer, steps_per_epoch
from .measurement import Comparison
from .rounds import DEFAULT_ROUNDS, compare


def _prepared(spec: RunSpec, device: str, data: Dataset | None = None) -> tuple[Dataset, Method, nn.Module]:
    """The data (`spec.data` unless given), method and prepared (training-mode) module of `spec`, seeded as a run is."""
    data = data or load_dataset(spec.data)
    method = get_method(spec.method, spec.params)
    torch.manual_seed(spec.train.seed)
    module = method.prepare(build_model(default_arch(spec.model, data, list(spec.hidden) if spec.hidden else None)))
    return data, method, module.to(device).train()


def train_step_runner(spec: RunSpec, device: str = "cpu", data: Dataset | None = None) -> Callable[[], Any]:
    """One training step of `spec` as the training loop runs it (train.loop_step on the loop's
    next batch: drawn from the shuffled epoch, moved to the device, the loss read back), everything
    else set up once; `data` is `spec.data` unless given.

    The step runs at mid-training (StepState halfway), so schedules such as a KL warm-up or a
    targeting ramp are in their typical regime.
    """
    data, method, module = _prepared(spec, device, data)
    optimizer = make_optimizer([p for p in module.parameters() if p.requires_grad], spec.train)
    seq_len = module.arch.get("seq_len", 0)
    stream = _epochs(data, spec.train, seq_len)
    per_epoch = steps_per_epoch(data, spec.train, seq_len)
    total = per_epoch * spec.train.epochs
    state = StepState(spec.train.epochs // 2, total // 2, per_epoch, total, len(data.train))
    # Unseeded from here on: the run's seed would give every round the same stream of dropout
    # patterns, so an approximate-random step's time would be one stream's draws and its interval
    # over rounds blind to them (seed 2's LSTM saving came out 0.40 against 0.30 for seeds 0 and 4).
    torch.seed()
    return lambda: loop_step(module, *next(stream), optimizer, method, state, spec.train, device)


def _epochs(data: Dataset, config: TrainConfig, seq_len: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """The loop's batches, epoch after epoch, from the same fixed shuffle seed for every method compared."""
    generator = torch.Generator().manual_seed(0)
    while True:
        yield from batches(data, config, generator, seq_len)


@dataclass(frozen=True)
class TrainStepFactory:
    """Builds `train_step_runner(spec, device)`: picklable, so a round in a fresh process builds its own."""

    spec: RunSpec
    device: str

    def __call__(self) -> Callable[[], Any]:
        return train_step_runner(self.spec, self.device)


def compare_training(baseline: RunSpec, candidate: RunSpec, profile: Profile, min_run_time: float = 2.0, rounds: int = DEFAULT_ROUNDS) -> Comparison:
    """Training-step speedup of `candidate` over `baseline` (same batch): each step of every round
    in a fresh process of its own that builds its module anew."""
    profile.require_available()
    return compare(
        TrainStepFactory(baseline, profile.device), TrainStepFactory(candidate, profile.device), (baseline.name, candidate.name),
        rounds=rounds, min_run_time=min_run_time, threads=profile.threads, device=profile.device,
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
        **profile.timing_settings(), "one_model_per_process": c.fresh_processes,
    }


def savings_over_dropout(spec: RunSpec, rates: Sequence[float], profile: Profile, min_run_time: float = 2.0) -> list[dict[str, Any]]:
    """`training_saving` of `spec`'s method against standard dropout at each rate p (same model, batch)."""
    records = []
    for p in rates:
        baseline = replace(spec, name=f"dropout p={p}", method="dropout", params={"p": p})
        candidate = replace(spec, name=f"{spec.method} p={p}", params={**spec.params, "p": p})
        records.append({**training_saving(baseline, candidate, profile, min_run_time), "p": p})
    return records
