"""variational: the KL term, the test-time mask, the local reparameterisation, compaction, CSR inference."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from dropbench.checkpoint import load_checkpoint
from dropbench.cli import main
from dropbench.runtimes.csr import FORMATS, csr_model
from dropbench.data import load_dataset
from dropbench.methods import get_method
from dropbench.methods.variational import Conv2dSVDO, LinearSVDO, kl_approximation, svdo_layers
from dropbench.models import build_model
from dropbench.profiles import load_profile
from dropbench.pruning import remove_unconnected_units, remove_unread_inputs
from dropbench.runtimes import make_runner
from dropbench.train import evaluate, predict

LENET_ARCH = {"kind": "lenet5", "input_shape": [1, 28, 28], "conv": [6, 8], "fc": [12], "classes": 10, "kernel": 5, "padding": 0}
MLP_ARCH = {"kind": "mlp", "input_shape": [1, 8, 8], "widths": [64, 20, 16, 10]}


def test_kl_matches_the_papers_formula():
    k1, k2, k3 = 0.63576, 1.87320, 1.48695
    for log_alpha in (-8.0, -2.5, 0.0, 3.0, 8.0):
        neg_kl = k1 / (1 + math.exp(-(k2 + k3 * log_alpha))) - 0.5 * math.log1p(math.exp(-log_alpha)) - k1
        assert kl_approximation(torch.tensor(log_alpha, dtype=torch.float64)).item() == pytest.approx(-neg_kl, rel=1e-12)


def test_layer_kl_sums_the_clipped_log_alpha():
    layer = LinearSVDO(nn.Linear(3, 2))
    with torch.no_grad():
        layer.weight.fill_(1.0)  # log theta^2 = 0, so log alpha = log sigma^2 (then clipped)
        layer.log_sigma2.copy_(torch.tensor([[-12.0, -1.0, 0.5], [2.0, 7.0, 20.0]]))
    expected = sum(kl_approximation(torch.tensor(v)) for v in (-8.0, -1.0, 0.5, 2.0, 7.0, 8.0))
    assert layer.kl().item() == pytest.approx(expected.item(), rel=1e-6)


def test_the_steps_kl_reuses_the_forwards_log_alpha_with_the_same_value_and_gradient():
    layer = LinearSVDO(nn.Linear(6, 4)).train()
    with torch.no_grad():
        layer.log_sigma2.uniform_(-6.0, 4.0)
    layer(torch.randn(5, 6))
    reused = layer.kl()  # consumes the forward's log alpha
    assert "forward_log_alpha" not in layer.__dict__
    grads = torch.autograd.grad(reused, [layer.weight, layer.log_sigma2])
    fresh = layer.kl()
    assert torch.equal(reused, fresh)
    assert all(torch.equal(a, b) for a, b in zip(grads, torch.autograd.grad(fresh, [layer.weight, layer.log_sigma2])))


def test_weights_with_log_alpha_at_least_3_are_zero_in_eval_mode():
    layer = LinearSVDO(nn.Linear(4, 3)).eval()
    with torch.no_grad():
        layer.weight.fill_(1.0)
        layer.log_sigma2.copy_(torch.tensor([[2.99, 3.0, 3.01, 7.0], [-9.0, 3.5, 0.0, 2.0], [3.0, 3.0, 3.0, 3.0]]))
    dropped = torch.tensor([[0, 1, 1, 1], [0, 1, 0, 0], [1, 1, 1, 1]], dtype=torch.bool)
    assert torch.equal(layer.sparse_weight() == 0, dropped)
    x = torch.randn(5, 4)
    torch.testing.assert_close(layer(x), x @ (~dropped).float().t() + layer.bias)
    assert torch.equal(layer(x), layer(x))  # deterministic at test time


@pytest.mark.parametrize("kind", ["linear", "conv"])
def test_lrt_mean_and_variance_match_sampled_weights(kind):
    torch.manual_seed(0)
    if kind == "linear":
        layer, x = LinearSVDO(nn.Linear(6, 3)), torch.rand(2, 6, dtype=torch.float64)
        patches = x[:, :, None]  # [samples, fan_in, positions]
    else:
        layer, x = Conv2dSVDO(nn.Conv2d(2, 3, 3)), torch.rand(2, 2, 4, 4, dtype=torch.float64)
        patches = nn.functional.unfold(x, 3)
    layer = layer.double().train()
    with torch.no_grad():
        layer.log_sigma2.copy_(torch.log(layer.weight**2) + torch.empty_like(layer.weight).uniform_(-2, 1))  # alpha in [e^-2, e]
    draws = 20000
    with torch.no_grad():
        lrt = layer(x.repeat(draws, *[1] * (x.dim() - 1))).reshape(draws, len(x), 3, -1)  # independent noise per row
        sigma = (layer.log_alpha().exp() * layer.weight**2).sqrt().flatten(1)
        weights = layer.weight.flatten(1) + sigma * torch.randn(draws, *sigma.shape, dtype=torch.float64)
        sampled = torch.einsum("dof,bfl->dbol", weights, patches) + layer.bias[:, None]
    # both estimate the same Gaussian: compare means in units of its standard deviation, variances relatively
    sd = sampled.std(0)
    assert ((lrt.mean(0) - sampled.mean(0)).abs() / sd).max() < 0.05
    assert (lrt.var(0) / sampled.var(0)).sub(1).abs().max() < 0.06


def sparse_copy(arch: dict, density: float, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    model = build_model(arch)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("weight"):
                p.mul_(torch.rand_like(p) < density)
            else:
                p.uniform_(-0.5, 0.5)
    return model.eval()


def test_structural_compaction_removes_cut_off_units_and_pixels_exactly():
    model = sparse_copy(MLP_ARCH, 0.5)
    with torch.no_grad():
        model.layers[0].weight[:5] = 0  # silent units: constant relu(bias), folded into layer 1's bias
        model.layers[0].bias[:5] = torch.tensor([1.0, -1.0, 0.5, 2.0, 0.0])
        model.layers[2].weight[:, :4] = 0  # units of layer 1 that nothing reads ...
        model.layers[1].weight[:, 5:7] = 0  # ... which leaves units 5, 6 of layer 0 unread as well
        model.layers[0].weight[:, 10:20] = 0  # pixels no weight reads
    narrow = remove_unread_inputs(remove_unconnected_units(model))
    assert narrow.arch["widths"][1] <= 20 - 7 and narrow.arch["widths"][2] <= 16 - 4 and narrow.arch["widths"][0] <= 54
    x = torch.rand(32, 1, 8, 8)
    torch.testing.assert_close(narrow(x), model(x))
    build_model(narrow.arch).load_state_dict(narrow.state_dict())  # the spec alone rebuilds it


def test_structural_compaction_of_lenet5_is_exact():
    model = sparse_copy(LENET_ARCH, 0.3)
    with torch.no_grad():
        model.convs[0].weight[:2] = 0  # two silent channels feeding an unpadded conv: folded
        model.fcs[0].weight[:3] = 0
        model.fcs[1].weight[:, 3:5] = 0
    narrow = remove_unconnected_units(model)
    assert narrow.arch["conv"][0] <= 4 and narrow.arch["fc"][0] <= 9
    x = torch.rand(8, 1, 28, 28)
    torch.testing.assert_close(narrow(x), model(x))


PADDED_LENET_ARCH = {**LENET_ARCH, "input_shape": [1, 8, 8], "padding": 2}
LSTM_ARCH = {"kind": "lstm", "vocab": 9, "embed": 6, "hidden": [8], "seq_len": 4}


@pytest.mark.parametrize("sparse_format", FORMATS)
@pytest.mark.parametrize("arch", [MLP_ARCH, LENET_ARCH, PADDED_LENET_ARCH, LSTM_ARCH])
def test_csr_model_computes_the_dense_output(arch, sparse_format):
    model = sparse_copy(arch, 0.05)  # well under csr.MAX_DENSITY
    x = torch.randint(0, 9, (3, 4)) if arch["kind"] == "lstm" else torch.rand(5, *arch["input_shape"])
    converted = csr_model(model, "cpu", sparse_format)
    assert not any(type(m) in (nn.Linear, nn.Conv2d) for m in converted.modules())  # all sparse enough to convert
    with torch.no_grad():
        torch.testing.assert_close(converted(x), model(x), rtol=1e-5, atol=1e-5)


def test_csr_model_keeps_dense_layers_dense():
    converted = csr_model(sparse_copy(MLP_ARCH, 0.9))
    assert all(type(layer) is nn.Linear for layer in converted.layers)


def test_trains_compacts_exports_and_runs_sparse(tmp_path):
    out = tmp_path / "run"
    args = ["train", "--method", "variational", "--set", "kl_weight=0.1", "--hidden", "64,64", "--epochs", "8", "--lr", "0.003", "--out", str(out), "--quiet"]
    assert main(args) == 0
    assert main(["export", str(out)]) == 0
    assert main(["export", str(out / "variants" / "structural")]) == 0
    checkpoint, structural = load_checkpoint(out), load_checkpoint(out / "variants" / "structural")
    metrics = checkpoint.metrics
    assert metrics["compression"] == pytest.approx(metrics["weights"] / metrics["nonzero_weights"])
    assert metrics["compression"] > 2 and checkpoint.is_sparse
    assert set(metrics["layer_sparsity"]) == {"layers.0", "layers.1", "layers.2"}
    assert metrics["accuracy"] > 0.8
    digits = load_dataset("digits")
    assert evaluate(checkpoint.model, digits)["accuracy"] == pytest.approx(metrics["accuracy"])  # the manifest alone rebuilds it
    # The structural variant computes the same function with other arithmetic (fewer terms per sum,
    # silent units folded into biases): its logits agree up to rounding, and its accuracy with the
    # sparse net's but for test examples whose top two logits lie within rounding of each other,
    # where the CPU's rounding may pick either class.
    sparse_logits, structural_logits = predict(checkpoint.model, digits.test.x), predict(structural.model, digits.test.x)
    torch.testing.assert_close(structural_logits, sparse_logits, rtol=1e-5, atol=1e-5)
    top2 = sparse_logits.topk(2).values
    near_ties = int((top2[:, 0] - top2[:, 1] <= 1e-4).sum())
    assert structural.metrics["accuracy"] == pytest.approx(metrics["accuracy"], abs=(near_ties + 0.5) / len(digits.test))
    assert structural.metrics["params"] < metrics["params"]
    profile = load_profile("cpu-1thread")
    dense, sparse = make_runner("torch-eager", checkpoint, 64, profile)(), make_runner("torch-sparse", checkpoint, 64, profile)()
    torch.testing.assert_close(sparse, dense, rtol=1e-5, atol=1e-5)


def test_rejects_the_lstm(tmp_path, capsys):
    assert main(["train", "--method", "variational", "--model", "lstm", "--data", "pydoc-text", "--out", str(tmp_path / "x"), "--quiet"]) == 2
    assert "variational supports" in capsys.readouterr().err


def clipped_layer(kind: str, train_clip: bool) -> tuple[nn.Module, torch.Tensor]:
    """A layer with about a third of its weights at or above the threshold, and an input."""
    torch.manual_seed(0)
    if kind == "linear":
        layer, x = LinearSVDO(nn.Linear(6, 4), train_clip=train_clip), torch.rand(5, 6)
    else:
        layer, x = Conv2dSVDO(nn.Conv2d(2, 3, 3), train_clip=train_clip), torch.rand(5, 2, 4, 4)
    with torch.no_grad():
        layer.log_sigma2.copy_(torch.log(layer.weight**2) + torch.empty_like(layer.weight).uniform_(-4, 5))
    assert 0 < int(layer.sparse_weight().eq(0).sum()) < layer.weight.numel()
    return layer, x


@pytest.mark.parametrize("kind", ["linear", "conv"])
def test_train_clip_makes_the_training_mean_the_sparse_test_time_output(kind):
    clip, x = clipped_layer(kind, train_clip=True)
    free, _ = clipped_layer(kind, train_clip=False)
    test_time = clip.eval()(x)
    mean, _ = clip.train().moments(x)  # the pre-activation at eps = 0
    torch.testing.assert_close(mean, test_time)
    assert not torch.allclose(free.train().moments(x)[0], test_time, atol=1e-4)
    mean.sum().backward()  # the mask is a constant: a clipped weight gets no gradient from the mean
    clipped = clip.sparse_weight().eq(0)
    assert clip.weight.grad[clipped].eq(0).all() and clip.weight.grad[~clipped].ne(0).any()
    assert clip.log_sigma2.grad is None or clip.log_sigma2.grad.eq(0).all()


@pytest.mark.parametrize("kind, clips_variance", [("linear", False), ("conv", True)])
def test_train_clip_variance_follows_the_reference(kind, clips_variance):
    """DenseVarDropOutARD keeps the unclipped W in the variance, Conv2DVarDropOutARD clips it."""
    clip, x = clipped_layer(kind, train_clip=True)
    free, _ = clipped_layer(kind, train_clip=False)
    var_clip, var_free = clip.train().moments(x)[1], free.train().moments(x)[1]
    assert torch.allclose(var_clip, var_free) is not clips_variance
    if clips_variance:
        assert bool((var_clip <= var_free + 1e-6).all())


def test_train_clip_is_a_method_parameter():
    method = get_method("variational", {"train_clip": "true"})
    module = method.prepare(build_model(LENET_ARCH))
    assert method.config.train_clip and all(layer.train_clip for layer in svdo_layers(module).values())
    assert not any(layer.train_clip for layer in svdo_layers(get_method("variational", {}).prepare(build_model(MLP_ARCH))).values())
