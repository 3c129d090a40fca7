"""Measured against theoretical speedup of a compacted checkpoint over its dense baseline.

The measured figure is an interleaved ratio from one run (measure.compare); the theoretical one
is the FLOP ratio; realisation = measured / theoretical says how much of the saving a runtime
actually delivers.
"""

from __future__ import annotations

from typing import Any

from .checkpoint import Checkpoint
from .flops import theoretical_speedup
from .profiles import Profile
from .runtime import RUNTIMES, compare_checkpoints


def speedup_records(baseline: Checkpoint, candidate: Checkpoint, profile: Profile, min_run_time: float) -> list[dict[str, Any]]:
    """Measured (interleaved) and theoretical speedup of `candidate` over `baseline`, per runtime x batch."""
    pairs = [("torch-eager", "torch-eager"), ("onnxruntime", "onnxruntime")]
    if candidate.is_sparse and "torch-sparse" in RUNTIMES:
        pairs.append(("torch-eager", "torch-sparse"))
    records = []
    for runtime, candidate_runtime in pairs:
        for batch in profile.batch_sizes:
            c = compare_checkpoints(baseline, candidate, profile, runtime, batch, min_run_time, candidate_runtime)
            flop_ratio = theoretical_speedup(baseline.metrics, candidate.metrics, sparse=candidate_runtime == "torch-sparse")
            records.append({
                "candidate": candidate.name, "baseline": baseline.name, "runtime": candidate_runtime, "batch": batch,
                "flop_ratio": flop_ratio, "realisation": c.speedup / flop_ratio, "profile": profile.name, **c.as_dict(),
            })
    return records
