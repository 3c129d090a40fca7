"""The claim registry, the verdict rule, and every check run for real on tiny runs."""

import dataclasses
import json
import math

import pytest
from conftest import assert_one_line_error

from dropbench import suites
from dropbench.claims import (
    CLAIMS,
    ClaimContext,
    Condition,
    Evidence,
    check_claims,
    get_claims,
    plan_names,
    verdict,
)
from dropbench.errors import ConfigError
from dropbench.profiles import fingerprint, load_profile
from dropbench.reproduce import plan
from dropbench.train import TrainConfig

RECORD_KEYS = {"id", "paper", "claim", "claimed", "measured", "ci", "unit", "verdict", "profile", "fingerprint", "setup", "explanation"}


def test_registry_covers_the_papers_and_resolves_in_both_plans():
    assert [c.id for c in CLAIMS] == [
        "kubo2016-runtime", "song2018-mlp-training", "song2018-lstm-training",
        "molchanov2017-lenet300", "molchanov2017-lenet5", "gomez2019-pruning", "knodt2022-width",
    ]
    for quick in (True, False):
        specs = plan(quick)
        for claim in CLAIMS:
            assert all(plan_names(pattern, specs) for pattern in claim.runs), (claim.id, quick)
    assert len(plan_names("dropout-compaction-", plan(True))) == 3  # the prior-strength sweep


def test_verdict_rule():
    claim = dataclasses.replace(CLAIMS[0], bound=2.0)
    assert verdict(claim, Evidence(2.5, (2.1, 3.0), "")) == "holds"
    assert verdict(claim, Evidence(2.2, (1.5, 2.5), "")) == "inconclusive"
    assert verdict(claim, Evidence(1.5, (1.0, 1.9), "")) == "fails"
    assert verdict(claim, Evidence(2.5, (2.1, 3.0), "", [Condition("accuracy", False)])) == "fails"


def tiny_plan():
    """The quick plan's runs by name, each shrunk to seconds of training."""
    def shrink(spec):
        hidden = (16,) if spec.model == "lstm" else None if spec.model == "lenet5" else (48, 48)
        model = "mlp" if spec.model == "lenet5" else spec.model  # LeNet-5 checks run the same code on an MLP
        data = "digits" if model != "lstm" else spec.data
        return dataclasses.replace(spec, model=model, data=data, hidden=hidden, train=TrainConfig(epochs=2, batch_size=64))

    return [shrink(s) for s in plan(quick=True)]


def test_every_check_runs_for_real_on_tiny_runs(tmp_path):
    context = ClaimContext(load_profile("cpu-1thread"), tiny_plan(), "quick", min_run_time=0.05)
    records = check_claims(get_claims(), context)
    json.dumps(records, allow_nan=False)  # the --json output is strict JSON
    for r in records:
        assert RECORD_KEYS <= set(r), r["id"]
        assert r["verdict"] in ("holds", "fails", "inconclusive"), (r["id"], r["explanation"], r.get("traceback"))
        assert math.isfinite(r["measured"]) and r["ci"][0] <= r["ci"][1], r["id"]
        assert r["setup"]["mode"] == "quick" and r["setup"]["runs"], r["id"]
    by_id = {r["id"]: r for r in records}
    assert set(by_id["kubo2016-runtime"]["runs"]) == {"baseline", "candidate"}
    assert {row["p"] for row in by_id["song2018-mlp-training"]["details"]["rates"]} == {0.3, 0.5, 0.7}
    assert set(by_id["gomez2019-pruning"]["details"]["curves"]) == {"targeted", "dropout", "magnitude"}


def test_a_check_that_raises_is_recorded_as_error():
    def broken(claim, ctx):
        raise RuntimeError("boom")

    claim = dataclasses.replace(CLAIMS[-1], check=broken)
    [record] = check_claims([claim], ClaimContext(load_profile("cpu-1thread"), plan(True), "quick"))
    assert record["verdict"] == "error" and "RuntimeError: boom" in record["explanation"]


@pytest.mark.skipif(fingerprint()["gpu"] is not None, reason="checks the CPU-only path")
def test_cli_gpu_profile_on_cpu_gives_not_run(tmp_path, cli):
    out = tmp_path / "claims.json"
    result = cli("claims", "--quick", "--profile", "gpu-h100", "--json", out, "--quiet")
    assert result.code == 0, result.err
    records = json.loads(out.read_text())
    assert len(records) == len(CLAIMS) and {r["verdict"] for r in records} == {"not-run"}
    assert all("needs CUDA" in r["explanation"] and RECORD_KEYS <= set(r) for r in records)
    assert all(r["measured"] is None and r["ci"] == [None, None] for r in records)


def test_unknown_claim_is_one_line_error(cli):
    with pytest.raises(ConfigError, match="unknown claim"):
        get_claims(["nope"])
    assert_one_line_error(cli("claims", "--only", "nope"), "unknown claim 'nope'")


def test_asv_claim_figures_are_lower_is_better():
    records = {"a": {"verdict": "holds", "bound": 2.5, "measured": 6.0, "explanation": ""},
               "b": {"verdict": "fails", "bound": 0.2, "measured": 0.1, "explanation": ""},
               "c": {"verdict": "not-run", "bound": 1.0, "measured": None, "explanation": "needs CUDA"},
               "d": {"verdict": "fails", "bound": 1.0, "measured": -2.0, "explanation": ""}}
    assert suites.claim_figures(records, "a") == pytest.approx((2.5 / 6.0, 0))
    assert suites.claim_figures(records, "b") == pytest.approx((2.0, 1))
    ratio, not_holding = suites.claim_figures(records, "d")  # no ratio for a value <= 0
    assert math.isnan(ratio) and not_holding == 1
    with pytest.raises(suites.NotApplicable, match="needs CUDA"):
        suites.claim_figures(records, "c")
