"""The claim registry, the verdict rule, and every check run for real on tiny runs."""

import dataclasses
import json
import math

import pytest
import torch
from conftest import assert_one_line_error

from dropbench import suites
from dropbench.claims import CLAIMS, accuracy, get_claims, speedup
from dropbench.claims.base import Claim, Condition, Evidence, verdict
from dropbench.claims.context import ClaimContext, plan_names
from dropbench.claims.record import ClaimRecord
from dropbench.claims.runner import check_claims
from dropbench.data import load_dataset
from dropbench.dataset import Dataset, Split
from dropbench.runs import RunSpec
from dropbench.errors import ConfigError
from dropbench.profiles import fingerprint, load_profile
from dropbench.plans.specs import load_plan, plan_checks, run_specs
from dropbench.train import TrainConfig

RECORD_KEYS = {"id", "paper", "claim", "claimed", "measured", "ci", "unit", "verdict", "profile", "fingerprint", "setup", "explanation", "seeds", "control"}
QUICK = plan_checks(load_plan("quick"))
QUICK_SPECS = run_specs(load_plan("quick"))
SELECTING = ["kubo2016-runtime", "molchanov2017-lenet300", "gomez2019-pruning", "knodt2022-width"]  # the claims that choose something


def test_registry_covers_the_papers_and_resolves_in_both_plans():
    assert [c.id for c in CLAIMS] == [
        "kubo2016-runtime", "song2018-mlp-training", "song2018-lstm-training",
        "molchanov2017-lenet300", "molchanov2017-lenet5", "gomez2019-pruning", "knodt2022-width",
    ]
    for name in ("quick", "full"):
        specs = run_specs(load_plan(name))
        for claim in CLAIMS:
            assert all(plan_names(binding, specs) for binding in claim.runs.values()), (claim.id, name)
    assert len(plan_names("dropout-compaction-", QUICK_SPECS)) == 3  # the prior-strength sweep


def test_verdict_rule():
    claim = dataclasses.replace(CLAIMS[0], bound=2.0)
    assert verdict(claim, Evidence(2.5, (2.1, 3.0), "")) == ("holds", "")
    assert verdict(claim, Evidence(2.2, (1.5, 2.5), ""))[0] == "inconclusive"
    assert verdict(claim, Evidence(1.5, (1.0, 1.9), ""))[0] == "fails"
    assert verdict(claim, Evidence(2.5, (2.1, 3.0), "", [Condition("accuracy", 2.0, (1.5, 2.5), 1.0)]))[0] == "fails"


def drop(low: float, high: float) -> Condition:
    """An accuracy drop of 0.5 points (its point estimate always within the 1-point margin), with an interval."""
    return Condition("test accuracy within 1 point", 0.5, (low, high), 1.0)


@pytest.mark.parametrize(("low", "high", "state", "expected"), [
    (0.1, 0.9, "met", "holds"),  # the whole interval inside the margin: non-inferiority shown
    (-0.4, 1.9, "undecided", "inconclusive"),  # the point passes, the interval straddles the margin
    (1.2, 2.4, "violated", "fails"),  # the whole interval beyond the margin
])
def test_a_condition_is_decided_by_its_interval_not_its_point(low, high, state, expected):
    claim = dataclasses.replace(CLAIMS[0], bound=2.0)
    condition = drop(low, high)
    assert condition.state == state
    result, reason = verdict(claim, Evidence(2.5, (2.1, 3.0), "", [condition]))
    assert result == expected
    assert (reason == "") == (expected == "holds")
    if expected == "inconclusive":
        assert "(-0.4..1.9) straddles 1" in reason, reason
        # the interval reaches 1.4 above the estimate, which is 0.5 below the margin: (1.4 / 0.5)^2 = 7.8x the evidence
        assert "about 7.8x the evidence" in reason, reason


def test_an_estimate_next_to_its_margin_says_no_realistic_evidence_decides_it():
    """knodt on the full plan: 50.4 % removable (CI 0..77 %) against 50 % would need 16,641x the evidence."""
    near = Condition("removable", 0.504, (0.0, 0.771), 0.5, at_most=False)
    assert near.state == "undecided" and near.evidence_to_decide() > 10_000
    assert near.undecided_words("its CI").endswith("straddles 0.5; its estimate sits 0.004 from the margin: over 100x the evidence would be needed")


def test_a_fraction_over_seeds_is_decided_by_its_interval():
    """"< 50 % of hidden units kept" over seeds: met only when the seeds' interval lies below 50 %."""
    from dropbench.claims.kubo import kept_condition

    assert kept_condition([0.30, 0.31, 0.32]).state == "met"
    assert kept_condition([0.30, 0.35]).state == "undecided"  # two seeds: t with 1 df, 12.7 standard errors wide
    assert kept_condition([0.45, 0.56]).state == "undecided"
    assert kept_condition([0.60, 0.61, 0.62]).state == "violated"


def test_a_value_timed_on_a_shared_machine_neither_holds_nor_fails():
    claim = dataclasses.replace(CLAIMS[0], bound=2.0)
    shared = ["round 1 shared the machine: other processes used 0.95 cores while it was timed"]
    for ci in ((2.1, 3.0), (1.0, 1.9)):  # clears the bound / lies wholly short of it: neither decides
        result, reason = verdict(claim, Evidence(2.5, ci, "", [drop(0.1, 0.9)], contended=shared))
        assert result == "inconclusive" and "timed while the machine was shared" in reason, reason
    # a violated accuracy condition does not rest on the timing: it still fails
    assert verdict(claim, Evidence(2.5, (2.1, 3.0), "", [drop(1.2, 2.4)], contended=shared))[0] == "fails"


def test_an_inconclusive_record_says_which_interval_straddles_what():
    claim = dataclasses.replace(CLAIMS[0], bound=2.0)
    result, reason = verdict(claim, Evidence(2.2, (1.5, 2.5), "", [drop(0.1, 0.9), drop(-0.4, 1.9)]))
    assert result == "inconclusive"
    assert "measured value (1.5..2.5) straddles 2" in reason and reason.count("condition undecided") == 1, reason
    condition = drop(-0.4, 1.9)
    assert Condition.from_dict(json.loads(json.dumps(condition.as_dict()))) == condition
    assert condition.as_dict()["state"] == "undecided"


def tiny_plan():
    """The quick plan's runs by name (with their seeds), each shrunk to seconds of training."""
    def shrink(spec):
        hidden = (16,) if spec.model == "lstm" else None if spec.model == "lenet5" else (48, 48)
        model = "mlp" if spec.model == "lenet5" else spec.model  # LeNet-5 checks run the same code on an MLP
        data = "digits" if model != "lstm" else spec.data
        epochs = 1 if model == "lstm" else 2
        return dataclasses.replace(spec, model=model, data=data, hidden=hidden, train=TrainConfig(epochs=epochs, batch_size=64))

    return [shrink(s) for s in QUICK_SPECS]


def tiny_context(**kwargs) -> ClaimContext:
    """Claims over the tiny plan, timed briefly (2 rounds of 20 ms: the checks' logic, not their figures)."""
    return ClaimContext(load_profile("cpu-1thread"), tiny_plan(), QUICK, **{"min_run_time": 0.02, "rounds": 2, **kwargs})


def premise_granted(monkeypatch):
    """Two epochs do not compact the tiny nets: grant kubo's premise (30 % of the units kept) so its timed path runs."""
    from dropbench.claims import kubo

    monkeypatch.setattr(kubo, "hidden_fraction", lambda baseline, candidate: 0.3)


def test_kubo_without_its_premise_is_inconclusive_and_times_nothing():
    record = check_claims([c for c in get_claims() if c.id == "kubo2016-runtime"], tiny_context())[0]
    assert record.verdict == "inconclusive" and record.measured is None and record.calibration is None
    assert "premise is not reached" in record.reason and "100.0%" in record.reason


def test_every_check_runs_for_real_on_tiny_runs(tmp_path, monkeypatch):
    premise_granted(monkeypatch)
    typed = check_claims(get_claims(), tiny_context())
    records = [r.as_dict() for r in typed]
    json.dumps(records, allow_nan=False)  # the --json output is strict JSON
    assert [ClaimRecord.from_dict(r) for r in records] == typed  # claims.json reads back as it was written
    for r in records:
        assert RECORD_KEYS <= set(r), r["id"]
        assert r["verdict"] in ("holds", "fails", "inconclusive"), (r["id"], r["explanation"], r.get("traceback"))
        assert math.isfinite(r["measured"]) and r["ci"][0] <= r["ci"][1], r["id"]
        assert (r["setup"]["plan"], r["setup"]["plan_sha256"]) == ("quick", QUICK.sha256) and r["setup"]["runs"], r["id"]
        assert r["seeds"] >= 2, r["id"]  # every accuracy figure spans the quick plan's seeds
        assert r["control"]["text"] and r["control"]["beaten"] in (True, False, None), r["id"]
        assert (r["calibration"] is not None) == (r["id"].startswith(("kubo", "song"))), r["id"]
        deployed = {"threads": 1, "ort_spinning": True, "one_model_per_process": True}  # how its runtimes were set up
        assert (r["setup"].get("timing") == deployed) == r["id"].startswith(("kubo", "song")), r["id"]
    by_id = {r["id"]: r for r in records}
    assert set(by_id["kubo2016-runtime"]["runs"]) == {"baseline", "reference", "candidate"}
    assert len(by_id["kubo2016-runtime"]["runs"]["candidate"]) == 2  # one directory per seed
    assert sorted(set(by_id["kubo2016-runtime"]["details"]["round_seeds"])) == [0, 1]  # the speedup's rounds span both seeds
    assert {row["p"] for row in by_id["song2018-mlp-training"]["details"]["rates"]} == {0.3, 0.5, 0.7}
    lstm = by_id["song2018-lstm-training"]
    assert sum("perplexity" in c["text"] for c in lstm["conditions"]) == 3  # the perplexity condition at every p
    assert sum(c["timed"] for c in lstm["conditions"]) == 2  # the saving at every rate but the main one's
    assert lstm["confidence"] == pytest.approx(1 - 0.05 / 6)  # the verdict's 5 % split over its six intervals
    assert by_id["gomez2019-pruning"]["confidence"] == 0.95 and by_id["kubo2016-runtime"]["confidence"] == pytest.approx(1 - 0.05 / 2)
    assert set(by_id["gomez2019-pruning"]["details"]["curves"]) == {"targeted", "dropout", "magnitude", "variational"}
    assert by_id["gomez2019-pruning"]["selection"]["rival"] in ("dropout", "magnitude")
    calibration = by_id["kubo2016-runtime"]["calibration"]
    assert calibration["ratio"] > 0 and len(calibration["rounds"]) == 2


def shuffled_test_labels(monkeypatch):
    """Make every classification data set the claims load carry permuted test labels."""
    def load(name: str) -> Dataset:
        data = load_dataset(name)
        if data.kind != "classification":
            return data
        permuted = data.test.y[torch.randperm(len(data.test.y), generator=torch.Generator().manual_seed(1))]
        return dataclasses.replace(data, test=Split(data.test.x, permuted))

    monkeypatch.setattr(accuracy, "load_dataset", load)


def test_shuffling_the_test_labels_changes_no_selection(monkeypatch):
    """Validation picks, test reports: every choice of every check reads the validation split only."""
    premise_granted(monkeypatch)
    claims = get_claims(SELECTING)
    honest = [r.as_dict() for r in check_claims(claims, tiny_context())]
    shuffled_test_labels(monkeypatch)
    shuffled = [r.as_dict() for r in check_claims(claims, tiny_context())]
    for a, b in zip(honest, shuffled):
        assert a["verdict"] != "error" and b["verdict"] != "error", (a["explanation"], b["explanation"])
        assert a["selection"] and a["selection"] == b["selection"], a["id"]
    # the shuffle did reach the test figures: the accuracy reported for the chosen run collapses
    kubo = [r["details"]["test_accuracy"][r["selection"]["run"]] for r in (honest[0], shuffled[0])]
    assert kubo[1] < kubo[0] - 20


def test_a_claim_false_by_construction_fails_and_a_true_one_holds():
    """Negative control: dropout is not 2.5x faster than dense (same shapes). Positive control:
    magnitude pruning of half the units of a 1024-wide net is faster, its interval clear of 1."""
    common = {"hidden": (1024, 1024), "train": TrainConfig(epochs=1), "seeds": (0,)}
    specs = [
        RunSpec("dense", "dense", **common),
        RunSpec("dropout", "dropout", {"p": 0.5}, **common),
        RunSpec("magnitude-unit", "magnitude", {"mode": "unit", "fraction": 0.5}, **common),
    ]
    context = ClaimContext(load_profile("cpu-1thread"), specs, QUICK, min_run_time=0.1, rounds=3)
    false_claim = Claim(
        id="dropout-faster", paper="-", claim="dropout makes inference 2.5x faster", metric="speedup", claimed=2.5, unit="x", bound=2.5,
        tolerance="", runs={"baseline": "dense", "candidate": "dropout"}, check=speedup.check,
    )
    true_claim = dataclasses.replace(false_claim, id="magnitude-faster", bound=1.0, runs={"baseline": "dense", "candidate": "magnitude-unit"})
    negative, positive = (r.as_dict() for r in check_claims([false_claim, true_claim], context))
    assert negative["verdict"] == "fails", negative["explanation"]
    assert positive["verdict"] == "holds" and positive["measured"] > 1 and positive["ci"][0] > 1, (positive["reason"], positive["explanation"])


def test_no_validation_split_is_not_run_with_a_reason(monkeypatch):
    """A data set that cannot give a validation split cannot have choices made on it: not-run, not a weaker check."""
    def without_val(name: str) -> Dataset:
        data = load_dataset(name)
        return dataclasses.replace(data, val=Split(data.val.x[:0], data.val.y[:0]))

    monkeypatch.setattr(accuracy, "load_dataset", without_val)
    [record] = check_claims(get_claims(["gomez2019-pruning"]), tiny_context())
    assert record.verdict == "not-run" and "has no labelled val split to choose on" in record.explanation, record.explanation


def test_too_few_seeds_is_not_run_with_a_reason():
    specs = [dataclasses.replace(s, seeds=()) if s.name == "dense" else s for s in tiny_plan()]
    [record] = check_claims(get_claims(["gomez2019-pruning"]), ClaimContext(load_profile("cpu-1thread"), specs, QUICK))
    assert record.verdict == "not-run" and "run 'dense' has 1 seed(s)" in record.explanation, record.explanation
    assert "Traceback" not in record.explanation


def test_a_check_that_raises_is_recorded_as_error():
    def broken(claim, ctx):
        raise RuntimeError("boom")

    claim = dataclasses.replace(CLAIMS[-1], check=broken)
    [record] = check_claims([claim], ClaimContext(load_profile("cpu-1thread"), QUICK_SPECS, QUICK))
    assert record.verdict == "error" and "RuntimeError: boom" in record.explanation


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
    def record(verdict: str, bound: float, measured: float | None, explanation: str = "") -> ClaimRecord:
        return ClaimRecord(id="-", paper="-", claim="-", metric="-", claimed=bound, bound=bound, tolerance="-", applies_to=["cpu"], unit="x",
                           profile="cpu-1thread", fingerprint={}, setup={}, verdict=verdict, measured=measured, explanation=explanation)

    records = {"a": record("holds", 2.5, 6.0), "b": record("fails", 0.2, 0.1), "c": record("not-run", 1.0, None, "needs CUDA"),
               "d": record("fails", 1.0, -2.0)}
    assert suites.claim_figures(records, "a") == pytest.approx((2.5 / 6.0, 0))
    assert suites.claim_figures(records, "b") == pytest.approx((2.0, 1))
    ratio, not_holding = suites.claim_figures(records, "d")  # no ratio for a value <= 0
    assert math.isnan(ratio) and not_holding == 1
    with pytest.raises(suites.NotApplicable, match="needs CUDA"):
        suites.claim_figures(records, "c")
