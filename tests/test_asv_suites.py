"""The asv suites' library (dropbench.suites) and one real asv run of a subset with this interpreter."""

from __future__ import annotations

import dataclasses
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from conftest import TINY_RUNS, write_plan
from dropbench import suites
from dropbench.catalog import TRAINING_RATES
from dropbench.checkpoint import load_checkpoint
from dropbench.errors import ConfigError, ProfileError
from dropbench.history import load_project, load_results, scratch_config
from dropbench.methods import METHODS
from dropbench.profiles import hardware, list_profiles
from dropbench.plans.specs import baseline_for, load_plan, run_specs
from dropbench.runtimes import default_runtimes, torch_threads
from dropbench.train import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only path")


@pytest.fixture(autouse=True)
def cpu_profile(monkeypatch):
    monkeypatch.setenv("DROPBENCH_PROFILE", "cpu-2thread")
    monkeypatch.setattr(suites, "SPEEDUP_MIN_RUN_TIME", 0.02)
    yield
    suites.release_threads()  # what training_step / inference held for asv's timing: not for the next test


def tiny_specs():
    """Every checkpoint of the suites, shrunk: two hidden layers of 32, one epoch."""
    return [dataclasses.replace(s, hidden=(32, 32), train=TrainConfig(epochs=1)) for s in suites.checkpoint_specs()]


@pytest.fixture(scope="module")
def checkpoints() -> dict[str, str]:
    return suites.prepare_checkpoints(tiny_specs())


def test_grids_follow_the_registries():
    cases = suites.training_cases()
    for name, method in METHODS.items():
        has_rate = "p" in {f.name for f in dataclasses.fields(method.Config)}
        expected = [f"{name}-p{rate}" for rate in TRAINING_RATES] if has_rate else [name]
        assert all(case in cases and cases[case].method == name for case in expected)
    assert [cases[f"dropout-p{rate}"].params["p"] for rate in TRAINING_RATES] == list(TRAINING_RATES)
    assert suites.checkpoint_names() == [s.name for s in run_specs(load_plan("quick"))]
    assert "dense" not in suites.compacted_names() and set(suites.compacted_names()) < set(suites.checkpoint_names())
    assert suites.batch_sizes() == sorted({b for p in list_profiles() for b in p.batch_sizes})


def test_setups_hold_the_profiles_threads_for_the_timing_that_follows():
    with torch_threads(1):
        step = suites.training_step("dense", "mlp")
        assert torch.get_num_threads() == 2  # asv times `step` after the setup has returned
        step()
        suites.training_step("dense", "lenet5")  # a setup run again holds the same threads
        assert torch.get_num_threads() == 2
        suites.release_threads()
        assert torch.get_num_threads() == 1


def test_training_cases_run_on_every_model():
    spec = suites.training_spec("dropout-p0.3", "lstm")
    assert (spec.model, spec.data, spec.hidden, spec.params["p"]) == ("lstm", "pydoc-text", None, 0.3)
    step = suites.training_step("dense", "lenet5")
    step()
    with pytest.raises(suites.NotApplicable, match="dense is the baseline"):
        suites.training_time_ratio("dense", "mlp")
    ratio = suites.training_time_ratio("dropout-p0.5", "mlp")()
    assert ratio > 0 and math.isfinite(ratio)


def test_checkpoints_are_prepared_once_and_exported(checkpoints):
    assert list(checkpoints) == suites.checkpoint_names()
    for directory in checkpoints.values():
        assert "model.onnx" in load_checkpoint(directory).manifest["files"]
    written = {name: os.stat(Path(d) / "manifest.json").st_mtime_ns for name, d in checkpoints.items()}
    again = suites.prepare_checkpoints(tiny_specs())
    assert again == checkpoints
    assert {name: os.stat(Path(d) / "manifest.json").st_mtime_ns for name, d in again.items()} == written


def test_compaction_figures_are_relative_to_the_dense_baseline(checkpoints):
    specs = suites.checkpoint_specs()
    for spec in specs:
        figures = suites.compaction_figures(checkpoints, spec.name)
        baseline = baseline_for(spec, specs) or spec
        dense_params = load_checkpoint(checkpoints[baseline.name]).metrics["params"]
        assert 0 <= figures.test_error <= 100
        assert figures.nonzero_params <= figures.params
        assert figures.weights_kept == pytest.approx(100 * figures.nonzero_params / dense_params)
    dense = suites.compaction_figures(checkpoints, "dense")
    assert (dense.weights_kept, dense.flops_kept) == (100, 100)
    pruned = suites.compaction_figures(checkpoints, "magnitude-unit")
    assert pruned.params < dense.params and pruned.flops_kept < 100


def test_inference_runs_what_applies_and_skips_the_rest_with_a_reason(checkpoints):
    checkpoint = load_checkpoint(checkpoints["dense"])
    for runtime in suites.INFERENCE_RUNTIMES:
        if runtime in default_runtimes(checkpoint):
            suites.inference(checkpoints, "dense", runtime, 1, "cpu")()
        else:
            with pytest.raises(suites.NotApplicable, match=f"{runtime} does not apply"):
                suites.inference(checkpoints, "dense", runtime, 1, "cpu")
    with pytest.raises(NotImplementedError, match="not 1024"):  # what asv reports as skipped
        suites.inference(checkpoints, "dense", "torch-eager", 1024, "cpu")
    with pytest.raises(suites.NotApplicable, match="cuda timings come from a cuda profile .*gpu-h100"):
        suites.inference(checkpoints, "dense", "torch-eager", 1, "cuda")
    name = suites.compacted_names()[0]
    ratio = suites.inference_time_ratio(checkpoints, name, "onnxruntime", 64)()
    assert ratio > 0 and math.isfinite(ratio)


@NO_CUDA
def test_a_gpu_profile_on_a_cpu_machine_is_skipped_not_failed(monkeypatch):
    monkeypatch.setenv("DROPBENCH_PROFILE", "gpu-h100")
    with pytest.raises(suites.NotApplicable, match="needs CUDA, but this machine has none"):
        suites.training_step("dense", "mlp")


def test_an_unknown_profile_fails_the_benchmark(monkeypatch):
    monkeypatch.setenv("DROPBENCH_PROFILE", "cpu-64thread")
    with pytest.raises(ProfileError, match="unknown profile 'cpu-64thread'") as raised:
        suites.training_step("dense", "mlp")
    assert not isinstance(raised.value, NotImplementedError)


def test_asv_checks_and_runs_a_subset_with_this_interpreter(tmp_path):
    """asv discovers every suite, and a quick run's results read back through dropbench.history."""
    config = scratch_config(ROOT / "asv.conf.json", tmp_path)
    env = {**os.environ, "HOME": str(tmp_path), "ASV_PYTHONPATH": str(ROOT / "src"), "DROPBENCH_PROFILE": "cpu-1thread"}
    machine = subprocess.run(
        [sys.executable, "-m", "dropbench", "asv-machine", "cpu-1thread", "--quiet", "--config", str(config)],
        env={**env, "PYTHONPATH": str(ROOT / "src")},
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    asv = [sys.executable, "-m", "asv"]
    check = subprocess.run([*asv, "check", "--python=same", "--config", str(config)], cwd=ROOT, env=env, capture_output=True, text=True)
    assert check.returncode == 0 and "No problems found" in check.stdout, check.stdout + check.stderr
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    run = subprocess.run(
        [*asv, "run", "--python=same", "--quick", "--machine", machine, "--set-commit-hash", commit,
         "-b", r"^training\.TrainingStep\.peakmem_step", "--config", str(config)],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    [recorded] = load_results(load_project(ROOT / "asv.conf.json"), tmp_path / "results")
    assert (recorded.machine, recorded.profile, recorded.hardware, recorded.commit) == (machine, "cpu-1thread", hardware(), commit)
    measured = {tuple(v for _, v in value.params) for value in recorded.values if value.value > 0}
    assert measured == {(case, model) for case in suites.training_cases() for model in suites.TRAINING_DATA if applies(case, model)}


def applies(case: str, model: str) -> bool:
    """Whether a training case runs on a model (a method may not support it: asv skips those)."""
    try:
        suites.training_step(case, model)
    except suites.NotApplicable:
        return False
    return True


def test_asv_runs_can_be_narrowed_for_a_smoke(monkeypatch):
    monkeypatch.setenv(suites.ASV_RUNS_ENV, "dense, dropout-compaction-s1")
    assert suites.checkpoint_names() == ["dense", "dropout-compaction-s1"] and suites.compacted_names() == ["dropout-compaction-s1"]
    assert len(suites.training_cases()) > 2  # training steps need no checkpoint: every case stays
    monkeypatch.setenv(suites.ASV_RUNS_ENV, "dense,nope")
    with pytest.raises(ConfigError, match="nope: not runs of the plan"):
        suites.checkpoint_names()


def test_the_claims_suite_checks_the_whole_plan_whatever_asv_runs_names(monkeypatch, tmp_path):
    """asv_runs narrows the checkpoint suites; the claims need every run a claim binds."""
    monkeypatch.setenv(suites.PLAN_ENV, str(write_plan(tmp_path / "ci.toml", TINY_RUNS, asv_runs=["magnitude-unit"])))
    prepared, seen = [], {}
    monkeypatch.setattr(suites, "prepare_checkpoints", lambda specs=None: prepared.append([s.name for s in specs]))
    monkeypatch.setattr(suites, "prepare_seed_runs", lambda specs=None: prepared.append([s.name for s in specs]) or {})
    monkeypatch.setattr(suites, "check_claims", lambda claims, context: seen.setdefault("specs", [s.name for s in context.specs]) and [])
    suites.suite_plan.cache_clear()
    try:
        assert suites.checkpoint_names() == ["magnitude-unit"]
        suites.claim_records()
        assert prepared == [["dense", "magnitude-unit"]] * 2 and seen["specs"] == ["dense", "magnitude-unit"]
    finally:
        suites.suite_plan.cache_clear()


def test_the_suites_take_their_plan_from_the_environment(monkeypatch, tmp_path):
    plan = write_plan(tmp_path / "ci.toml", TINY_RUNS)
    monkeypatch.setenv(suites.PLAN_ENV, str(plan))
    suites.suite_plan.cache_clear()
    try:
        assert suites.checkpoint_names() == ["dense", "magnitude-unit"] and suites.compacted_names() == ["magnitude-unit"]
        write_plan(plan, TINY_RUNS, asv_runs=["magnitude-unit"])
        suites.suite_plan.cache_clear()
        assert suites.checkpoint_names() == ["magnitude-unit"] and suites.compacted_names() == []
        assert len(suites.training_cases()) > 3
        write_plan(plan, TINY_RUNS, asv_runs=["magnitude-unit"], asv_training=["dropout-p0.5", "targeted"])
        suites.suite_plan.cache_clear()
        cases = suites.training_cases()
        assert list(cases) == ["dense", "dropout-p0.5", "targeted"] and cases["dropout-p0.5"].params["p"] == 0.5
        monkeypatch.setenv(suites.ASV_RUNS_ENV, "dense")  # the environment narrows the plan's choice
        assert suites.checkpoint_names() == ["dense"]
        monkeypatch.delenv(suites.ASV_RUNS_ENV)
        with pytest.raises(suites.NotApplicable, match="kubo2016-runtime: the plan .DROPBENCH_PLAN. does not check it"):
            suites.claim_figures({}, "kubo2016-runtime")
        monkeypatch.setenv(suites.PLAN_ENV, str(tmp_path / "missing.toml"))
        suites.suite_plan.cache_clear()
        with pytest.raises(ConfigError, match="missing.toml does not exist"):
            suites.checkpoint_names()
    finally:
        suites.suite_plan.cache_clear()
