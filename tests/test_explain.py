"""Where the time goes (timing.explain): per-layer FLOPs that add up, causes named from the figures."""

from __future__ import annotations

import pytest

from dropbench.checkpoint import load_checkpoint
from dropbench.cli import main
from dropbench.profiles import load_profile
from dropbench.timing.explain import Breakdown, Layer, breakdown, cause


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
    assert sum(layer.flops for layer in b.layers) == pytest.approx(16 * checkpoint.metrics["flops"], rel=0.01)
    assert 0 < b.fixed_cost_s < sum(layer.seconds for layer in b.layers) * 10
    assert b.as_dict()["layers"][0]["gflops_per_s"] > 0


def test_a_runtime_it_cannot_profile_gives_none(checkpoint):
    assert breakdown(checkpoint, "torch-sparse", 16, load_profile("cpu-1thread")) is None


def nets(fixed: float, layer_s: float) -> tuple[Breakdown, Breakdown]:
    dense = Breakdown("onnxruntime", 64, 10e-6, [Layer("a", 1e-3, 1e8), Layer("b", 1e-3, 1e8)])
    return dense, Breakdown("onnxruntime", 64, fixed, [Layer("a", 1e-4, 1e7), Layer("b", layer_s, 1e7)])


def test_causes_are_named_from_the_figures():
    dense, compact = nets(10e-6, 1e-4)
    assert cause(0.9, dense, compact, 2e-4, sparse=False) is None  # at the goal: nothing to explain
    assert cause(0.5, dense, compact, 2e-4, sparse=False).startswith("no single cause")
    dense, compact = nets(150e-6, 1e-4)
    assert cause(0.5, dense, compact, 3e-4, sparse=False).startswith("fixed cost: 150 µs of its 300 µs")
    dense, compact = nets(10e-6, 1e-3)  # layer b: 10 GFLOP/s against the dense net's 100
    assert "kernels handle badly: b runs at 10.0 GFLOP/s, the dense net's at 100.0" in cause(0.5, dense, compact, 1.1e-3, sparse=False)
    assert cause(0.1, None, None, 1e-3, sparse=True).startswith("sparse format")
    assert cause(0.5, None, None, 1e-3, sparse=False) == "not profiled in this runtime"
