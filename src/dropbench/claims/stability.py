"""How stable the verdicts are across runs of the same plan (other seeds, other training threads,
other processes): pure comparisons of claim records, used by benchmarks/stability/run.py.

A hard flip is a pair of runs where one says `holds` and the other `fails`: the same code
contradicting itself. A soft flip moves between `inconclusive` and a decided verdict: expected
near a bound, but worth counting. For speed claims, each run's measured value is checked against
every other run's interval: an interval that does not cover what the next run measures is too
narrow (it misses the variation between runs). Even a calibrated interval leaves out some of the
next run's estimates, as both have an error (`stats.replication_coverage`: 88 % for 5 rounds at
95 %), so each claim carries the share expected beside the share seen.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from itertools import combinations, permutations

from ..stats import replication_coverage
from .record import ClaimRecord

DECIDED = ("holds", "fails")


@dataclass
class ClaimStability:
    claim: str
    verdicts: list[str]  # one per run, in run order
    hard_flips: int  # pairs of runs: holds against fails
    soft_flips: int  # pairs of runs: inconclusive against holds or fails
    estimates_inside: int | None  # speed claims: (run i's value, run j's interval) pairs where the interval covers the value
    estimate_pairs: int | None
    expected_inside: float | None  # the share of pairs a calibrated interval would cover (replication_coverage)

    def as_dict(self) -> dict:
        return asdict(self)


def compare_runs(runs: dict[str, list[ClaimRecord]]) -> list[ClaimStability]:
    """Per claim (in the first run's order), its verdict in every run and the flips and coverage between them."""
    names = list(runs)
    by_run = {name: {r.id: r for r in records} for name, records in runs.items()}
    rows = []
    for claim in dict.fromkeys(r.id for records in runs.values() for r in records):
        records = [by_run[name].get(claim) for name in names]
        verdicts = [r.verdict if r else "missing" for r in records]
        pairs = list(combinations(verdicts, 2))
        hard = sum({a, b} == set(DECIDED) for a, b in pairs)
        soft = sum(("inconclusive" in (a, b)) and (a in DECIDED or b in DECIDED) for a, b in pairs)
        timed = [r for r in records if r and r.checked and r.calibration is not None]
        pairs_timed = list(permutations(timed, 2))
        inside = [b.ci[0] <= a.measured <= b.ci[1] for a, b in pairs_timed]
        expected = [replication_coverage(len(b.calibration.rounds), b.confidence) for _, b in pairs_timed]
        rows.append(ClaimStability(claim, verdicts, hard, soft, sum(inside) if timed else None, len(inside) if timed else None,
                                   sum(expected) / len(expected) if expected else None))
    return rows


def table_rows(rows: list[ClaimStability]) -> list[list[str]]:
    """The rows of the printed table: claim, verdicts, hard flips, soft flips, timing coverage."""
    def coverage(row: ClaimStability) -> str:
        if not row.estimate_pairs:
            return "-"
        return f"{row.estimates_inside}/{row.estimate_pairs} (calibrated: {100 * row.expected_inside:.0f} %)"

    return [[r.claim, " / ".join(r.verdicts), str(r.hard_flips), str(r.soft_flips), coverage(r)] for r in rows]
