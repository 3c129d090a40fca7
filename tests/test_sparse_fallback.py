"""A layer the sparse runtime cannot run sparse runs dense, and the runner's timings say which and why."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from dropbench.checkpoint import Checkpoint
from dropbench.models import build_model
from dropbench.profiles import load_profile
from dropbench.runtimes import Runner, make_runner
from dropbench.runtimes.csr import csr_model, kept_dense
from dropbench.timing.latency import bench_checkpoint
from dropbench.timing.rounds import compare

MLP_ARCH = {"kind": "mlp", "input_shape": [1, 8, 8], "widths": [64, 20, 16, 10]}
LSTM_ARCH = {"kind": "lstm", "vocab": 9, "embed": 6, "hidden": [8], "seq_len": 4}


def sparse_checkpoint(densities: list[float], arch: dict = MLP_ARCH) -> Checkpoint:
    """A checkpoint (never written) whose Linear layers keep about these fractions of their weights."""
    torch.manual_seed(0)
    model = build_model(arch).eval()
    with torch.no_grad():
        for layer, density in zip((m for m in model.modules() if isinstance(m, nn.Linear)), densities):
            layer.weight.mul_(torch.rand_like(layer.weight) < density)
    metrics = {"params": 2, "nonzero_params": 1}  # sparse: the torch-sparse runtime applies
    return Checkpoint(Path("sparse"), {"name": "sparse", "arch": model.arch, "metrics": metrics}, model)


def test_a_layer_too_dense_for_sparse_kernels_is_kept_dense_and_named():
    checkpoint = sparse_checkpoint([0.05, 0.9, 0.05])
    converted = csr_model(checkpoint.model)
    assert [type(layer) is nn.Linear for layer in converted.layers] == [False, True, False]
    (words,) = kept_dense(checkpoint.model)
    assert words.startswith("layers.1: 9") and words.endswith("% non-zero, above the 10 % at which sparse pays; kept dense"), words


def test_layers_without_a_sparse_form_are_named():
    checkpoint = sparse_checkpoint([0.05], LSTM_ARCH)
    assert kept_dense(checkpoint.model) == ("embed: Embedding has no sparse form here; kept dense",
                                            "lstms.0: LSTM has no sparse form here; kept dense")


def test_the_measurement_names_the_layer_kept_dense():
    profile = load_profile("cpu-1thread")
    mixed, sparse = sparse_checkpoint([0.05, 0.9, 0.05]), sparse_checkpoint([0.05, 0.05, 0.05])
    (m,) = bench_checkpoint(mixed, profile, ["torch-sparse"], [4], min_run_time=0.01)
    assert any(w.startswith("layers.1: ") and "kept dense" in w for w in m.warnings), m.warnings
    assert any("kept dense" in w for w in m.as_dict()["warnings"])
    (m,) = bench_checkpoint(sparse, profile, ["torch-sparse"], [4], min_run_time=0.01)
    assert not any("kept dense" in w for w in m.warnings), m.warnings


def test_a_comparison_carries_each_runners_warnings_under_its_label():
    def quiet() -> Runner:
        return Runner(lambda: None)

    def fallback() -> Runner:
        return Runner(lambda: None, warnings=("fc: kept dense",))

    c = compare(quiet, fallback, ("dense", "sparse"), rounds=2, min_run_time=0.01, fresh_processes=False)
    assert "sparse: fc: kept dense" in c.warnings  # noise warnings may come on either side; fallbacks only from the runner
    assert not any(w.startswith("dense:") and "kept dense" in w for w in c.warnings)
    assert c.as_dict()["candidate_timing"]["warnings"][0] == "fc: kept dense"


def test_the_format_runtimes_compute_what_the_default_one_does():
    checkpoint, profile = sparse_checkpoint([0.05, 0.05, 0.05]), load_profile("cpu-1thread")
    default = make_runner("torch-sparse", checkpoint, 4, profile)()
    torch.testing.assert_close(make_runner("torch-sparse-torch-csr", checkpoint, 4, profile)(), default)
