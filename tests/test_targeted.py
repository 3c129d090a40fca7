from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from dropbench.checkpoint import load_checkpoint
from dropbench.data import load_dataset
from dropbench.claims.gomez import pruning_comparison
from dropbench.errors import ConfigError
from dropbench.methods import get_method, plain_model
from dropbench.methods.targeted import (
    TargetedUnitDropout,
    TargetedWeightDropout,
    Targeting,
)
from dropbench.models import build_model, default_arch
from dropbench.pruning import PRUNING_FRACTIONS
from dropbench.runs import RunSpec, train_run
from dropbench.train import TrainConfig, fit


def bottom_per_row(w: torch.Tensor, gamma: float) -> torch.Tensor:
    """The candidates written out longhand: in each row (output unit) the k smallest |w|."""
    k = int(gamma * w.shape[1])
    ranks = w.abs().argsort(dim=1).argsort(dim=1)
    return ranks < k


def test_weight_targeting_is_per_output_unit():
    torch.manual_seed(0)
    w = torch.randn(6, 10)  # [out, in], not square: rows and columns cannot be confused
    dropout = TargetedWeightDropout(Targeting(gamma=0.3, alpha=1.0)).train()
    zeroed = dropout(w) == 0
    assert torch.equal(zeroed, bottom_per_row(w, 0.3))  # alpha = 1: exactly the candidates
    assert not torch.equal(zeroed, bottom_per_row(w.T, 0.3).T)  # the TF-layout porting error
    dropout.targeting.alpha = 0.5
    ever = torch.zeros_like(zeroed)
    for _ in range(50):
        ever |= dropout(w) == 0
    assert torch.equal(ever, bottom_per_row(w, 0.3))  # only candidates, and each of them at some step
    assert torch.equal(dropout.eval()(w), w)


def test_unit_targeting_drops_only_the_lowest_norm_units():
    torch.manual_seed(0)
    layer = nn.Linear(5, 8)
    with torch.no_grad():
        layer.weight.mul_(torch.arange(1, 9).float()[:, None])  # unit norms grow with the index
    dropout = TargetedUnitDropout(layer, Targeting(gamma=0.25, alpha=0.5)).train()
    x = torch.ones(4, 8)
    ever = torch.zeros(8, dtype=torch.bool)
    for _ in range(50):
        out = dropout(x)
        assert (out == out[0]).all()  # one mask per step, shared by the batch
        ever |= out[0] == 0
    assert ever.tolist() == [True, True] + [False] * 6


@pytest.mark.parametrize("mode", ["weight", "unit"])
def test_alpha_zero_trains_exactly_like_plain_training(mode):
    data = load_dataset("digits")
    arch = default_arch("mlp", data, [16, 16])
    config = TrainConfig(epochs=1, batch_size=128)
    torch.manual_seed(0)
    plain = build_model(arch)
    fit(plain, data, config)
    method = get_method("targeted", {"mode": mode, "alpha": 0.0})
    torch.manual_seed(0)
    module = method.prepare(build_model(arch))
    fit(module, data, config, method)
    method.compact(module, data)  # removes the parametrizations, leaving the trained weights
    targeted = plain_model(module).state_dict()
    assert all(torch.equal(targeted[k], v) for k, v in plain.state_dict().items())


def test_ramp_raises_gamma_and_alpha_from_zero():
    method = get_method("targeted", {"gamma": 0.6, "alpha": 0.4, "ramp": 0.5})
    method.prepare(build_model({"kind": "mlp", "input_shape": [4], "widths": [4, 4, 4, 2]}))
    assert (method.targeting.gamma, method.targeting.alpha) == (0.0, 0.0)
    assert method._schedule(0.25) == pytest.approx((0.3, 0.2))
    assert method._schedule(0.9) == pytest.approx((0.6, 0.4))


@pytest.mark.parametrize("mode", ["weight", "unit"])
def test_compacted_equals_the_trained_net_with_pruned_parts_masked(mode):
    data = load_dataset("digits")
    method = get_method("targeted", {"mode": mode, "prune_fraction": 0.5})
    torch.manual_seed(0)
    module = method.prepare(build_model(default_arch("mlp", data, [24, 20, 18])))
    fit(module, data, TrainConfig(epochs=1), method)
    compacted = method.compact(module, data)
    trained = plain_model(module)
    inner = range(1, len(trained.layers) - 1)  # the input and the output layer are never pruned
    if mode == "unit":  # zero the activations of the lowest-norm half of each inner layer
        assert compacted.model.hidden_sizes() == [24, 10, 9]
        for i in inner:
            norms = trained.layers[i].weight.norm(dim=1)
            trained.sites[i] = MaskUnits((norms >= norms.sort().values[len(norms) // 2]).float())
    else:  # zero the smallest half of each output unit's incoming weights, inner layers only
        with torch.no_grad():
            for i in inner:
                trained.layers[i].weight[bottom_per_row(trained.layers[i].weight, 0.5)] = 0
        for i in (0, len(trained.layers) - 1):
            assert torch.equal(compacted.model.layers[i].weight, trained.layers[i].weight)
            assert bool(trained.layers[i].weight.ne(0).all())
    x = data.test.x[:64]
    with torch.no_grad():
        assert (compacted.model(x) - trained(x)).abs().max() <= 1e-5
    assert [r["fraction"] for r in compacted.curves["pruning"][mode]] == list(PRUNING_FRACTIONS)


@pytest.mark.parametrize("mode", ["weight", "unit"])
def test_input_and_output_layers_are_never_targeted(mode):
    data = load_dataset("digits")
    method = get_method("targeted", {"mode": mode, "gamma": 1.0, "alpha": 1.0})  # every candidate always dropped
    model = method.prepare(build_model(default_arch("mlp", data, [12, 10])))
    first, last = model.layers[0], model.layers[-1]
    assert not parametrize.is_parametrized(first) and not parametrize.is_parametrized(last)
    assert isinstance(model.sites[0], nn.Identity)  # the input layer's units
    if mode == "weight":
        assert bool(model.train().layers[1].weight.eq(0).all())  # the one inner layer: fully targeted
    else:
        assert isinstance(model.sites[1], TargetedUnitDropout)


def test_targeted_dropout_needs_an_inner_layer():
    data = load_dataset("digits")
    with pytest.raises(ConfigError, match="at least two hidden layers"):
        get_method("targeted", {}).prepare(build_model(default_arch("mlp", data, [12])))


class MaskUnits(nn.Module):
    def __init__(self, keep: torch.Tensor):
        super().__init__()
        self.keep = keep

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.keep


def test_pruning_comparison_against_dropout_magnitude_and_a_regulariser(tmp_path):
    def run(name: str, method: str, params: dict, epochs: int = 1):
        spec = RunSpec(name, method, params, data="digits", hidden=(16, 16), train=TrainConfig(epochs=epochs))
        return load_checkpoint(train_run(spec, tmp_path / name))

    targeted, dropout, dense = run("targeted", "targeted", {"mode": "unit"}), run("dropout", "dropout", {}), run("dense", "dense", {})
    variational = run("variational", "variational", {"kl_weight": 0.1})
    result = pruning_comparison(targeted, {"dropout": dropout, "magnitude": dense, "variational": variational})
    assert result["fractions"] == list(PRUNING_FRACTIONS)
    for label in ("targeted", "dropout", "magnitude", "variational"):
        for mode in ("unit", "weight"):
            assert [r["fraction"] for r in result["curves"][label][mode]] == list(PRUNING_FRACTIONS)
    assert result["curves"]["magnitude"]["unit"][0]["accuracy"] == pytest.approx(dense.metrics["accuracy"])
    with pytest.raises(ConfigError, match="needs a 'dropout' run"):
        pruning_comparison(targeted, {"dropout": dense, "magnitude": dense})
    with pytest.raises(ConfigError, match="training budget"):
        pruning_comparison(targeted, {"dropout": dropout, "magnitude": run("dense-longer", "dense", {}, epochs=2)})
