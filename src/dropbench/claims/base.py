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

if TYPE_CHECKING:  # annotations only: the context imports this module
    from .context import ClaimContext
    from .record import ClaimRecord

RunBinding = Union[str, tuple[str, ...]]  # one run, a sweep ("name-"), or several runs


class NotRunnable(Exception):
    """The claim cannot be checked as asked (one sentence why): recorded as `not-run`."""


@dataclass
class Condition:
    """A side condition of a claim (e.g. comparable accuracy); failing it fails the claim."""

    text: str
    ok: bool

    def __post_init__(self):
        self.ok = bool(self.ok)  # numpy comparisons give numpy bools, which JSON cannot hold

    def as_dict(self) -> dict[str, Any]:
        return {"text": self.text, "ok": self.ok}


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

    def run(self, role: str) -> str:
        """The one run bound to `role` (a check asks for sweeps with ctx.names)."""
        binding = self.runs[role]
        if not isinstance(binding, str) or binding.endswith("-"):
            raise TypeError(f"claim {self.id}: role {role!r} is bound to several runs ({binding!r})")
        return binding


def verdict(claim: Claim, evidence: Evidence) -> str:
    """holds: the interval clears the bound; fails: it lies below, or a side condition fails."""
    if not all(c.ok for c in evidence.conditions):
        return "fails"
    low, high = evidence.ci
    if low >= claim.bound:
        return "holds"
    if high < claim.bound:
        return "fails"
    return "inconclusive"


@dataclass(frozen=True)
class Paper:
    """One paper's claims and, optionally, its section of the report.

    `section(manifests, records)` gets every run's manifest and this paper's claim records (all
    profiles) and returns HTML ("" when it has nothing to show)."""

    name: str
    claims: tuple[Claim, ...]
    section: Callable[[dict[str, dict], list["ClaimRecord"]], str] | None = None
