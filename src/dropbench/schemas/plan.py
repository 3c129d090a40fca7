"""The plan file's schema (`dropbench plan show NAME`, `--plan FILE`): every field typed and bounded.

What it checks needs no registry: types, bounds, unknown keys, distinct run names, bindings that
name runs of the plan, and enough seeds for every run a claim reads. The method, model and claim
names and the methods' parameters are checked against the catalogue afterwards
(plans.checks.check_registries).
"""

from __future__ import annotations

import math
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from ..limits import MAX_BATCH, MAX_EPOCHS, MAX_LAYERS, MAX_PLAN_RUNS, MAX_PLAN_SEEDS, MAX_SEED, MAX_WIDTH

Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
Text = Annotated[str, StringConstraints(max_length=2000)]
Seed = Annotated[int, Field(ge=0, le=MAX_SEED)]
Width = Annotated[int, Field(ge=1, le=MAX_WIDTH)]
ParamValue = Union[bool, int, float, Annotated[str, StringConstraints(max_length=200)]]
# a role's runs: one run, a sweep (a name ending in '-': every run with that prefix), or several
Binding = Union[Name, Annotated[list[Name], Field(min_length=1, max_length=MAX_PLAN_RUNS)]]
OPTIMIZERS = ("adam", "sgd")
SCHEDULES = ("constant", "cosine", "step", "linear")  # train._lr_factor
DATA_SETS = ("digits", "mnist-5k", "mnist1d", "pydoc-text", "mnist", "fashion-mnist")  # data.SOURCES, which imports numpy and the loaders
DATA_FILE_KINDS = ("idx:", "npz:", "csv:")


class Strict(BaseModel):
    """No coercion ("3" is not 3) and no unknown keys: a misspelt key is an error, not a default."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


def check_data_spec(spec: str) -> str:
    """A built-in data set or one of the user's files (`idx:DIR`, `npz:PATH`, `csv:PATH[#LABEL]`); the file is read when a run trains."""
    if spec in DATA_SETS or (spec.startswith(DATA_FILE_KINDS) and len(spec) > 4):
        return spec
    raise ValueError(f"unknown data set {spec!r}; choose one of {', '.join(DATA_SETS)}, idx:DIR, npz:PATH or csv:PATH[#LABEL]")


DataSpec = Annotated[str, StringConstraints(min_length=1, max_length=4096)]


class TrainSchema(Strict):
    """train.TrainConfig without its seed (a run's `seeds` are the plan's)."""

    epochs: Annotated[int, Field(ge=1, le=MAX_EPOCHS)] = 20
    batch_size: Annotated[int, Field(ge=1, le=MAX_BATCH)] = 64
    lr: Annotated[float, Field(gt=0, le=100, allow_inf_nan=False)] = 1e-3
    optimizer: Literal[OPTIMIZERS] = "adam"
    momentum: Annotated[float, Field(ge=0, le=1)] = 0.9
    weight_decay: Annotated[float, Field(ge=0, le=100)] = 0.0
    schedule: Literal[SCHEDULES] = "constant"
    grad_clip: Annotated[float, Field(ge=0, le=1e6)] = 0.0
    hold: Annotated[float, Field(ge=0, lt=1)] = 0.0  # linear schedule: the fraction of training at the full lr


class RunSchema(Strict):
    name: Name
    method: Name
    params: Annotated[dict[Name, ParamValue], Field(max_length=32)] = {}
    model: Name = "mlp"
    hidden: Annotated[list[Width], Field(min_length=1, max_length=MAX_LAYERS)] | None = None  # the model's default widths when absent
    data: DataSpec | None = None  # pinned; absent: the plan's `data` (which --data replaces)
    train: TrainSchema = TrainSchema()
    seeds: Annotated[list[Seed], Field(min_length=1, max_length=MAX_PLAN_SEEDS)] = [0]
    aims_at: Text = ""  # the paper's figure this run sets out to reach, e.g. "1.92 % error, 68x fewer weights"

    @field_validator("data")
    @classmethod
    def _known_data(cls, spec: str | None) -> str | None:
        return spec if spec is None else check_data_spec(spec)

    @field_validator("params")
    @classmethod
    def _finite(cls, params: dict[str, ParamValue]) -> dict[str, ParamValue]:
        """NaN and infinity have no canonical JSON, so no hash; an integer beyond TOML's 64 bits
        would not read back from what `plan show` writes."""
        for key, value in params.items():
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"{key} is {value}; a method parameter must be a finite number")
            if isinstance(value, int) and not -(2**63) <= value < 2**63:
                raise ValueError(f"{key} is an integer beyond 64 bits (-2^63 to 2^63 - 1); give a smaller one")
        return params

    @field_validator("seeds")
    @classmethod
    def _distinct(cls, seeds: list[int]) -> list[int]:
        if len(set(seeds)) < len(seeds):
            raise ValueError(f"seeds must be distinct, got {seeds}")
        return seeds


def bound_names(binding: str | list[str] | tuple[str, ...], names: list[str]) -> list[str]:
    """The runs among `names` a role's binding names: one run, several, or for a name ending in '-' every run of that sweep."""
    if not isinstance(binding, str):
        return [name for one in binding for name in bound_names(one, names)]
    if binding.endswith("-"):
        return [name for name in names if name.startswith(binding)]
    return [name for name in names if name == binding]


class PlanSchema(Strict):
    name: Name
    description: Text = ""
    data: DataSpec = "digits"  # every run that does not pin its own
    data_help: Text = ""  # what to pass when `data` cannot be read here (e.g. --data idx:DIR for the full MNIST)
    min_seeds: Annotated[int, Field(ge=1, le=MAX_PLAN_SEEDS)] = 2  # trainings per run a verdict on accuracy needs
    profiles: Annotated[list[Name], Field(max_length=64)] = []  # where to time and check; empty: the detected one
    runs: Annotated[list[RunSchema], Field(min_length=1, max_length=MAX_PLAN_RUNS)]
    claims: Annotated[dict[Name, Annotated[dict[Name, Binding], Field(max_length=64)]], Field(max_length=256)] = {}  # claim id -> role -> runs
    # the runs whose checkpoints the asv checkpoint suites time (inference, time ratios, torch-compile,
    # compaction; each checkpoint costs seconds per runtime and batch size); absent: every run
    asv_runs: Annotated[list[Name], Field(max_length=MAX_PLAN_RUNS)] | None = None
    # the training cases the asv training suites time (a method, or `<method>-p<rate>` for one with a
    # dropout rate: catalog.training_cases; dense, their baseline, always); absent: every case
    asv_training: Annotated[list[Name], Field(max_length=256)] | None = None

    @field_validator("data")
    @classmethod
    def _known_data(cls, spec: str) -> str:
        return check_data_spec(spec)

    @model_validator(mode="after")
    def _runs_fit_the_claims(self) -> "PlanSchema":
        names = [run.name for run in self.runs]
        twice = next((name for name in names if names.count(name) > 1), None)
        if twice:
            raise ValueError(f"field runs: the run name {twice!r} is used twice")
        unknown = next((name for name in self.asv_runs or [] if name not in names), None)
        if unknown:
            raise ValueError(f"field asv_runs: {unknown!r} names no run of the plan")
        seeds = {run.name: len(run.seeds) for run in self.runs}
        for claim, roles in self.claims.items():
            for role, binding in roles.items():
                missing = next((one for one in ([binding] if isinstance(binding, str) else binding) if not bound_names(one, names)), None)
                if missing:
                    raise ValueError(f"field claims.{claim}.{role}: bound to {missing!r}, which names no run of the plan")
                bound = bound_names(binding, names)
                short = next((name for name in bound if seeds[name] < self.min_seeds), None)
                if short:
                    raise ValueError(
                        f"field claims.{claim}.{role}: run {short!r} has {seeds[short]} seed(s); a verdict needs {self.min_seeds} (min_seeds)")
        return self
