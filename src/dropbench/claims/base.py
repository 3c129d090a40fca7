"""What a claim is, what its check returns, and the verdict rule.

A `Claim` is a plain record: what the paper says, the bound that counts as holding, and its runs
bound by role (`runs={"dense": "dense", "sweep": "dropout-compaction-"}`): each role names one run
of the plan, a sweep (a name ending in '-': every run with that prefix) or a tuple of runs. The
check reads its runs through those roles only, so a plan can bind other runs to them. A check
returns an `Evidence`: the measured value and its interval, side conditions ("accuracy within 1
point"), what it chose and on which split (`selection`), and a `Control`: the same metric on what a
practitioner would do instead. `verdict` turns it into holds / fails / inconclusive.

A `Paper` groups a paper's claims with its report section; `claims/__init__.py` registers them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Union

from ..stats import ci_label

if TYPE_CHECKING:  # annotations only: the context imports this module
    from .context import ClaimContext
    from .record import ClaimRecord

RunBinding = Union[str, tuple[str, ...]]  # one run, a sweep ("name-"), or several runs
MAX_EVIDENCE_FACTOR = 100  # beyond this an estimate of the evidence needed is said as "over 100x": no plan gathers it


ALPHA = 0.05  # a verdict's error rate: the chance that it says `fails` (or `holds`) wrongly


class NotRunnable(Exception):
    """The claim cannot be checked as asked (one sentence why): recorded as `not-run`."""


class Undecidable(Exception):
    """The check ran but cannot decide (one sentence why: its premise was not reached, too few seeds
    for a valid interval): recorded as `inconclusive`, never silently decided."""


def verdict_confidence(intervals: int, alpha: float = ALPHA) -> float:
    """The level of each of a verdict's `intervals` (the main one and every side condition: each can
    make it `fail`), so that all of them together keep `alpha` (Bonferroni): 97.5 % for two."""
    return 1.0 - alpha / intervals


@dataclass
class Condition:
    """A side condition of a claim, decided by its interval (95 %, or the level in force) against its margin.

    The allowed side is at or below the margin (`at_most`, e.g. an accuracy drop of at most 1
    point, < 50 % of the units kept) or at or above it. `met`: the whole interval lies on the
    allowed side (non-inferiority shown); `violated`: wholly on the other side; `undecided`: it
    straddles the margin. The point estimate never decides.
    """

    text: str
    estimate: float
    ci: tuple[float, float]
    margin: float
    at_most: bool = True
    timed: bool = False  # a timing interval: decides nothing when the timing is not calibrated (A/A)

    def __post_init__(self):  # numpy scalars in, plain floats out: JSON holds them
        self.estimate, self.ci, self.margin = float(self.estimate), (float(self.ci[0]), float(self.ci[1])), float(self.margin)

    @property
    def state(self) -> str:
        low, high = self.ci
        allowed, other = (high <= self.margin, low > self.margin) if self.at_most else (low >= self.margin, high < self.margin)
        return "met" if allowed else "violated" if other else "undecided"

    def evidence_to_decide(self) -> float | None:
        """How many times the evidence behind the interval (seeds, test examples or timing rounds)
        would decide it at the observed spread, intervals narrowing as 1 / sqrt(evidence); None when
        the estimate sits on the margin (no amount decides it)."""
        distance = abs(self.estimate - self.margin)
        toward_margin = self.ci[1] - self.estimate if self.estimate <= self.margin else self.estimate - self.ci[0]
        return max(1.0, (toward_margin / distance) ** 2) if distance > 0 else None

    def undecided_words(self, what: str) -> str:
        """Why an undecided interval is undecided, and what would decide it."""
        factor = self.evidence_to_decide()
        if factor is None:
            more = "its estimate sits on the margin: more evidence alone does not decide it"
        elif factor > MAX_EVIDENCE_FACTOR:  # e.g. 16,641x for an estimate 0.004 from its margin: no plan would gather it
            more = f"its estimate sits {abs(self.estimate - self.margin):.3g} from the margin: over {MAX_EVIDENCE_FACTOR}x the evidence would be needed"
        else:
            more = f"about {factor:.1f}x the evidence behind it (seeds, test examples or timing rounds) would decide it at the observed spread"
        return f"{what} ({self.ci[0]:.3g}..{self.ci[1]:.3g}) straddles {self.margin:g}; {more}"

    def as_dict(self) -> dict[str, Any]:
        return {"text": self.text, "state": self.state, "estimate": self.estimate, "ci": list(self.ci), "margin": self.margin, "at_most": self.at_most,
                "timed": self.timed}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Condition":
        return cls(d["text"], d["estimate"], tuple(d["ci"]), d["margin"], d["at_most"], d.get("timed", False))  # the state follows from them


@dataclass
class Control:
    """The claim's metric measured on the plain alternative, and whether the method beat it.

    `beaten`: True when the method's interval lies above the control's figure, False when below
    or equal, None when the intervals cannot tell them apart.
    """

    name: str
    measured: float
    ci: tuple[float, float]
    beaten: bool | None
    text: str
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "measured": self.measured, "ci": list(self.ci), "beaten": self.beaten, "text": self.text, "details": self.details}


@dataclass
class Evidence:
    measured: float
    ci: tuple[float, float]
    explanation: str
    conditions: list[Condition] = field(default_factory=list)
    runs: dict[str, Path | list[Path]] = field(default_factory=dict)  # role -> checkpoint directory (or one per seed)
    details: dict[str, Any] = field(default_factory=dict)
    control: Control | None = None
    selection: dict[str, Any] = field(default_factory=dict)  # what was chosen, each on the validation split
    seeds: int = 1  # the fewest trainings behind any accuracy figure of the check
    contended: list[str] = field(default_factory=list)  # timing rounds of the measured value that shared the machine
    calibration: Any = None  # the check's own A/A (record.Calibration) where the context's inference A/A is not its timing


@dataclass(frozen=True, kw_only=True)
class Claim:
    id: str
    paper: str
    claim: str  # what the paper says, in a sentence
    metric: str
    claimed: Any  # the paper's value or [low, high]
    unit: str
    bound: float  # measured must reach this (direction ">=")
    tolerance: str  # in words: what counts as holding
    runs: Mapping[str, RunBinding]  # role -> the plan's run(s) the check reads under that role
    check: Callable[["Claim", "ClaimContext"], Evidence]
    devices: tuple[str, ...] = ("cpu", "cuda")  # the profiles it applies to, by device
    timed: bool = False  # a speed claim: carries the A/A calibration
    conditions: int | Callable[["Claim", "ClaimContext"], int] = 0  # side conditions its check returns (each can make it fail)
    paper_setup: Mapping[str, Any] = field(default_factory=dict)  # the paper's data, epochs, device...: what deviations are read against

    def intervals(self, ctx: "ClaimContext") -> int:
        """How many intervals can make the verdict fail: the main one and each side condition."""
        return 1 + (self.conditions(self, ctx) if callable(self.conditions) else self.conditions)

    def run(self, role: str) -> str:
        """The one run bound to `role` (a check asks for sweeps with ctx.names)."""
        binding = self.runs[role]
        if not isinstance(binding, str) or binding.endswith("-"):
            raise TypeError(f"claim {self.id}: role {role!r} is bound to several runs ({binding!r})")
        return binding


def main_interval(claim: Claim, evidence: Evidence) -> Condition:
    """The measured value's interval against the claim's bound, decided as a condition is."""
    return Condition(claim.metric, evidence.measured, evidence.ci, claim.bound, at_most=False)


def verdict(claim: Claim, evidence: Evidence, timing_doubt: str = "") -> tuple[str, str]:
    """(verdict, reason), decided by intervals, never by point estimates.

    holds: the main interval clears the bound and every condition is met; fails: the main interval
    lies wholly short of the bound, or a condition is violated; inconclusive otherwise. A timing
    interval (a speed claim's measured value, a `timed` condition) decides nothing when the rounds
    shared the machine (`contended`) or the A/A calibration failed (`timing_doubt` says how). The
    reason says which interval lies where (empty for holds)."""
    main = main_interval(claim, evidence)
    if evidence.contended:
        timing_doubt = f"the measured value was timed while the machine was shared ({'; '.join(evidence.contended)}): time it again on a quiet machine"
    doubted = bool(timing_doubt) and claim.timed
    low, high = main.ci
    if main.state == "violated" and not doubted:
        return "fails", f"the {ci_label()} of the measured value ({low:.3g}..{high:.3g}) lies wholly below the bound {claim.bound:g}"
    trusted = [c for c in evidence.conditions if not (doubted and c.timed)]
    violated = [c for c in trusted if c.state == "violated"]
    if violated:
        return "fails", "; ".join(f"condition violated, its {ci_label()} wholly beyond the margin {c.margin:g}: {c.text}" for c in violated)
    if doubted:  # timing that cannot be trusted decides nothing
        reasons = [timing_doubt]
    else:
        reasons = [main.undecided_words(f"the {ci_label()} of the measured value")] if main.state == "undecided" else []
    reasons += [c.undecided_words(f"condition undecided ({c.text}): its {ci_label()}") for c in trusted if c.state == "undecided"]
    return ("inconclusive", "; ".join(reasons)) if reasons else ("holds", "")


@dataclass(frozen=True)
class Paper:
    """One paper's claims and, optionally, its section of the report.

    `section(manifests, records)` gets every run's manifest and this paper's claim records (all
    profiles) and returns HTML ("" when it has nothing to show)."""

    name: str
    claims: tuple[Claim, ...]
    section: Callable[[dict[str, dict], list["ClaimRecord"]], str] | None = None
