"""Plans as files (issue 20): the built-in plans as TOML and back, every bad field one error line,
the plan's hash, and --data."""

from __future__ import annotations

import copy
import json
import tomllib
from pathlib import Path

import numpy as np
import pytest
from conftest import TINY_RUNS, assert_one_line_error, write_plan

from dropbench.data import SOURCES
from dropbench.limits import PLAN_MAX_BYTES
from dropbench.plans import files
from dropbench.plans.files import BUILTIN, overridden, plan_sha256, plan_toml, read_plan, validated
from dropbench.plans.checks import check_registries
from dropbench.plans.specs import load_plan, plan_checks, run_specs
from dropbench.plans.toml import dumps
from dropbench.schemas.plan import DATA_SETS

QUICK = read_plan("quick").model_dump()


@pytest.mark.parametrize("name", BUILTIN)
def test_plan_show_parses_back_to_the_built_in_plan(cli, tmp_path, name):
    shown = cli("plan", "show", name)
    assert shown.code == 0, shown.err
    assert validated(tomllib.loads(shown.out), "shown") == read_plan(name)
    mine = tmp_path / "my-plan.toml"
    mine.write_text(shown.out)
    assert read_plan(str(mine)) == read_plan(name) and plan_sha256(read_plan(str(mine))) == plan_sha256(read_plan(name))
    check_registries(read_plan(name), name)  # the catalogue accepts every method, parameter, model, claim and role


def test_the_built_in_plans_are_stored_as_plan_show_writes_them():
    for name in BUILTIN:
        plan = read_plan(name)
        assert plan_toml(plan).splitlines()[1] == f"# sha256 {plan_sha256(plan)}"
        assert plan_toml(plan) == (Path(files.__file__).with_name(f"{name}.toml")).read_text()


def test_the_schemas_names_follow_the_registries():
    assert DATA_SETS == tuple(SOURCES)  # the schema's copy: data.py imports numpy and the loaders


def test_the_torch_registries_agree_with_the_catalogue():
    """plan validate checks against the torch-free catalogue; what runs are the torch registries."""
    from dropbench.catalog import METHOD_CONFIGS
    from dropbench.claims import CLAIMS
    from dropbench.methods import METHODS
    from dropbench.plans.checks import CLAIM_ROLES

    assert list(METHODS) == list(METHOD_CONFIGS)
    assert all(method.Config is METHOD_CONFIGS[name] for name, method in METHODS.items())
    assert {claim.id: tuple(claim.runs) for claim in CLAIMS} == CLAIM_ROLES


def test_the_hash_is_stable_and_follows_every_change():
    quick = read_plan("quick")
    assert plan_sha256(quick) == plan_sha256(read_plan("quick")) == plan_sha256(validated(copy.deepcopy(QUICK), "again"))
    reseeded = copy.deepcopy(QUICK)
    reseeded["runs"][0]["seeds"] = [0, 2]
    assert plan_sha256(validated(reseeded, "reseeded")) != plan_sha256(quick)
    assert plan_sha256(overridden(quick, seeds=(0, 1, 2))) != plan_sha256(quick)
    assert plan_sha256(overridden(quick, data="mnist1d")) != plan_sha256(quick)
    written = {k: v for k, v in QUICK.items() if k != "profiles"}  # a default left out is the same plan
    assert plan_sha256(validated(written, "defaults")) == plan_sha256(quick)
    assert plan_checks(quick).sha256 == plan_sha256(quick)


def test_data_replaces_the_data_of_every_run_that_pins_none():
    quick = read_plan("quick")
    before = {spec.name: spec.data for spec in run_specs(quick)}
    after = {spec.name: spec.data for spec in run_specs(overridden(quick, data="mnist1d"))}
    assert before["dense"] == "digits" and after["dense"] == "mnist1d"
    pinned = {run.name for run in quick.runs if run.data}
    assert pinned and {"dense-lenet5", "lstm-dropout"} <= pinned
    assert all(after[name] == before[name] for name in pinned)  # the LeNets keep mnist-5k, the LSTM its text
    assert all(after[name] == "mnist1d" for name in after if name not in pinned)


def test_user_data_in_a_plan_is_read_before_anything_trains(tmp_path, cli):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "mine.npz", x=rng.random((60, 4)).astype(np.float32), y=np.arange(60) % 3)
    plan = write_plan(tmp_path / "plan.toml", TINY_RUNS, data=f"npz:{tmp_path / 'mine.npz'}")
    assert {spec.data for spec in run_specs(load_plan(str(plan)))} == {f"npz:{tmp_path / 'mine.npz'}"}
    out = tmp_path / "out"
    result = cli("reproduce", "--plan", plan, "--data", f"npz:{tmp_path / 'missing.npz'}", "--out", out)
    assert_one_line_error(result, "missing.npz: no such file")
    assert not out.exists()


def mutated(change) -> dict:
    plan = copy.deepcopy(QUICK)
    change(plan)
    return plan


def run0(**fields):
    return lambda plan: plan["runs"][0].update(fields)


def train0(**fields):
    return lambda plan: plan["runs"][0]["train"].update(fields)


def bind(claim: str, role: str, binding):
    return lambda plan: plan["claims"][claim].update({role: binding})


BAD = {
    "unknown key": (lambda plan: plan.update(sedds=[0]), "field sedds: Extra inputs are not permitted"),
    "unknown run key": (run0(hiden=[8]), "field runs[0] ('dense').hiden: Extra inputs are not permitted"),
    "unknown method": (run0(method="dropconnect"), "field runs[0] ('dense').method: unknown method 'dropconnect'"),
    "unknown parameter": (lambda plan: plan["runs"][1]["params"].update(q=0.5), "runs[1] ('dropout-p0.3').params: method 'dropout' has no parameter 'q'"),
    "parameter out of range": (lambda plan: plan["runs"][1]["params"].update(p=1.5), "runs[1] ('dropout-p0.3').params: method 'dropout': p must be in [0, 1)"),
    "unknown model": (run0(model="resnet"), "field runs[0] ('dense').model: unknown model 'resnet'"),
    "run name twice": (lambda plan: plan["runs"][1].update(name="dense"), "the run name 'dense' is used twice"),
    "role unbound": (lambda plan: plan["claims"]["kubo2016-runtime"].pop("sweep"), "field claims.kubo2016-runtime.sweep: role left unbound"),
    "unknown role": (bind("kubo2016-runtime", "baseline", "dense"), "claims.kubo2016-runtime.baseline: the claim has no such role"),
    "bound to a missing run": (bind("kubo2016-runtime", "dense", "dense-wide"), "claims.kubo2016-runtime.dense: bound to 'dense-wide', which names no run"),
    "a missing run among several": (bind("song2018-mlp-training", "dropout", ["dropout", "dropout-p0.9"]), "bound to 'dropout-p0.9', which names no run"),
    "unknown claim": (lambda plan: plan["claims"].update({"hinton2012": {"dense": "dense"}}), "field claims.hinton2012: unknown claim"),
    "too few seeds": (run0(seeds=[0]), "claims.kubo2016-runtime.dense: run 'dense' has 1 seed(s); a verdict needs 2 (min_seeds)"),
    "repeated seeds": (run0(seeds=[1, 1]), "field runs[0] ('dense').seeds: seeds must be distinct"),
    "seed out of range": (run0(seeds=[0, -1]), "field runs[0] ('dense').seeds[1]: Input should be greater than or equal to 0"),
    "epochs out of range": (train0(epochs=0), "field runs[0] ('dense').train.epochs: Input should be greater than or equal to 1"),
    "lr out of range": (train0(lr=1e9), "field runs[0] ('dense').train.lr: Input should be less than or equal to 100"),
    "a string for a number": (train0(batch_size="64"), "field runs[0] ('dense').train.batch_size: Input should be a valid integer"),
    "unknown optimizer": (train0(optimizer="lion"), "field runs[0] ('dense').train.optimizer: Input should be 'adam' or 'sgd'"),
    "a number for a run name": (bind("kubo2016-runtime", "sweep", 5), "field claims.kubo2016-runtime.sweep: expected a string or a list of them"),
    "a list for a parameter": (lambda plan: plan["runs"][1]["params"].update(p=[0.5]), "expected true or false or an integer or a number or a string"),
    "unknown data set": (lambda plan: plan.update(data="cifar10"), "field data: unknown data set 'cifar10'"),
    "unknown pinned data set": (run0(data="imagenet"), "field runs[0] ('dense').data: unknown data set 'imagenet'"),
    "min_seeds out of range": (lambda plan: plan.update(min_seeds=0), "field min_seeds: Input should be greater than or equal to 1"),
    "no runs": (lambda plan: plan.update(runs=[], claims={}), "field runs: Field required"),
    "timing a missing run": (lambda plan: plan.update(asv_runs=["dense", "nope"]), "field asv_runs: 'nope' names no run of the plan"),
    "an unknown training case": (lambda plan: plan.update(asv_training=["dropout-p0.4"]), "field asv_training: unknown training case 'dropout-p0.4'"),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_every_bad_field_is_one_error_line_naming_file_and_field(tmp_path, cli, case):
    change, words = BAD[case]
    path = tmp_path / "bad.toml"
    path.write_text(dumps(mutated(change)))
    out = tmp_path / "out"
    for command in (["reproduce", "--plan", path, "--out", out], ["claims", "--plan", path], ["plan", "validate", path]):
        assert_one_line_error(cli(*command), f"{path}: ", words)
    assert not out.exists()  # nothing trained, nothing written


@pytest.mark.parametrize(("text", "words"), [
    ("name = 'x'\nruns = [\n", "is not a TOML plan"),
    ("name = 'x'\n" + "a = " + "[" * 40 + "]" * 40 + "\n", "nests deeper than 32 levels"),
    ("# padding\n" * (PLAN_MAX_BYTES // 10 + 1), "more than the 1,048,576 allowed"),
    ("\xff\xfe", "is not a TOML plan"),
])
def test_a_file_that_is_no_plan_is_one_error_line(tmp_path, cli, text, words):
    path = tmp_path / "bad.toml"
    path.write_bytes(text.encode("latin-1"))
    assert_one_line_error(cli("reproduce", "--plan", path, "--out", tmp_path / "out"), str(path), words)
    assert not (tmp_path / "out").exists()


def test_plan_and_quick_together_and_a_bad_data_override_are_one_error_line(cli, tmp_path):
    assert_one_line_error(cli("claims", "--plan", "full", "--quick"), "not both")
    assert_one_line_error(cli("reproduce", "--quick", "--data", "cifar10", "--out", tmp_path / "out"), "field data: unknown data set 'cifar10'")
    assert_one_line_error(cli("reproduce", "--quick", "--seeds", "3", "--out", tmp_path / "out"), "run 'dense' has 1 seed(s); a verdict needs 2")
    assert_one_line_error(cli("plan", "show", "nope"), "nope does not exist")
    assert not (tmp_path / "out").exists()


def test_the_paper_plan_says_what_data_to_pass_before_anything_trains(cli, tmp_path):
    out = tmp_path / "out"
    assert_one_line_error(cli("reproduce", "--plan", "paper", "--out", out), "idx:mnist: no such directory", "pass --data idx:DIR")
    assert not out.exists()
    assert {run.train.schedule for run in read_plan("paper").runs} == {"linear", "constant"}


def test_the_paper_plans_code_path_runs_on_mnist_5k_with_its_epochs_shortened(cli, tmp_path):
    """The paper plan as a user would shorten it: one epoch, one seed, mnist-5k; its three claims checked for real."""
    paper = read_plan("paper").model_dump()
    for run in paper["runs"]:
        run["train"]["epochs"], run["seeds"] = 1, [0]
        if run["method"] == "structural":
            run["params"]["sweep_points"] = 8  # not every width: seconds, not minutes
    paper.update(data="mnist-5k", min_seeds=1)
    path = tmp_path / "short.toml"
    path.write_text(dumps(paper))
    result = cli("claims", "--plan", path, "--profile", "cpu-1thread", "--json", tmp_path / "claims.json", "--quiet")
    assert result.code == 0, result.err
    records = {r["id"]: r for r in json.loads((tmp_path / "claims.json").read_text())}
    assert set(records) == {"molchanov2017-lenet300", "molchanov2017-lenet5", "knodt2022-width"}
    assert all(r["verdict"] in ("holds", "fails", "inconclusive") for r in records.values()), records
    assert {r["setup"]["plan_sha256"] for r in records.values()} == {plan_sha256(read_plan(str(path)))}
    vd = records["molchanov2017-lenet300"]["setup"]["runs"]["variational-lenet-300-100-kl1"]
    assert (vd["train"]["schedule"], vd["train"]["hold"], vd["data"], vd["params"]["kl_weight"]) == ("linear", 0.5, "mnist-5k", 1.0)
