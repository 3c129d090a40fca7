"""The two timings the stability benchmarks split into levels, built from the quick plan's runs
(trained on first use through the run cache): kubo's and song-LSTM's comparison pairs."""

from __future__ import annotations

from dropbench.checkpoint import load_checkpoint
from dropbench.claims.context import TIMING_BATCH
from dropbench.claims.song import at_batch
from dropbench.export import ensure_exported
from dropbench.plans.specs import load_plan, run_specs
from dropbench.profiles import Profile
from dropbench.runs import cached_run
from dropbench.timing.inference import RunnerFactory
from dropbench.timing.training import TrainStepFactory

Pair = tuple[RunnerFactory, RunnerFactory] | tuple[TrainStepFactory, TrainStepFactory]


def quick_plan_pairs(profile: Profile, compaction_run: str) -> dict[str, Pair]:
    """kubo: the dense net against `compaction_run` in onnxruntime at the claims' batch;
    song-LSTM: a standard-dropout training step against an approximate-random one, p = 0.5."""
    specs = {spec.name: spec for spec in run_specs(load_plan("quick"))}
    dense, compact = (load_checkpoint(ensure_exported(cached_run(specs[name]))) for name in ("dense", compaction_run))
    return {
        "kubo": (RunnerFactory("onnxruntime", dense, TIMING_BATCH, profile), RunnerFactory("onnxruntime", compact, TIMING_BATCH, profile)),
        "song-LSTM": (TrainStepFactory(at_batch(specs["lstm-dropout"]), profile.device),
                      TrainStepFactory(at_batch(specs["lstm-approximate-random"]), profile.device)),
    }
