"""What the asv suites (benchmarks/) measure: every case comes from a registry, the work from here.

The benchmark modules are thin: they take their parameter grids from this module and call its
functions, so a new method (METHODS, the plans), runtime (RUNTIMES) or profile
(hardware_profiles/) appears in asv without editing a suite.

Parameter grids never depend on the machine: asv keys results by benchmark name and parameter
values, and one benchmarks.json describes every machine. A case the active profile cannot run
(a batch size it does not list, a device it does not time, torch-sparse on a dense checkpoint)
raises NotApplicable, which asv reports as skipped together with the reason.

The plan is $DROPBENCH_PLAN (a built-in name or a plan file), else the built-in quick plan.
The active profile is $DROPBENCH_PROFILE, else the detected one (profiles.default_profile); the
asv machine is that profile on this machine's CPU (dropbench.machines, docs/asv.md).

asv counts every increase as a regression (airspeed-velocity/asv#1617), so every figure is
recorded lower-is-better: test error rather than accuracy, the fraction of the dense baseline's
weights or FLOPs kept rather than the compression or FLOP ratio, and the time ratio
compacted / dense rather than the speedup.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import importlib
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch

from . import catalog
from .checkpoint import Checkpoint, load_checkpoint
from .claims.context import ClaimContext, PlanChecks
from .claims.record import ClaimRecord
from .claims.runner import check_claims
from .data import load_dataset
from .errors import ConfigError, DropbenchError
from .export import ensure_exported
from .flops import theoretical_speedup
from .profiles import Profile, default_profile, list_profiles
from .plans.specs import baseline_for, load_plan, plan_checks, run_specs
from .runs import RunSpec
from .schemas.plan import PlanSchema
from .stages import train_all
from .runtimes import RUNTIMES, Runner, RuntimeUnavailable, applicable_runtimes, make_runner, synced, torch_threads
from .timing.inference import speedup_record
from .timing.training import compare_training, train_step_runner

DEVICES = ("cpu", "cuda")
TRAINING_DATA = {"mlp": "digits", "lenet5": "digits", "lstm": "pydoc-text"}  # one model per kind
SPEEDUP_MIN_RUN_TIME = 0.5  # seconds of samples per timing round of a measured ratio
# torch-compile has a suite of its own: compiling every checkpoint x batch size takes minutes
INFERENCE_RUNTIMES = [name for name, runtime in RUNTIMES.items() if runtime.by_default]


class NotApplicable(DropbenchError, NotImplementedError):
    """This case does not apply here; asv skips a benchmark whose setup raises NotImplementedError."""


# --- the grids -----------------------------------------------------------------------------------


ASV_RUNS_ENV = "DROPBENCH_ASV_RUNS"
PLAN_ENV = "DROPBENCH_PLAN"


@functools.cache
def suite_plan() -> tuple[list[RunSpec], PlanChecks, PlanSchema]:
    """The runs and claims of $DROPBENCH_PLAN (a built-in name or a plan file; the quick plan when
    unset), and the plan itself (its asv_runs and asv_training narrow what the suites time)."""
    plan = load_plan(os.environ.get(PLAN_ENV) or "quick")
    return run_specs(plan), plan_checks(plan), plan


def checkpoint_specs() -> list[RunSpec]:
    """The runs whose checkpoints are timed: those $DROPBENCH_ASV_RUNS names (comma-separated, so a
    CI smoke trains two runs instead of 26), else those the plan's `asv_runs` names, else all.
    The claims suite checks every claim of the plan whatever these are."""
    specs, _, plan = suite_plan()
    wanted = [name.strip() for name in os.environ.get(ASV_RUNS_ENV, "").split(",") if name.strip()] or plan.asv_runs
    if not wanted:
        return specs
    unknown = sorted(set(wanted) - {spec.name for spec in specs})
    if unknown:
        raise ConfigError(f"{ASV_RUNS_ENV} names {', '.join(unknown)}: not runs of the plan ({', '.join(s.name for s in specs)})")
    return [spec for spec in specs if spec.name in wanted]


def checkpoint_names() -> list[str]:
    return [spec.name for spec in checkpoint_specs()]


def compacted_names() -> list[str]:
    """Checkpoints with a dense baseline to be compared with (all but the baselines themselves)."""
    specs = checkpoint_specs()
    return [spec.name for spec in specs if baseline_for(spec, specs) is not None]


def batch_sizes() -> list[int]:
    """Every batch size of every known profile; a profile times its own and skips the rest."""
    return sorted({b for profile in list_profiles() for b in profile.batch_sizes})


def training_cases() -> dict[str, RunSpec]:
    """Case name -> the run whose training step is timed: every case of catalog.training_cases (one
    per method, a method with a dropout rate `p` once per rate), or those the plan's `asv_training`
    names, with dense, their baseline.

    A method trains with the parameters of its first run in the plan (its defaults if the plan
    has none).
    """
    specs, _, plan = suite_plan()  # the whole plan: a training step needs no trained checkpoint
    first_run: dict[str, RunSpec] = {}
    for spec in specs:
        first_run.setdefault(spec.method, spec)
    template = first_run.get("dense", specs[0])
    cases = {}
    for case, (method, rate) in catalog.training_cases().items():
        if plan.asv_training is None or case in plan.asv_training or case == "dense":
            spec = first_run.get(method) or dataclasses.replace(template, name=method, method=method, params={})
            params = spec.params if rate is None else {**spec.params, "p": rate}
            cases[case] = dataclasses.replace(spec, name=case, params=params)
    return cases


def training_spec(case: str, model: str) -> RunSpec:
    """A training case on one of TRAINING_DATA's models (its default widths off the MLP)."""
    spec = training_cases()[case]
    hidden = spec.hidden if model == spec.model else None
    return dataclasses.replace(spec, model=model, data=TRAINING_DATA[model], hidden=hidden)


def warm_up() -> None:
    """Pay the one-time costs once: the benchmark package calls this on import, so asv's fork
    server pays them and every benchmark forked from it starts warm (data sets loaded, the
    optimiser's lazy imports done, onnxruntime imported).

    Nothing here may start what a forked child cannot inherit. GNU OpenMP is not fork-safe: a
    child forked after the server ran a parallel region hangs in its first one, so the server
    keeps one torch thread (no OpenMP team) and each benchmark sets the profile's threads in its
    own process. CUDA is left untouched for the same reason.
    """
    torch.set_num_threads(1)
    for data in sorted(set(TRAINING_DATA.values())):
        load_dataset(data)
    train_step_runner(training_spec("dense", "mlp"))
    importlib.import_module("onnxruntime")


# --- threads held for asv's timing ---------------------------------------------------------------

# asv times what a benchmark's setup returns later, in the same process (one per benchmark, forked
# from the server warm_up leaves at one thread): training_step and inference hold the profile's
# threads until release_threads(), which for asv is never. The tests release them after each test.
_held_threads = contextlib.ExitStack()
_holding = False


def hold_threads(threads: int) -> None:
    """torch's intra-op threads at `threads` from now until release_threads(). Holding the same
    count again changes nothing (asv may re-run a setup between timed calls)."""
    global _holding
    if _holding and torch.get_num_threads() == threads:
        return
    release_threads()
    _held_threads.enter_context(torch_threads(threads))
    _holding = True


def release_threads() -> None:
    """Back to the thread count before hold_threads (nothing to do when none is held)."""
    global _holding
    _held_threads.close()
    _holding = False


# --- the active profile --------------------------------------------------------------------------


def usable_profile(device: str | None = None) -> Profile:
    """The active profile, if this machine can run it (and it times `device`, when given)."""
    profile = default_profile()
    if device is not None and profile.device != device:
        others = ", ".join(p.name for p in list_profiles() if p.device == device) or "none known"
        raise NotApplicable(f"profile {profile.name!r} times {profile.device}; {device} timings come from a {device} profile ({others})")
    reason = profile.unavailable_reason()
    if reason:
        raise NotApplicable(reason)
    return profile


# --- training ------------------------------------------------------------------------------------


def training_step(case: str, model: str) -> Callable[[], None]:
    """One training step of a case on a model, on the active profile's device and threads (held
    for the timing that follows: hold_threads)."""
    profile = usable_profile()
    hold_threads(profile.threads)
    try:
        step = train_step_runner(training_spec(case, model), profile.device)
    except ConfigError as e:  # e.g. a method that does not support this model
        raise NotApplicable(f"{case} on {model}: {e}") from None
    return synced(step, profile)


def training_time_ratio(case: str, model: str) -> Callable[[], float]:
    """A measurement: training-step time of a case / the dense one's, over timing rounds (1 / speedup)."""
    candidate, baseline = training_spec(case, model), training_spec("dense", model)
    if candidate.method == "dense":
        raise NotApplicable("dense is the baseline of the training time ratios")
    profile = usable_profile()
    training_step(case, model)  # NotApplicable here, before anything is measured

    def measure() -> float:
        return 1 / compare_training(baseline, candidate, profile, SPEEDUP_MIN_RUN_TIME).speedup

    return measure


# --- checkpoints ---------------------------------------------------------------------------------


def prepare_checkpoints(specs: list[RunSpec] | None = None) -> dict[str, str]:
    """Train (unless cached), compact and export each spec; run name -> directory.

    The checkpoints live in the run cache (runs.cache_root), keyed by run spec, dropbench source
    and torch version, so `reproduce`, `claims` and every asv run of the same code share one
    training.
    """
    specs = checkpoint_specs() if specs is None else specs
    first_seeds = [spec.per_seed()[0] for spec in specs]  # timing needs one checkpoint per run
    return {name: str(ensure_exported(dirs[0])) for name, dirs in prepare_seed_runs(first_seeds).items()}


def prepare_seed_runs(specs: list[RunSpec] | None = None) -> dict[str, list[Path]]:
    """Every seed of each spec, trained unless cached as reproduce trains them (side by side, one
    thread each: stages.train_all); run name -> directories."""
    usable_profile()  # a profile this machine cannot run is skipped before anything trains
    return train_all(checkpoint_specs() if specs is None else specs)


def inference(checkpoints: dict[str, str], name: str, runtime: str, batch: int, device: str) -> Runner:
    """One inference batch of a prepared checkpoint in a runtime, on the active profile (compile time kept in `compile_s`);
    the profile's threads are held for the timing that follows (hold_threads)."""
    profile = usable_profile(device)
    checkpoint = _checkpoint(checkpoints, name, runtime, batch, profile)
    hold_threads(profile.threads)
    try:
        runner = make_runner(runtime, checkpoint, batch, profile)
    except RuntimeUnavailable as e:
        raise NotApplicable(str(e)) from None
    return synced(runner, profile)


def inference_time_ratio(checkpoints: dict[str, str], name: str, runtime: str, batch: int) -> Callable[[], float]:
    """A measurement: inference time of a compacted checkpoint / its dense baseline's, over timing rounds (1 / speedup)."""
    profile = usable_profile()
    candidate = _checkpoint(checkpoints, name, runtime, batch, profile)
    baseline = load_checkpoint(checkpoints[_baseline_name(name)])

    def measure() -> float:
        return 1 / speedup_record(baseline, candidate, profile, runtime, batch, SPEEDUP_MIN_RUN_TIME)["speedup"]

    return measure


def _checkpoint(checkpoints: dict[str, str], name: str, runtime: str, batch: int, profile: Profile) -> Checkpoint:
    if batch not in profile.batch_sizes:
        raise NotApplicable(f"profile {profile.name!r} times batch sizes {list(profile.batch_sizes)}, not {batch}")
    checkpoint = load_checkpoint(checkpoints[name])
    if runtime not in applicable_runtimes(checkpoint):
        raise NotApplicable(f"{runtime} does not apply to {name} (its runtimes: {', '.join(applicable_runtimes(checkpoint))})")
    return checkpoint


def _baseline_name(name: str) -> str:
    specs = checkpoint_specs()
    spec = next(s for s in specs if s.name == name)
    baseline = baseline_for(spec, specs)
    return baseline.name if baseline else name


@dataclass(frozen=True)
class CompactionFigures:
    """What compaction achieved, each lower-is-better (see the module docstring)."""

    test_error: float  # % of the test split misclassified (100 - accuracy)
    params: int
    nonzero_params: int
    weights_kept: float  # non-zero weights, % of the dense baseline's weights (100 / compression ratio)
    flops_kept: float  # FLOPs, % of the dense baseline's (non-zero FLOPs for sparse checkpoints; 100 / FLOP ratio)


def compaction_figures(checkpoints: dict[str, str], name: str) -> CompactionFigures:
    checkpoint = load_checkpoint(checkpoints[name])
    baseline = load_checkpoint(checkpoints[_baseline_name(name)]).metrics
    metrics = checkpoint.metrics
    return CompactionFigures(
        test_error=100 * (1 - metrics["accuracy"]),
        params=metrics["params"],
        nonzero_params=metrics["nonzero_params"],
        weights_kept=100 * metrics["nonzero_params"] / baseline["params"],
        flops_kept=100 / theoretical_speedup(baseline, metrics, sparse=checkpoint.is_sparse),
    )


def claim_ids() -> list[str]:
    """Every registered claim's id: the claims suite's grid."""
    from .claims import CLAIMS

    return [claim.id for claim in CLAIMS]


def claim_records() -> dict[str, ClaimRecord]:
    """Every claim of the plan checked on its checkpoints (the run cache), by claim id: over the
    whole plan, whatever runs the checkpoint suites time (asv_runs)."""
    specs, checks, _ = suite_plan()
    run_dirs = prepare_seed_runs(specs)  # every seed in one pool of side-by-side trainings
    prepare_checkpoints(specs)  # exports every first seed (the timed checkpoints), all trained by now
    context = ClaimContext(usable_profile(), specs, checks, min_run_time=SPEEDUP_MIN_RUN_TIME, run_dirs=run_dirs)
    return {record.id: record for record in check_claims(list(checks.claims), context)}


def claim_figures(records: dict[str, ClaimRecord], claim_id: str) -> tuple[float, int]:
    """(bound / measured, not holding) of one claim, both lower-is-better and never negative.

    bound / measured < 1: the measured value clears the claim's bound (0.4: it is 2.5x the
    bound); > 1: it falls short. A ratio rather than a difference because asv's relative
    regression thresholds assume positive figures; a measured value <= 0 has no ratio (NaN,
    shown as n/a). not holding = 0 when the verdict is `holds`, else 1, so a claim that stops
    holding shows as a step up on the site and in `dropbench history`.
    """
    record = records.get(claim_id)
    if record is None:
        raise NotApplicable(f"{claim_id}: the plan ({PLAN_ENV}) does not check it")
    if not record.checked:
        raise NotApplicable(f"{claim_id}: {record.verdict}: {record.explanation}")
    ratio = record.bound / record.measured if record.measured > 0 else math.nan
    return ratio, int(record.verdict != "holds")


def cuda_peak_bytes(run: Callable[[], Any]) -> int:
    """torch's peak CUDA allocation during one call (asv's peakmem_ sees host memory only)."""
    torch.cuda.reset_peak_memory_stats()
    run()
    return torch.cuda.max_memory_allocated()
