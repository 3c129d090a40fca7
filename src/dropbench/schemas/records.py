"""The schemas of an output directory's records: claims.json, bench.json, speedups.json,
reproduce.json and the fields of a run's manifest that the report and `cluster estimate` read.

Every field the report, `--compare` or `cluster estimate` uses is typed and bounded here, so a
record from a folder dropbench did not just write is refused in one line before it is drawn,
divided or summed. Figures are finite and within +-1e12 (a plot's arithmetic overflows on 1e308);
names are short single lines. Fields nothing reads stay free (extra="allow"), within the reader's
size and depth bounds.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, Optional, Union

from pydantic import Field, StringConstraints, model_validator

from ..limits import MAX_BATCH, MAX_RECORDED_SECONDS, MAX_THREADS
from .manifest import Count, Strict
from .profile import ProfileName

VERDICTS = ("holds", "fails", "inconclusive", "not-run", "error")

Name = Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=r"^[^\n\r]*$")]
Text = Annotated[str, StringConstraints(max_length=100_000)]
Figure = Annotated[float, Field(allow_inf_nan=False, ge=-1e12, le=1e12)]
Positive = Annotated[float, Field(allow_inf_nan=False, gt=0, le=1e12)]
Seconds = Annotated[float, Field(allow_inf_nan=False, ge=0, le=MAX_RECORDED_SECONDS)]
Interval = Annotated[list[Figure], Field(min_length=2, max_length=2)]
Batch = Annotated[int, Field(ge=1, le=MAX_BATCH)]
Rounds = Annotated[list[Figure], Field(max_length=10_000)]
Scalar = Union[None, bool, int, Figure, Text]


class Condition(Strict):
    text: Text
    estimate: Figure
    ci: Interval
    margin: Figure
    at_most: bool
    timed: bool = False  # older records have none


class Deviation(Strict):
    what: Name
    paper: Text
    ours: Text
    material: bool


class Control(Strict):
    name: Text
    measured: Figure
    ci: Interval
    beaten: Optional[bool]
    text: Text
    details: dict[str, Any] = {}


class Calibration(Strict):
    what: Text
    ratio: Figure
    ci: Interval
    rounds: Rounds
    covers_one: bool
    ok: bool
    tolerance: Figure


class Claim(Strict):
    """One record of claims.json (claims.record.ClaimRecord.as_dict)."""

    id: Name
    paper: Name
    claim: Text
    metric: Name
    claimed: Any
    bound: Figure
    tolerance: Text
    applies_to: Annotated[list[Name], Field(max_length=16)]
    unit: Annotated[str, StringConstraints(max_length=64)]
    profile: ProfileName
    fingerprint: dict[str, Any]
    setup: dict[str, Any]
    provenance: dict[str, Any] = {}  # shown in the report's header; older records have none
    verdict: Literal[VERDICTS]
    explanation: Text
    measured: Optional[Figure] = None
    ci: Annotated[list[Optional[Figure]], Field(min_length=2, max_length=2)] = [None, None]
    runs: dict[Name, Union[Text, list[Text]]] = {}  # shown, never opened
    seeds: Optional[Count] = None
    control: Optional[Control] = None
    reason: Text = ""
    conditions: Annotated[list[Condition], Field(max_length=64)] = []
    details: dict[str, Any] = {}
    selection: dict[str, Any] = {}
    calibration: Optional[Calibration] = None
    contended: Annotated[list[Text], Field(max_length=10_000)] = []
    confidence: Annotated[float, Field(gt=0.5, lt=1)] = 0.95
    alpha: Annotated[float, Field(gt=0, lt=0.5)] = 0.05  # older records have none
    deviations: Annotated[list[Deviation], Field(max_length=64)] = []
    looks: Annotated[int, Field(ge=1, le=100)] = 1
    traceback: Optional[Text] = None

    @model_validator(mode="after")
    def _checked_has_a_figure(self) -> "Claim":
        # an inconclusive claim may have no figure (its premise was not reached), but never half an interval
        figure = self.measured is not None and None not in self.ci
        if (self.verdict in ("holds", "fails") and not figure) or (self.measured is not None and None in self.ci):
            raise ValueError(f"a claim that {self.verdict} needs its measured value and both ends of its interval")
        return self


class _Timed(Strict):
    """What a bench or speedup record shares: where it was timed, or why it was skipped, and the
    figures (FIGURES) a record that was not skipped must have."""

    FIGURES: ClassVar[tuple[str, ...]] = ()
    runtime: Name
    batch: Batch
    profile: Optional[ProfileName] = None
    skipped: Optional[Text] = None
    # how the runtimes were set up (the report shows it); older records have none
    threads: Optional[Annotated[int, Field(ge=1, le=MAX_THREADS)]] = None
    ort_spinning: Optional[bool] = None
    one_model_per_process: Optional[bool] = None

    @model_validator(mode="after")
    def _timed_has_figures(self) -> "_Timed":
        if self.skipped is None and any(getattr(self, name) is None for name in self.FIGURES):
            raise ValueError(f"a record that was not skipped needs {', '.join(self.FIGURES[:-1])} and {self.FIGURES[-1]}")
        return self


class Bench(_Timed):
    """One record of bench.json."""

    FIGURES: ClassVar[tuple[str, ...]] = ("median_s", "iqr_s", "samples_per_s")
    checkpoint: Name
    median_s: Optional[Positive] = None
    iqr_s: Optional[Seconds] = None
    samples_per_s: Optional[Positive] = None
    compile_s: Optional[Seconds] = None
    warnings: Annotated[list[Text], Field(max_length=1000)] = []


class Speedup(_Timed):
    """One record of speedups.json."""

    FIGURES: ClassVar[tuple[str, ...]] = ("speedup", "ci", "flop_ratio", "realisation")
    candidate: Name
    baseline: Name
    speedup: Optional[Positive] = None
    ci: Optional[Interval] = None
    flop_ratio: Optional[Positive] = None
    realisation: Optional[Figure] = None
    rounds: Rounds = []


class Reproduce(Strict):
    """reproduce.json: the plan's runs in order, and each stage's wall seconds."""

    runs: Annotated[list[Name], Field(max_length=10_000)] = []
    stages: dict[Name, Seconds] = {}
    provenance: dict[str, Any] = {}  # shown in the report's header; older records have none
    fingerprint: dict[str, Any] = {}  # the machine, for a plan that checks no claim (whose records carry it otherwise)
    plan: Annotated[str, StringConstraints(max_length=64)] | None = None
    plan_sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")] | None = None  # older records have none


Row = dict[Name, Scalar]
Rows = Annotated[list[Row], Field(max_length=100_000)]


class _Named(Strict):
    name: Name


class _Metrics(Strict):
    accuracy: Annotated[float, Field(ge=0, le=1)]
    params: Count
    nonzero_params: Count
    flops: Count
    hidden_kept_fraction: Optional[Annotated[float, Field(ge=0, le=1)]] = None


class _Method(_Named):
    params: dict[str, Any]


class _Onnx(Strict):
    parity_max_abs_diff: Optional[float] = None


class _Seeded(Strict):
    seed: Optional[Count] = None  # the training seed the report names ("seed 0")


class ShownRun(Strict):
    """The fields of a run's manifest the report shows (the loader's schema checks the rest)."""

    model: Name
    data: _Named
    method: _Method
    metrics: _Metrics
    train: _Seeded = _Seeded()
    onnx: _Onnx = _Onnx()
    curves: dict[Name, Union[Rows, dict[Name, Rows]]] = {}

    @model_validator(mode="after")
    def _rows_share_their_columns(self) -> "ShownRun":
        for name, curve in self.curves.items():
            for part in curve.values() if isinstance(curve, dict) else [curve]:
                if any(row.keys() != part[0].keys() for row in part):
                    raise ValueError(f"the rows of curve {name!r} do not all have the same columns")
        return self


class _Train(Strict):
    seconds: Seconds


class TrainedRun(Strict):
    """The field of a run's manifest `cluster estimate` reads: its training's wall seconds."""

    train: _Train
