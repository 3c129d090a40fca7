"""Inference speedups: a compacted checkpoint over its dense baseline, and the A/A calibration.

The measured figure is a ratio over timing rounds in fresh processes (rounds.compare); the
theoretical one is the FLOP ratio; realisation = measured / theoretical says how much of the
saving a runtime actually delivers.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from ..checkpoint import Checkpoint
from ..flops import theoretical_speedup
from ..profiles import Profile
from ..runtimes import Model, RuntimeUnavailable, default_runtimes, get_runtime
from .latency import RunnerFactory, model_batch_sizes
from .explain import Breakdowns, cause
from .measurement import Comparison
from .rounds import DEFAULT_ROUNDS, compare_pairs


EXPLAINED_BATCH = 64  # where the time goes is profiled at this batch size (the realisation target's, issue 23)


def baseline_runtime(candidate_runtime: str) -> str:
    """The runtime the baseline runs in: its own, but torch eager against a sparse runner."""
    return "torch-eager" if get_runtime(candidate_runtime).sparse else candidate_runtime


def speedup_record(
    baseline: Model, candidate: Model, profile: Profile, candidate_runtime: str, batch: int, min_run_time: float,
    rounds: int = DEFAULT_ROUNDS, breakdowns: Breakdowns | None = None,
) -> dict[str, Any]:
    """Measured (over timing rounds) and theoretical speedup of `candidate` over `baseline` in one runtime at one batch size.

    `breakdowns` shares each net's breakdown between the records of a timing stage (default: none shared)."""
    c = compare_checkpoints(baseline, candidate, profile, baseline_runtime(candidate_runtime), batch, min_run_time, candidate_runtime, rounds)
    sparse = get_runtime(candidate_runtime).sparse
    flop_ratio = theoretical_speedup(baseline.metrics, candidate.metrics, sparse=sparse)
    record = {
        **c.as_dict(), "candidate": candidate.name, "baseline": baseline.name, "runtime": candidate_runtime, "batch": batch,
        "flop_ratio": flop_ratio, "realisation": c.speedup / flop_ratio, "profile": profile.name,
        **profile.timing_settings(), "one_model_per_process": c.fresh_processes,
    }
    if batch == EXPLAINED_BATCH and isinstance(candidate, Checkpoint) and isinstance(baseline, Checkpoint):
        explained = _where_time_goes(baseline, candidate, profile, candidate_runtime, c, record["realisation"], sparse, breakdowns or Breakdowns())
        record.update(explained)
    return record


def _where_time_goes(
    baseline: Checkpoint, candidate: Checkpoint, profile: Profile, runtime: str, c: Comparison, realisation: float, sparse: bool,
    breakdowns: Breakdowns,
) -> dict[str, Any]:
    """Each net's fixed cost and per-layer times, and the cause of a realisation below the goal (timing.explain)."""
    base = breakdowns(baseline, baseline_runtime(runtime), EXPLAINED_BATCH, profile)
    cand = breakdowns(candidate, runtime, EXPLAINED_BATCH, profile)
    words = cause(realisation, base, cand, c.candidate.median, sparse, profile)
    roofline = (base.roofline_s(profile) or 0) / (cand.roofline_s(profile) or math.inf) if base and cand and not sparse else 0
    return {
        "breakdown": {"baseline": base and base.as_dict(), "candidate": cand and cand.as_dict()}, "cause": words,
        # the speedup the hardware allows (None: the profile names no peak_flops and bandwidth)
        "roofline_speedup": roofline or None, "roofline_realisation": c.speedup / roofline if roofline else None,
    }


def speedup_records(
    baseline: Model, candidate: Model, profile: Profile, min_run_time: float,
    runtimes: list[str] | None = None, batch_sizes: list[int] | None = None, rounds: int = DEFAULT_ROUNDS,
    breakdowns: Breakdowns | None = None,
) -> list[dict[str, Any]]:
    """`speedup_record` for every runtime (default: the candidate's default runtimes) x batch size
    (default: the profile's); a runtime that cannot run here gives a record with the reason under `skipped`.
    The records share `breakdowns` (default: among themselves only)."""
    records, breakdowns = [], breakdowns or Breakdowns()
    for runtime in runtimes or default_runtimes(candidate):
        for batch in batch_sizes or model_batch_sizes(candidate, profile):
            try:
                records.append(speedup_record(baseline, candidate, profile, runtime, batch, min_run_time, rounds, breakdowns))
            except RuntimeUnavailable as e:
                where = {"candidate": candidate.name, "baseline": baseline.name, "runtime": runtime, "batch": batch, "profile": profile.name}
                records.append({**where, "skipped": str(e)})
    return records


def compare_checkpoints(
    baseline: Model, candidate: Model, profile: Profile, runtime: str, batch: int, min_run_time: float = 1.0,
    candidate_runtime: str | None = None, rounds: int = DEFAULT_ROUNDS,
) -> Comparison:
    """Speedup of `candidate` over `baseline` in one runtime at one batch size, over `rounds` timing rounds.

    `candidate_runtime` lets the candidate run elsewhere (e.g. torch-sparse against torch-eager).
    Each model of every round runs in a fresh process that builds its runner anew; an A/A comparison passes one model twice.
    """
    return compare_checkpoint_pairs([(baseline, candidate)], profile, runtime, batch, min_run_time, candidate_runtime, rounds)


def compare_checkpoint_pairs(
    pairs: Sequence[tuple[Model, Model]], profile: Profile, runtime: str, batch: int, min_run_time: float = 1.0,
    candidate_runtime: str | None = None, rounds: int = DEFAULT_ROUNDS,
) -> Comparison:
    """`compare_checkpoints` over several (baseline, candidate) pairs, e.g. one per training seed:
    the rounds are spread evenly over the pairs, so the interval spans them (rounds.compare_pairs)."""
    profile.require_available()
    other = candidate_runtime or runtime
    for name in {runtime, other}:
        get_runtime(name).require_available(profile.device)
    factories = [(RunnerFactory(runtime, b, batch, profile), RunnerFactory(other, c, batch, profile)) for b, c in pairs]
    baseline, candidate = pairs[0]
    seeds = f" ({len(pairs)} pairs)" if len(pairs) > 1 else ""
    labels = (f"{baseline.name} {runtime} b={batch}{seeds}", f"{candidate.name} {other} b={batch}{seeds}")
    return compare_pairs(factories, labels, rounds=rounds, min_run_time=min_run_time, threads=profile.threads, device=profile.device)


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
        "model": model.name, "profile": profile.name, **profile.timing_settings(), "one_model_per_process": True,
        "runtime": runtime, "batch": batch, "rounds": rounds, "min_run_time": min_run_time,
        "comparisons": results, "covered": sum(r["ci"][0] <= 1.0 <= r["ci"][1] for r in results),
        "within_tolerance": sum(abs(r["ratio"] - 1.0) <= AA_TOLERANCE for r in results), "tolerance": AA_TOLERANCE,
        "max_deviation": max(abs(r["ratio"] - 1.0) for r in results),
    }
