"""The adaptive mode (--until-decided): more seeds for undecided claims only, stricter intervals at
each look, a stop within the budget. The checks are synthetic (their interval narrows with the
seeds and widens with the level), so no training runs."""

import functools

import pytest
from scipy.stats import norm
from conftest import assert_one_line_error

from dropbench import stats
from dropbench.claims.adaptive import MAX_LOOKS, check_until_decided, look_confidence, with_another_seed
from dropbench.claims.base import Claim, Evidence
from dropbench.claims.context import ClaimContext, PlanChecks
from dropbench.profiles import load_profile
from dropbench.runs import RunSpec

SEEN = []  # (claim id, seeds, confidence) per check


def narrowing(estimate: float, spread: float):
    """A check whose interval around `estimate` narrows with the seeds of its run, at the level in force."""

    def check(claim: Claim, ctx: ClaimContext) -> Evidence:
        seeds = len(ctx.spec(claim.run("run")).all_seeds())
        SEEN.append((claim.id, seeds, stats.current_confidence()))
        half = spread / seeds * norm.ppf(0.5 + stats.current_confidence() / 2) / norm.ppf(0.975)  # stricter levels are wider
        return Evidence(estimate, (estimate - half, estimate + half), f"{seeds} seeds", seeds=seeds)

    return check


def claim(id_: str, run: str, estimate: float, spread: float) -> Claim:
    return Claim(id=id_, paper="synthetic", claim="x", metric="m", claimed=1, unit="", bound=1.0, tolerance="", runs={"run": run},
                 check=narrowing(estimate, spread))


SPECS = [RunSpec("clear", "dense", seeds=(0, 1)), RunSpec("close", "dense", seeds=(0, 1)), RunSpec("timed", "dense")]


def run(claims, budget_s=3600.0):
    SEEN.clear()
    make_context = functools.partial(ClaimContext, load_profile("cpu-1thread"), checks=PlanChecks("synthetic", None, 2, ()))
    return check_until_decided(claims, SPECS, make_context, budget_s)


def test_seeds_go_only_to_undecided_claims_and_each_look_is_stricter():
    records = run([claim("decided", "clear", 3.0, 0.5), claim("slowly", "close", 1.3, 0.8)])
    assert [r.verdict for r in records] == ["holds", "holds"]
    assert [(s, n) for s, n, _ in SEEN if s == "decided"] == [("decided", 2)]  # decided at the first look, never checked again
    slowly = [(n, level) for s, n, level in SEEN if s == "slowly"]
    assert [n for n, _ in slowly] == list(range(2, 2 + len(slowly))) and len(slowly) > 1
    assert [level for _, level in slowly] == [look_confidence(k) for k in range(1, len(slowly) + 1)]
    assert records[0].looks == 1 and records[1].looks == len(slowly) and records[1].confidence == look_confidence(len(slowly))
    assert sum(1 - look_confidence(k) for k in range(1, 100)) <= 0.05  # the error rate spent over any number of looks


def test_a_claim_that_stays_undecided_says_why():
    (never,) = run([claim("never", "close", 1.0, 0.5)])  # its estimate sits on the bound
    assert never.verdict == "inconclusive" and never.looks == MAX_LOOKS and f"after {MAX_LOOKS} looks" in never.reason
    (timed,) = run([claim("timed", "timed", 1.05, 0.5)])  # a run with one seed is only timed: seeds do not help
    assert timed.verdict == "inconclusive" and timed.looks == 1 and "more seeds cannot decide it" in timed.reason
    (hurried,) = run([claim("hurried", "close", 1.0, 0.5)], budget_s=0.0)
    assert hurried.looks == 1 and "would overrun the budget" in hurried.reason


def test_another_seed_is_the_next_unused_one():
    grown = with_another_seed(SPECS, {"close", "timed"})
    assert [s.all_seeds() for s in grown] == [(0, 1), (0, 1, 2), (0,)]


@pytest.mark.parametrize("args, message", [
    (["--until-decided"], "--until-decided needs --budget"),
    (["--budget", "5"], "--budget applies to --until-decided only"),
    (["--until-decided", "--budget", "0"], "expected a value from 1 to 10080"),
    (["--until-decided", "--budget", "-3"], "expected a value from 1 to 10080"),
    (["--until-decided", "--budget", "1e9"], "expected a value from 1 to 10080"),
    (["--until-decided", "--budget", "nan"], "expected a value from 1 to 10080"),
])
def test_bad_adaptive_options_are_one_line(cli, tmp_path, args, message):
    assert_one_line_error(cli("claims", "--quick", "--json", tmp_path / "claims.json", *args), message)
    assert not (tmp_path / "claims.json").exists()
