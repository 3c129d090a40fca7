"""`ClaimContext`: what a check may use — the profile, the plan's runs, their checkpoints, timing.

Rules every check follows (docs/design.md, "How a verdict is made"):
- Validation picks, test reports: every choice (reference run, sweep point, width, rival,
  pruning criterion, KL weight) reads the validation split, through `pick`, so the adaptive mode
  can freeze it at its first look; test figures are only reported.
- Seeds: accuracy runs are trained with every seed of the plan; accuracy figures are means over
  seeds and examples with a variance-components interval (stats.accuracy_gap_ci).
- Timing: speed ratios come from independent rounds, each model alone in a fresh process, spread
  over the seeds of the nets timed (timing.rounds.compare_pairs);
  every speed claim carries the profile's A/A calibration, and an A/A ratio off by more than 3 % makes it inconclusive.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence, TypeVar

from ..checkpoint import Checkpoint, load_checkpoint
from ..errors import ConfigError
from ..export import ensure_exported
from ..timing.measurement import Comparison
from ..profiles import Profile
from ..runs import RunSpec, cached_runs
from ..timing.inference import compare_checkpoint_pairs
from ..schemas.plan import bound_names
from ..stats import at_confidence, geometric_mean
from .base import Claim, NotRunnable, RunBinding
from .record import Calibration

T = TypeVar("T")
AA_CONFIDENCE = 0.95  # the A/A is a sanity check of the timing, not part of a verdict's error rate: its usual level

TIMING_BATCH = 64  # the batch speed claims and their A/A calibration are timed at (every batch of the profile is reported)


def plan_names(binding: RunBinding, specs: list[RunSpec]) -> list[str]:
    """The runs a role's binding names: one run, several, or for a name ending in '-' every run of that sweep."""
    return bound_names(binding, [spec.name for spec in specs])


def claim_run_names(claim: Claim, specs: list[RunSpec]) -> set[str]:
    """Every run of the plan that `claim` reads, over all its roles."""
    return {name for binding in claim.runs.values() for name in plan_names(binding, specs)}


@dataclass(frozen=True)
class PlanChecks:
    """What a plan asks of the claims: which ones, bound to which of its runs, the seeds a verdict
    on accuracy needs, and the plan's name and SHA-256 (recorded in every claim record)."""

    plan: str
    sha256: str | None
    min_seeds: int
    claims: tuple[Claim, ...]


@dataclass
class ClaimContext:
    """What a check may use: the profile, the runs (the plan), the checkpoints, progress.

    Checkpoints come from `run_dirs` (plan name -> one directory per seed, e.g. reproduce's own
    output) or else from the run cache, trained on first use. Directories in the records are
    relative to `relative_to` when it is set. Speed ratios use `rounds` timing rounds of
    `min_run_time` seconds each; the A/A calibration times `calibration_run` against itself.
    """

    profile: Profile
    specs: list[RunSpec]
    checks: PlanChecks
    progress: Any = None
    min_run_time: float = 1.0
    run_dirs: dict[str, list[Path]] | None = None
    relative_to: Path | None = None
    rounds: int = 5
    calibration_run: str = "dense"
    frozen: dict[str, dict[str, Any]] | None = None  # claim id -> the choices of an earlier look, kept (adaptive mode)

    def spec(self, name: str) -> RunSpec:
        for spec in self.specs:
            if spec.name == name:
                return spec
        raise ConfigError(f"the plan has no run named {name!r}")

    def names(self, binding: RunBinding) -> list[str]:
        return plan_names(binding, self.specs)

    def checkpoints(self, name: str) -> list[Checkpoint]:
        """One checkpoint per seed of run `name`; NotRunnable when it has fewer than the plan needs."""
        dirs = self.seed_dirs(name)
        need = self.checks.min_seeds
        if len(dirs) < need:
            raise NotRunnable(f"run {name!r} has {len(dirs)} seed(s); a verdict on accuracy in plan {self.checks.plan!r} needs at least {need}")
        return [load_checkpoint(d) for d in dirs]

    def timed(self, name: str) -> list[Checkpoint]:
        """Every seed's checkpoint of run `name`, exported (what is timed)."""
        return [load_checkpoint(ensure_exported(d)) for d in self.seed_dirs(name)]

    def seed_dirs(self, name: str) -> list[Path]:
        """One checkpoint directory per seed of run `name`: from `run_dirs`, else the run cache (trained where missing)."""
        return self.run_dirs[name] if self.run_dirs is not None else cached_runs(self.spec(name), progress=self.progress)

    def pick(self, claim: Claim, key: str, choose: Callable[[], T]) -> T:
        """A choice made on validation (`choose()`), or the one an earlier look of the adaptive mode
        made: later looks add seeds to the same comparison, they never change the hypothesis."""
        frozen = (self.frozen or {}).get(claim.id, {})
        return frozen[key] if key in frozen else choose()

    def deviations(self, claim: Claim) -> list[dict[str, Any]]:
        """How the runs the claim reads differ from the paper's setup (`claim.paper_setup`): data set,
        epochs, device, and what the paper module lists itself. Material: one that could change the
        verdict (other data, fewer epochs, a speed claim on other hardware)."""
        paper = claim.paper_setup
        specs = [self.spec(n) for n in sorted(claim_run_names(claim, self.specs))]
        rows = []
        data = sorted({s.data for s in specs})
        if "data" in paper and data != [paper["data"]]:
            rows.append({"what": "data", "paper": paper["data_words"], "ours": ", ".join(data), "material": True})
        epochs = sorted({s.train.epochs for s in specs})
        if "epochs" in paper and max(epochs) < paper["epochs"]:
            rows.append({"what": "epochs", "paper": str(paper["epochs"]), "ours": ", ".join(map(str, epochs)), "material": True})
        if "device" in paper and self.profile.device != paper["device"]:
            rows.append({"what": "hardware", "paper": paper["device"], "ours": self.profile.device, "material": claim.timed})
        rows += [{"what": what, "paper": theirs, "ours": ours, "material": material} for what, theirs, ours, material in paper.get("other", ())]
        return rows

    def location(self, path: Path) -> str:
        return os.path.relpath(path, self.relative_to) if self.relative_to else str(path)

    def compare(self, baselines: Sequence[Checkpoint], candidates: Sequence[Checkpoint], batch: int = TIMING_BATCH,
                runtime: str = "onnxruntime") -> Comparison:
        """Speedup of the candidates over the baselines, paired seed by seed (the first seeds of
        both, and so on): the rounds are spread over the pairs, so the interval spans seeds."""
        pairs = list(zip(baselines, candidates))
        return compare_checkpoint_pairs(pairs, self.profile, runtime, batch, self.min_run_time, rounds=self.rounds)

    @staticmethod
    def flop_ratio(baselines: Sequence[Checkpoint], candidates: Sequence[Checkpoint]) -> float:
        """The FLOP ratio of the pairs `compare` times, seed by seed: their geometric mean."""
        return geometric_mean([b.metrics["flops"] / c.metrics["flops"] for b, c in zip(baselines, candidates)])

    def setup(self, claim: Claim) -> dict[str, Any]:
        """The plan's runs the claim reads, as they were set up, and for a timed claim how its
        runtimes were set up (every comparison of a claim times each model alone in a process)."""
        names = claim_run_names(claim, self.specs)
        timing = {"timing": {**self.profile.timing_settings(), "one_model_per_process": True}} if claim.timed else {}
        return {"plan": self.checks.plan, "plan_sha256": self.checks.sha256, "runs": {s.name: s.as_dict() for s in self.specs if s.name in names},
                **timing}

    def missing_runs(self, claim: Claim) -> list[str]:
        """The bindings of `claim` that name no run of the plan."""
        return [str(binding) for binding in claim.runs.values() if not self.names(binding)]

    @functools.cached_property
    def calibration(self) -> Calibration:
        """A/A: the calibration run against itself, as every inference speed claim is timed (onnxruntime, TIMING_BATCH)."""
        model = self.timed(self.calibration_run)[0]
        with at_confidence(AA_CONFIDENCE):
            result = self.compare([model], [model])
        return Calibration.of(f"{model.name} against itself, onnxruntime, batch {TIMING_BATCH}", result.speedup, result.ci, result.rounds)
