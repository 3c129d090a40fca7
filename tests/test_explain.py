"""Where the time goes (timing.explain): per-layer FLOPs that add up, causes named from the figures."""

from __future__ import annotations

import dataclasses

import pytest

from dropbench.checkpoint import load_checkpoint
from dropbench.cli import main
from dropbench.profiles import load_profile
from dropbench.timing import explain, inference
from dropbench.timing.explain import Breakdown, Layer, breakdown, cause
from dropbench.timing.measurement import Comparison, Measurement


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    out = tmp_path_factory.mktemp("explain") / "dense"
    assert main(["train", "--method", "dense", "--data", "digits", "--hidden", "48,32", "--epochs", "1", "--out", str(out), "--quiet"]) == 0
    assert main(["export", str(out)]) == 0
    return load_checkpoint(out)


@pytest.mark.parametrize("runtime", ["onnxruntime", "torch-eager"])
def test_every_layer_is_timed_and_their_flops_add_up_to_the_net(checkpoint, runtime):
    b = breakdown(checkpoint, runtime, 16, load_profile("cpu-1thread"))
    assert len(b.layers) == 3 and all(layer.seconds > 0 for layer in b.layers), b.layers
    first = b.layers[0]  # 16 x 64 inputs, 48 x 64 weights, 16 x 48 outputs (+ 48 biases), float32
    assert 4 * (16 * 64 + 48 * 64 + 16 * 48) <= first.bytes <= 4 * (16 * 64 + 48 * 64 + 16 * 48 + 48)
    assert sum(layer.flops for layer in b.layers) == pytest.approx(16 * checkpoint.metrics["flops"], rel=0.01)
    assert 0 < b.fixed_cost_s < sum(layer.seconds for layer in b.layers) * 10
    assert b.as_dict()["layers"][0]["gflops_per_s"] > 0


def test_a_runtime_it_cannot_profile_gives_none(checkpoint):
    assert breakdown(checkpoint, "torch-sparse", 16, load_profile("cpu-1thread")) is None


PROFILE = dataclasses.replace(load_profile("cpu-1thread"), peak_flops=None, bandwidth=None)  # no peak figures


def nets(fixed: float, layer_s: float, moved: float = 1e5) -> tuple[Breakdown, Breakdown]:
    dense = Breakdown("onnxruntime", 64, 10e-6, [Layer("a", 1e-3, 1e8, 1e6), Layer("b", 1e-3, 1e8, 1e6)])
    return dense, Breakdown("onnxruntime", 64, fixed, [Layer("a", 1e-4, 1e7, moved), Layer("b", layer_s, 1e7, moved)])


def test_causes_are_named_from_the_figures():
    dense, compact = nets(10e-6, 1e-4)
    assert cause(0.9, dense, compact, 2e-4, sparse=False, profile=PROFILE) is None  # at the goal: nothing to explain
    assert cause(0.5, dense, compact, 2e-4, sparse=False, profile=PROFILE).startswith("no single cause")
    dense, compact = nets(150e-6, 1e-4)
    assert cause(0.5, dense, compact, 3e-4, sparse=False, profile=PROFILE).startswith("fixed cost: 150 µs of its 300 µs")
    dense, compact = nets(10e-6, 1e-3)  # layer b: 10 GFLOP/s against the dense net's 100
    assert "kernels handle badly: b runs at 10.0 GFLOP/s, the dense net's at 100.0" in cause(0.5, dense, compact, 1.1e-3, sparse=False, profile=PROFILE)
    assert cause(0.1, None, None, 1e-3, sparse=True, profile=PROFILE).startswith("sparse format")
    assert cause(0.5, None, None, 1e-3, sparse=False, profile=PROFILE) == "not profiled in this runtime"


def test_the_roofline_needs_the_profiles_peaks_and_names_memory_bound_nets():
    dense, compact = nets(10e-6, 1e-4, moved=1e7)  # 1e7 FLOPs on 1e7 bytes per layer
    assert compact.roofline_s(PROFILE) is None and not compact.memory_bound(PROFILE)
    known = dataclasses.replace(PROFILE, peak_flops=1e11, bandwidth=1e10)  # 10 FLOPs per byte at the ridge
    assert compact.roofline_s(known) == pytest.approx(2 * 1e7 / 1e10)
    assert compact.memory_bound(known) and not dense.memory_bound(known)
    assert "memory bound" in cause(0.5, dense, compact, 2e-4, sparse=False, profile=known)


def test_records_against_one_baseline_profile_it_once(checkpoint, monkeypatch):
    profiled = []
    monkeypatch.setattr(explain, "breakdown", lambda net, runtime, batch, profile: profiled.append((net.path, runtime)))
    timed = Measurement("x", [1e-3] * 6)
    monkeypatch.setattr(inference, "compare_checkpoints", lambda *args: Comparison(timed, timed, 1.0, (0.9, 1.1), [1.0, 1.0, 1.0]))
    profile, breakdowns = load_profile("cpu-1thread"), explain.Breakdowns()
    for name in ("a", "b"):
        candidate = dataclasses.replace(checkpoint, path=checkpoint.path.parent / name)
        inference.speedup_record(checkpoint, candidate, profile, "onnxruntime", 64, 0.1, breakdowns=breakdowns)
    assert [path.name for path, _ in profiled] == ["dense", "a", "b"]


def record(candidate: str, runtime: str, speedup: float, realisation: float, baseline_s: float = 1e-3, **where) -> dict:
    return {"candidate": candidate, "baseline": "dense", "runtime": runtime, "speedup": speedup, "ci": [speedup - 0.15, speedup + 0.15],
            "realisation": realisation, "baseline_timing": {"median_s": baseline_s}, "profile": "cpu-2thread", "batch": 64, **where}


def test_targets_flag_the_best_runtime_and_the_slower_ones_and_leave_out_fast_baselines():
    records = [
        record("dense", "onnxruntime", 1.0, 1.0, baseline="dense"),  # the A/A calibration
        record("a", "onnxruntime", 1.9, 0.95), record("a", "torch-eager", 0.9, 0.45), record("a", "torch-compile", 0.8, 0.4),
        record("b", "onnxruntime", 1.2, 0.6), record("b", "torch-eager", 3.0, 0.7, baseline_s=50e-6),
        record("b", "torch-compile", 0, 0, skipped="no compiler"), record("a", "onnxruntime", 1.9, 0.95, batch=1),
        record("a", "onnxruntime", 1.9, 0.95, profile="cpu-1thread"),
    ]
    flags = {(r["candidate"], r["runtime"]): f for r, f in explain.against_targets(records, "cpu-2thread", 64)}
    assert flags == {
        ("a", "onnxruntime"): ["meets >= 0.8 on its best runtime"],
        ("a", "torch-eager"): ["slower than dense (its interval reaches 1)"],
        ("a", "torch-compile"): ["slower than dense"],
        ("b", "onnxruntime"): ["misses >= 0.8 on its best runtime"],
        ("b", "torch-eager"): ["no target: its dense baseline takes 50 µs, under 100 µs"],
    }
