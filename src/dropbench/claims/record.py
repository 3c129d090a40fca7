"""A checked claim as a typed record: what claims.json holds, and what the report, the asv suites
and the CLI read (never raw keys).

`as_dict` writes the JSON form; `from_dict` reads it back through its schema (schemas.records.Claim)
and refuses a record with a missing or mistyped field with one ConfigError line. `details` stays a
plain dict: its keys are the paper module's own, read only by that module's report section.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError
from ..timing.inference import AA_TOLERANCE
from ..schemas import NOT_AS_WRITTEN, validate
from ..schemas.records import Claim
from .base import Condition, Control


@dataclass
class Calibration:
    """A/A: a checkpoint timed against itself as the claim's ratios are; must come out 1.0."""

    what: str
    ratio: float
    ci: tuple[float, float]
    rounds: list[float]
    covers_one: bool
    ok: bool  # the ratio within `tolerance` of 1
    tolerance: float

    @classmethod
    def of(cls, what: str, ratio: float, ci: tuple[float, float], rounds: list[float]) -> "Calibration":
        return cls(f"{what}, {len(rounds)} rounds", ratio, ci, rounds, ci[0] <= 1.0 <= ci[1], abs(ratio - 1.0) <= AA_TOLERANCE, AA_TOLERANCE)

    @property
    def doubt(self) -> str:
        """Why timing timed this way cannot decide a verdict ('' when it can): the A/A ratio too far
        from 1, or its interval missing 1 (the harness sees a difference where there is none)."""
        if not self.ok:
            return f"the A/A ratio was {self.ratio:.3f}, more than {self.tolerance:.0%} from 1"
        if not self.covers_one:
            return f"the A/A interval {self.ci[0]:.3f}..{self.ci[1]:.3f} misses 1"
        return ""

    def as_dict(self) -> dict[str, Any]:
        return {"what": self.what, "ratio": self.ratio, "ci": list(self.ci), "rounds": self.rounds, "covers_one": self.covers_one,
                "ok": self.ok, "tolerance": self.tolerance}


@dataclass
class ClaimRecord:
    """One claim checked on one profile."""

    id: str
    paper: str
    claim: str
    metric: str
    claimed: Any
    bound: float
    tolerance: str
    applies_to: list[str]
    unit: str
    profile: str
    fingerprint: dict[str, Any]
    setup: dict[str, Any]
    provenance: dict[str, Any] = field(default_factory=dict)  # commit, version, command, libraries (provenance.py)
    measured: float | None = None
    ci: tuple[float | None, float | None] = (None, None)
    runs: dict[str, str | list[str]] = field(default_factory=dict)  # role -> checkpoint directory (or one per seed)
    seeds: int | None = None
    control: Control | None = None
    verdict: str = "not-run"
    reason: str = ""  # why a checked claim does not hold: which interval lies where (empty when it holds or was not checked)
    explanation: str = ""
    conditions: list[Condition] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    selection: dict[str, Any] = field(default_factory=dict)
    calibration: Calibration | None = None
    contended: list[str] = field(default_factory=list)  # timing rounds of the measured value that shared the machine
    confidence: float = 0.95  # the level of every interval in it: 1 - alpha / the intervals that can make it fail
    alpha: float = 0.05  # the verdict's error rate (smaller at the adaptive mode's later looks)
    deviations: list[dict[str, Any]] = field(default_factory=list)  # how the setup differs from the paper's (claims.base.Deviation)
    looks: int = 1  # how many times the adaptive mode checked it (1: checked once)
    traceback: str | None = None  # verdict "error" only

    @property
    def interval_words(self) -> str:
        """'[low, high]', the level added when it is not 95 % (a later look of the adaptive mode)."""
        if self.ci[0] is None:
            return "-"
        level = "" if self.confidence == 0.95 else f" ({100 * self.confidence:.4g} %)"
        return f"[{self.ci[0]:.3g}, {self.ci[1]:.3g}]{level}"

    @property
    def bound_words(self) -> str:
        """The bound the verdict tests, then the paper's own figure where it says more: '>= 2.5x',
        '>= 0.2 (paper: 0.2 to 0.77)', '>= 1 points (paper: clearly more)'. The CLI and the report both show this."""
        bound = f">= {self.amount(self.bound)}"
        paper = " to ".join(map(self.amount, self.claimed)) if isinstance(self.claimed, list) else self.amount(self.claimed)
        return bound if paper == bound.removeprefix(">= ") else f"{bound} (paper: {paper})"

    def amount(self, value: Any) -> str:
        """A figure with its unit ('2.5x', '1 points', a bare fraction); words (the paper's 'clearly more') as written."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return str(value)
        return f"{value:g}" + {"x": "x", "fraction": ""}.get(self.unit, f" {self.unit}")

    @property
    def checked(self) -> bool:
        """Whether a figure was measured (not `not-run` or `error`, nor inconclusive before measuring)."""
        return self.verdict not in ("not-run", "error") and self.measured is not None

    @property
    def material_deviations(self) -> list[dict[str, Any]]:
        return [d for d in self.deviations if d["material"]]

    @property
    def deviation_words(self) -> str:
        """'data: paper MNIST (60,000 images), ours digits (1,257); ...' for the material deviations."""
        return "; ".join(f"{d['what']}: paper {d['paper']}, ours {d['ours']}" for d in self.material_deviations)

    @property
    def verdict_words(self) -> str:
        """The verdict as the summary shows it: a `fails` under material deviations says it is not a refutation."""
        return "fails (not reproduced under these deviations)" if self.verdict == "fails" and self.material_deviations else self.verdict

    def as_dict(self) -> dict[str, Any]:
        d = {
            "id": self.id, "paper": self.paper, "claim": self.claim, "metric": self.metric, "claimed": self.claimed, "bound": self.bound,
            "tolerance": self.tolerance, "applies_to": list(self.applies_to), "unit": self.unit, "profile": self.profile,
            "fingerprint": self.fingerprint, "provenance": self.provenance, "setup": self.setup, "measured": self.measured,
            "ci": list(self.ci), "runs": self.runs,
            "seeds": self.seeds, "control": self.control.as_dict() if self.control else None, "verdict": self.verdict,
            "reason": self.reason, "explanation": self.explanation, "conditions": [c.as_dict() for c in self.conditions], "details": self.details,
            "selection": self.selection, "calibration": self.calibration.as_dict() if self.calibration else None,
            "contended": self.contended, "confidence": self.confidence, "alpha": self.alpha, "deviations": self.deviations, "looks": self.looks,
        }
        if self.traceback is not None:
            d["traceback"] = self.traceback
        return d

    @classmethod
    def from_dict(cls, d: Any, source: str = "claim record") -> "ClaimRecord":
        """A record as claims.json holds it, checked against its schema (schemas.records.Claim) first:
        a missing or mistyped field is one ConfigError line naming `source` and the field."""
        r = validate(Claim, d, source, ConfigError, NOT_AS_WRITTEN).model_dump()
        control, calibration = r["control"], r["calibration"]
        return cls(
            **{key: r[key] for key in ("id", "paper", "claim", "metric", "claimed", "bound", "tolerance", "applies_to", "unit", "profile",
                                       "fingerprint", "provenance", "setup", "verdict", "explanation", "measured", "runs", "seeds", "reason", "details",
                                       "selection", "contended", "confidence", "alpha", "deviations", "looks", "traceback")},
            ci=tuple(r["ci"]), control=Control(**{**control, "ci": tuple(control["ci"])}) if control else None,
            conditions=[Condition.from_dict(c) for c in r["conditions"]],
            calibration=Calibration(**{**calibration, "ci": tuple(calibration["ci"])}) if calibration else None,
        )

