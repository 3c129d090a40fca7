"""Where reproduce's two stages run: one small interface, two implementations (as
optimum-benchmark's launchers). `LocalExecutor` runs them here, one step after another;
`cluster.Cluster` runs each training and each profile's timing as a Ray task.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from .claims.context import PlanChecks
from .profiles import Profile
from .runs import RunSpec
from .stages import ProfileFigures, TimingBudget, measure_profile, train_all


class Executor(Protocol):
    address: Any  # where it runs (a cluster address), None for this machine

    def check(self, profiles: list[Profile]) -> None:
        """Refuse, before any work, profiles or tasks this executor cannot run."""

    def train_all(self, specs: list[RunSpec]) -> dict[str, list[Path]]:
        """Every seed of every run in the local run cache: run name -> cache entries."""

    def measure_all(
        self, specs: list[RunSpec], cached: dict[str, list[Path]], runs_dir: Path, profiles: list[Profile], checks: PlanChecks, budget: TimingBudget,
    ) -> list[ProfileFigures]:
        """Each profile's timing stage over the checkpoints (`cached` entries, laid out under `runs_dir`)."""


class LocalExecutor:
    """Both stages on this machine, one after another (the timing stage owns it); trainings side
    by side, `train_threads` torch threads each (stages.train_all)."""

    address = None

    def __init__(self, progress: Any = None, train_threads: int | None = None) -> None:
        self.progress = progress
        self.train_threads = train_threads

    def check(self, profiles: list[Profile]) -> None:
        for profile in profiles:
            profile.require_available()

    def train_all(self, specs: list[RunSpec]) -> dict[str, list[Path]]:
        return train_all(specs, self.progress, self.train_threads)

    def measure_all(
        self, specs: list[RunSpec], cached: dict[str, list[Path]], runs_dir: Path, profiles: list[Profile], checks: PlanChecks, budget: TimingBudget,
    ) -> list[ProfileFigures]:
        return [measure_profile(specs, runs_dir, profile, checks, self.progress, budget) for profile in profiles]
