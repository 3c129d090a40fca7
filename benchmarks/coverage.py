"""Do the intervals of dropbench.stats keep their word? Coverage by simulation with known truth (issue 33).

Each procedure gets data drawn from a model whose true value is known, at 2, 3 and 5 seeds; the
share of draws whose interval contains the truth is its coverage, which should be about the
nominal level. A second table simulates `--until-decided` (claims/adaptive.py) on claims whose
true effect sits exactly on the margin, where every decision is wrong, and counts the decisions.

    PYTHONPATH=src .venv/bin/python benchmarks/coverage.py [--draws 2000] [--confidence 0.95] [--json coverage.json]

Every row draws from its own stream (numpy's default_rng, seeded with BASE_SEED and the row's
name): the tables are reproducible, and a row comes out the same whichever other rows run.
The script imports only dropbench.stats (no torch), so it also runs as `python benchmarks/coverage.py`.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import sys
import tempfile
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, NoReturn, Sequence

import numpy as np
from scipy import optimize, special

from dropbench import stats

SEED_COUNTS = (2, 3, 5)
DEFAULT_DRAWS = 2000  # a coverage near 95 % to ±1 % (95 %)
DRAWS_RANGE = (50, 10**6)  # fewer cannot tell 90 % from 95 %; more take hours
BASE_SEED = 33  # the number
TRUTH_DRAWS = 2_000_000  # Monte Carlo draws of the seed effect behind an accuracy's truth
FLAG_BELOW = 0.93  # a cell under it is marked in the table
DISTRIBUTIONS = ("normal", "t3", "skewed")

Interval = tuple[float, float]


# ---- draws -----------------------------------------------------------------------------------

def standard_draws(rng: np.random.Generator, distribution: str, size: int | tuple[int, ...]) -> np.ndarray:
    """Draws of mean 0 and sd 1: normal, Student-t with 3 df (heavy tails) or a centred exponential
    (skewed); "none" is no effect at all."""
    if distribution == "normal":
        return rng.standard_normal(size)
    if distribution == "t3":
        return rng.standard_t(3, size) / math.sqrt(3.0)  # a t3's variance is 3
    if distribution == "skewed":
        return rng.standard_exponential(size) - 1.0
    if distribution == "none":
        return np.zeros(size)
    raise ValueError(f"unknown distribution {distribution!r}")


def row_rng(*name: object) -> np.random.Generator:
    """A row's own stream (crc32, unlike hash(), is the same in every process)."""
    return np.random.default_rng([BASE_SEED, zlib.crc32(repr(name).encode())])


# ---- coverage of one procedure under one model --------------------------------------------------

@dataclass
class Tally:
    """How often the interval held the truth, and on which side it missed."""

    covered: int = 0
    wholly_below: int = 0  # the interval lies below the truth
    wholly_above: int = 0

    def add(self, interval: Interval, truth: float) -> None:
        low, high = interval
        if high < truth:
            self.wholly_below += 1
        elif low > truth:
            self.wholly_above += 1
        else:
            self.covered += 1

    @property
    def draws(self) -> int:
        return self.covered + self.wholly_below + self.wholly_above

    @property
    def coverage(self) -> float:
        return self.covered / self.draws


@dataclass(frozen=True)
class Scenario:
    """One procedure under one data-generating model.

    `draw(rng, seeds)` returns one data set of `seeds` seeds (or rounds); `interval(data, n,
    confidence)` computes the procedure on its first n, so 2, 3 and 5 seeds share their draws."""

    procedure: str
    model: str
    distribution: str
    draw: Callable[[np.random.Generator, int], Any]
    interval: Callable[[Any, int, float], Interval]
    truth: Callable[[], float]  # lazily: an accuracy's truth is a Monte Carlo integral
    unit: str = "seeds"

    @property
    def name(self) -> tuple[str, str, str]:
        return self.procedure, self.model, self.distribution


@dataclass
class Row:
    scenario: Scenario
    truth: float
    tallies: dict[int, Tally] = field(default_factory=dict)

    def as_dict(self) -> dict:
        s = self.scenario
        return {"procedure": s.procedure, "model": s.model, "distribution": s.distribution, "unit": s.unit, "truth": self.truth,
                "cells": {str(n): {"coverage": t.coverage, "draws": t.draws, "wholly_below": t.wholly_below, "wholly_above": t.wholly_above,
                                  "below_flag": below_flag(t.coverage)}
                          for n, t in self.tallies.items()}}


def measure(scenario: Scenario, draws: int, confidence: float, seed_counts: Sequence[int] = SEED_COUNTS) -> Row:
    rng = row_rng(*scenario.name)
    row = Row(scenario, scenario.truth(), {n: Tally() for n in seed_counts})
    for _ in range(draws):
        data = scenario.draw(rng, max(seed_counts))
        for n, tally in row.tallies.items():
            tally.add(scenario.interval(data, n, confidence), row.truth)
    return row


# ---- accuracy: 0/1 hits from a latent model -------------------------------------------------

@dataclass(frozen=True)
class AccuracyCase:
    """hit = 1[beta + a_s + z_e + gamma · eps]: a_s the seed's effect (sd `seed_sd`, in logits),
    z_e ~ N(0, 1) the example's difficulty (shared by the arms), eps ~ N(0, 1) seed x example noise."""

    name: str
    seed_sd: float
    gamma: float


ACCURACY_CASES = (AccuracyCase("example-dominated", 0.0, 0.5), AccuracyCase("seed-dominated", 0.3, 0.15), AccuracyCase("mixed", 0.12, 0.4))
TEST_EXAMPLES = {"digits": 360, "mnist-5k": 1000}
REFERENCE_BETA, CANDIDATE_BETA = 2.0, 1.9  # accuracies of 95-98 %, a gap under a point


def draw_hits(rng: np.random.Generator, case: AccuracyCase, distribution: str, betas: Sequence[float], seeds: int, examples: int) -> list[np.ndarray]:
    """0/1 hits [seeds, examples] of arms trained independently and scored on one shared set of examples."""
    difficulty = rng.standard_normal(examples)
    arms = []
    for beta in betas:
        seed_effect = case.seed_sd * standard_draws(rng, distribution, (seeds, 1))
        arms.append(beta + seed_effect + difficulty + case.gamma * rng.standard_normal((seeds, examples)) > 0)
    return arms


@functools.cache
def truth_seed_effects(distribution: str) -> np.ndarray:
    """One fixed set of standard seed effects for every truth: a gap's two truths share their draws."""
    return standard_draws(np.random.default_rng(BASE_SEED), distribution, TRUTH_DRAWS)


@functools.cache
def accuracy_truth(beta: float, case: AccuracyCase, distribution: str) -> float:
    """E over a of Phi((beta + a) / sqrt(1 + gamma²)): the accuracy over seeds and examples."""
    effects = case.seed_sd * truth_seed_effects(distribution)
    return float(special.ndtr((beta + effects) / math.sqrt(1 + case.gamma**2)).mean())


def accuracy_scenarios(cases: Sequence[AccuracyCase] = ACCURACY_CASES, datasets: Sequence[str] = tuple(TEST_EXAMPLES),
                       distributions: Sequence[str] = DISTRIBUTIONS) -> list[Scenario]:
    """The gap and one run's accuracy, σ²_seed pooled over the compared arms (the procedures' default)."""
    return [scenario for case in cases
            for distribution in (distributions if case.seed_sd else ("none",))  # no seed effect, no distribution to vary
            for dataset in datasets
            for scenario in _accuracy_pair(case, distribution, dataset, other_runs=())]


SETUP_BETAS = (1.8, 1.95, 2.05, 2.1)  # other runs of the same setup (same seed spread), scored on the same examples


def pooled_accuracy_scenarios(cases: Sequence[AccuracyCase] = ACCURACY_CASES[1:], datasets: Sequence[str] = tuple(TEST_EXAMPLES)) -> list[Scenario]:
    """The same with σ²_seed pooled over six runs of one setup (the arms and SETUP_BETAS), as
    SeedVariance intends: more degrees of freedom than two runs of 2 seeds give. Normal seed effects."""
    return [scenario for case in cases for dataset in datasets for scenario in _accuracy_pair(case, "normal", dataset, other_runs=SETUP_BETAS)]


def _accuracy_pair(case: AccuracyCase, distribution: str, dataset: str, other_runs: Sequence[float]) -> list[Scenario]:
    """accuracy_gap_ci (REFERENCE_BETA's run minus CANDIDATE_BETA's) and accuracy_ci (the reference
    run), with σ²_seed pooled over the arms and `other_runs` when there are any."""
    model = f"{case.name}, {dataset} ({TEST_EXAMPLES[dataset]:,} examples)"
    suffix = f", σ² of {2 + len(other_runs)} runs" if other_runs else ""
    draw = functools.partial(_draw_accuracy, case=case, distribution=distribution, betas=(REFERENCE_BETA, CANDIDATE_BETA, *other_runs),
                             examples=TEST_EXAMPLES[dataset])
    return [Scenario(f"accuracy_gap_ci{suffix}", model, distribution, draw,
                     lambda arms, n, c: stats.accuracy_gap_ci(arms[0][:n], arms[1][:n], _seed_variance(arms, n), confidence=c),
                     functools.partial(_gap_truth, case, distribution)),
            Scenario(f"accuracy_ci{suffix}", model, distribution, draw,
                     lambda arms, n, c: stats.accuracy_ci(arms[0][:n], _seed_variance(arms, n), confidence=c),
                     functools.partial(accuracy_truth, REFERENCE_BETA, case, distribution))]


def _seed_variance(arms: Sequence[np.ndarray], seeds: int) -> stats.SeedVariance | None:
    """Pooled over every run drawn; None, the procedure's default (pooled over the arms it is given), when only the compared two were."""
    return stats.SeedVariance.pooled([arm[:seeds] for arm in arms]) if len(arms) > 2 else None


def _draw_accuracy(rng, seeds, *, case, distribution, betas, examples):
    return draw_hits(rng, case, distribution, betas, seeds, examples)


def _gap_truth(case: AccuracyCase, distribution: str) -> float:
    return accuracy_truth(REFERENCE_BETA, case, distribution) - accuracy_truth(CANDIDATE_BETA, case, distribution)


# ---- per-seed figures, perplexity ratios, timing --------------------------------------------------

FIGURE = 10.0  # a compression ratio
FIGURE_SD = 1.0  # additive; the t interval does not depend on it
LOG_SD = 0.3  # multiplicative: a wide, right-skewed spread (lognormal when normal)


def seed_mean_scenarios(distributions: Sequence[str] = DISTRIBUTIONS) -> list[Scenario]:
    scenarios = [Scenario("seed_mean_ci", f"figure = {FIGURE:g} + {FIGURE_SD:g} · noise", d,
                          lambda rng, n, d=d: FIGURE + FIGURE_SD * standard_draws(rng, d, n),
                          lambda x, n, c: stats.seed_mean_ci(x[:n], confidence=c), lambda: FIGURE)
                 for d in distributions]
    # t3 noise has no exp-moment: FIGURE · exp(noise) would have no mean to cover
    scenarios += [Scenario("seed_mean_ci", f"figure = {FIGURE:g} · exp({LOG_SD:g} · noise)", d,
                           lambda rng, n, d=d: FIGURE * np.exp(LOG_SD * standard_draws(rng, d, n)),
                           lambda x, n, c: stats.seed_mean_ci(x[:n], confidence=c), lambda d=d: FIGURE * _mean_exp(LOG_SD, d))
                  for d in distributions if d != "t3"]
    return scenarios


def _mean_exp(sd: float, distribution: str) -> float:
    """E exp(sd · X) for a standard draw X, in closed form."""
    if distribution == "normal":
        return math.exp(sd * sd / 2)
    return math.exp(-sd) / (1 - sd)  # X = Exp(1) - 1


PERPLEXITY = (105.0, 100.0)  # candidate, reference: true ratio 1.05
PERPLEXITY_CVS = ((0.05, 0.05), (0.08, 0.02))  # seed-to-seed spread of each arm, as a fraction of its mean


def ratio_scenarios(distributions: Sequence[str] = DISTRIBUTIONS, cvs: Sequence[tuple[float, float]] = PERPLEXITY_CVS) -> list[Scenario]:
    return [Scenario("ratio_ci", f"perplexity {PERPLEXITY[0]:g} / {PERPLEXITY[1]:g}, seed spread {100 * cv[0]:g} % / {100 * cv[1]:g} %", d,
                     functools.partial(_draw_perplexities, distribution=d, cvs=cv),
                     lambda arms, n, c: stats.ratio_ci(arms[0][:n], arms[1][:n], confidence=c),
                     lambda: PERPLEXITY[0] / PERPLEXITY[1])
            for cv in cvs for d in distributions]


def _draw_perplexities(rng, seeds, *, distribution, cvs):
    return [mean * (1 + cv * standard_draws(rng, distribution, seeds)) for mean, cv in zip(PERPLEXITY, cvs)]


SPEED = 2.0  # the true (geometric-mean) time ratio
ROUND_SD, ROUND_NOISE_SD = 0.03, 0.01  # one pair: a round's effect (the distribution's) and its measuring noise (normal), in log
SEED_SPEED_SD = 0.04  # between trainings' nets: two seeds' kubo nets differ by 5-7 %
ROUNDS_PER_SEED = 3


def timing_scenarios(distributions: Sequence[str] = DISTRIBUTIONS) -> list[Scenario]:
    rounds = [Scenario("rounds_ci", f"one pair: log ratio = log {SPEED:g} + round effect (sd {ROUND_SD:g}) + N(0, {ROUND_NOISE_SD:g}²)", d,
                       lambda rng, n, d=d: SPEED * np.exp(ROUND_SD * standard_draws(rng, d, n) + ROUND_NOISE_SD * rng.standard_normal(n)),
                       lambda x, n, c: stats.rounds_ci(x[:n], confidence=c), lambda: SPEED, unit="rounds")
              for d in distributions]
    grouped = [Scenario("grouped_rounds_ci", f"each seed's nets: their own ratio (sd {SEED_SPEED_SD:g} in log), "
                        f"{ROUNDS_PER_SEED} rounds each (N(0, {ROUND_SD:g}²))", d,
                        lambda rng, n, d=d: SPEED * np.exp(SEED_SPEED_SD * standard_draws(rng, d, (n, 1))
                                                           + ROUND_SD * rng.standard_normal((n, ROUNDS_PER_SEED))),
                        lambda x, n, c: stats.grouped_rounds_ci(x[:n], confidence=c), lambda: SPEED)
               for d in distributions]
    return rounds + grouped


def all_scenarios() -> list[Scenario]:
    return accuracy_scenarios() + pooled_accuracy_scenarios() + seed_mean_scenarios() + ratio_scenarios() + timing_scenarios()


# ---- the adaptive procedure at the margin ----------------------------------------------------------

ALPHA, MAX_LOOKS = 0.05, 4  # claims/adaptive.py
FIRST_SEEDS = 2
DROP_MARGIN = 0.01  # "within 1 point"
MAIN_BOUND, MAIN_SD = 10.0, 1.0  # a per-seed main figure (a compression) against its bound


def look_confidence(look: int) -> float:
    """claims.adaptive.look_confidence, copied: importing that module pulls in torch and every claim."""
    return 1.0 - ALPHA / 2**look


@dataclass(frozen=True)
class MarginClaim:
    """A claim whose accuracy drop is exactly the margin; its main figure is on its bound too
    (`main_on_bound`) or clears it whatever the draw. Either way every holds and every fails is wrong."""

    case: AccuracyCase
    dataset: str
    main_on_bound: bool
    intervals: int = 2  # that can make it fail: the drop and the main figure

    @property
    def name(self) -> str:
        main = "main figure on its bound" if self.main_on_bound else "main interval clears"
        return f"drop = margin ({self.case.name}), {main}"


@functools.cache
def beta_at_margin(case: AccuracyCase, distribution: str = "normal") -> float:
    """The candidate's beta whose true drop from REFERENCE_BETA is exactly DROP_MARGIN."""
    reference = accuracy_truth(REFERENCE_BETA, case, distribution)
    return optimize.brentq(lambda beta: reference - accuracy_truth(beta, case, distribution) - DROP_MARGIN, 0.5, REFERENCE_BETA, xtol=1e-10)


def verdict(drop: Interval, main: Interval | None) -> str:
    """The claims' rule: fails when an interval lies wholly on the wrong side, holds when all lie on the right one."""
    if drop[0] > DROP_MARGIN or (main is not None and main[1] < MAIN_BOUND):
        return "fails"
    if drop[1] < DROP_MARGIN and (main is None or main[0] > MAIN_BOUND):
        return "holds"
    return "inconclusive"


def decide(reference: np.ndarray, candidate: np.ndarray, main: np.ndarray | None, levels: Sequence[float]) -> str:
    """Look k uses the first FIRST_SEEDS + k - 1 seeds at levels[k - 1]; the first decision stands."""
    for look, level in enumerate(levels):
        n = FIRST_SEEDS + look
        outcome = verdict(stats.accuracy_gap_ci(reference[:n], candidate[:n], confidence=level),
                          None if main is None else stats.seed_mean_ci(main[:n], confidence=level))
        if outcome != "inconclusive":
            return outcome
    return "inconclusive"


@dataclass
class AdaptiveRow:
    claim: MarginClaim
    draws: int
    spent: dict[str, int]  # outcome -> draws, the adaptive mode's levels split over the intervals
    unspent: dict[str, int]  # the same looks at 95 % each, for contrast

    def wrong(self, outcomes: dict[str, int]) -> float:
        return (outcomes.get("holds", 0) + outcomes.get("fails", 0)) / self.draws

    def as_dict(self) -> dict:
        return {"claim": self.claim.name, "dataset": self.claim.dataset, "intervals": self.claim.intervals, "draws": self.draws,
                "outcomes": self.spent, "wrong": self.wrong(self.spent), "outcomes_at_95_every_look": self.unspent,
                "wrong_at_95_every_look": self.wrong(self.unspent)}


def simulate_adaptive(claim: MarginClaim, draws: int) -> AdaptiveRow:
    rng = row_rng("adaptive", claim.name, claim.dataset)
    seeds, beta = FIRST_SEEDS + MAX_LOOKS - 1, beta_at_margin(claim.case)
    spent_levels = [1 - (1 - look_confidence(k)) / claim.intervals for k in range(1, MAX_LOOKS + 1)]
    row = AdaptiveRow(claim, draws, {}, {})
    for _ in range(draws):
        reference, candidate = draw_hits(rng, claim.case, "normal", (REFERENCE_BETA, beta), seeds, TEST_EXAMPLES[claim.dataset])
        main = MAIN_BOUND + MAIN_SD * rng.standard_normal(seeds) if claim.main_on_bound else None
        for outcomes, levels in ((row.spent, spent_levels), (row.unspent, [0.95] * MAX_LOOKS)):
            outcome = decide(reference, candidate, main, levels)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return row


def margin_claims() -> list[MarginClaim]:
    claims = [MarginClaim(case, dataset, False) for case in ACCURACY_CASES for dataset in TEST_EXAMPLES]
    return claims + [MarginClaim(ACCURACY_CASES[2], dataset, True) for dataset in TEST_EXAMPLES]


# ---- tables ------------------------------------------------------------------------------------------

def percent(share: float) -> str:
    return f"{100 * share:.1f} %"


def coverage_table(rows: Sequence[Row], confidence: float) -> str:
    head = ["procedure", "data model", "spread drawn from", *(f"{n} seeds" for n in SEED_COUNTS)]
    lines = [f"Coverage of nominal {percent(confidence)} intervals (cells below {percent(FLAG_BELOW)} in bold; "
             "rounds_ci's columns count rounds of one pair, not seeds)", "", _md_row(head), _md_row(["---"] * len(head))]
    for row in rows:
        s = row.scenario
        cells = [_coverage_cell(row.tallies[n]) if n in row.tallies else "-" for n in SEED_COUNTS]
        lines.append(_md_row([f"`{s.procedure}`", s.model, s.distribution, *cells]))
    return "\n".join(lines)


def _coverage_cell(tally: Tally) -> str:
    text = percent(tally.coverage)
    return f"**{text}**" if below_flag(tally.coverage) else text


def below_flag(coverage: float) -> bool:
    """Judged on the printed figure: a bold 93.0 % would read as a contradiction."""
    return round(100 * coverage, 1) < 100 * FLAG_BELOW


def adaptive_table(rows: Sequence[AdaptiveRow]) -> str:
    head = ["claim (true drop exactly 1 point, margin 1)", "data", "wrong holds", "wrong fails", "wrong decisions, all looks", "at 95 % every look, unsplit"]
    lines = [f"--until-decided on claims at their margin: up to {MAX_LOOKS} looks, {FIRST_SEEDS} to {FIRST_SEEDS + MAX_LOOKS - 1} seeds, "
             "look k at 1 - (0.05 / 2^k) / m, m = 2 intervals; target: at most 5 % wrong", "", _md_row(head), _md_row(["---"] * len(head))]
    for row in rows:
        lines.append(_md_row([row.claim.name, f"{row.claim.dataset} ({TEST_EXAMPLES[row.claim.dataset]:,} examples)",
                              percent(row.spent.get("holds", 0) / row.draws), percent(row.spent.get("fails", 0) / row.draws),
                              percent(row.wrong(row.spent)), percent(row.wrong(row.unspent))]))
    return "\n".join(lines)


def _md_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


# ---- command line -------------------------------------------------------------------------------------

class OneLineParser(argparse.ArgumentParser):
    """A refusal is one `error:` line on stderr and exit 2, not argparse's usage block."""

    def error(self, message: str) -> NoReturn:
        print(f"error: {message}", file=sys.stderr)
        sys.exit(2)


def draws_count(text: str) -> int:
    try:
        draws = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of draws") from None
    if not DRAWS_RANGE[0] <= draws <= DRAWS_RANGE[1]:
        raise argparse.ArgumentTypeError(f"{draws} draws: give {DRAWS_RANGE[0]} to {DRAWS_RANGE[1]:,} (fewer cannot tell 90 % from 95 %, more take hours)")
    return draws


def confidence_level(text: str) -> float:
    try:
        level = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    low, high = stats.CONFIDENCE_RANGE
    if not low < level < high:  # also refuses nan
        raise argparse.ArgumentTypeError(f"{text} is outside ({low:g}, {high:g}), the levels dropbench.stats computes")
    return level


def json_path(text: str) -> Path:
    path = Path(text)
    if path.is_dir() or not path.parent.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: not a file in an existing folder")  # refused before minutes of simulation, not after
    return path


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = OneLineParser(description="Coverage of dropbench.stats' intervals by simulation with known truth, and the adaptive mode's error rate.")
    parser.add_argument("--draws", type=draws_count, default=DEFAULT_DRAWS, help=f"simulated data sets per row (default {DEFAULT_DRAWS})")
    parser.add_argument("--confidence", type=confidence_level, default=0.95, help="nominal level of the coverage table (the adaptive table uses its own)")
    parser.add_argument("--json", type=json_path, help="also write both tables as JSON to this file")
    return parser.parse_args(argv)


def write_json_atomically(path: Path, payload: dict) -> None:
    """A temporary file in the same folder, then os.replace: a reader never sees half a file."""
    with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False) as handle:
        try:
            json.dump(payload, handle, indent=1)
        except BaseException:
            os.unlink(handle.name)  # no stray half-file beside the result
            raise
    os.replace(handle.name, path)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    rows = [measure(s, args.draws, args.confidence) for s in all_scenarios()]
    adaptive = [simulate_adaptive(claim, args.draws) for claim in margin_claims()]
    wall = time.perf_counter() - start
    print(coverage_table(rows, args.confidence), adaptive_table(adaptive), sep="\n\n", end="\n\n")
    if args.json:
        write_json_atomically(args.json, {"draws": args.draws, "confidence": args.confidence, "base_seed": BASE_SEED, "wall_s": wall,
                                          "coverage": [r.as_dict() for r in rows], "adaptive": [r.as_dict() for r in adaptive]})
    print(f"wall time: {wall:.0f} s ({args.draws} draws per row)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
