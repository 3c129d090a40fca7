"""approximate-random: pattern drop rates, exact gradients of the sliced GEMMs, training end to end."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dropbench.checkpoint import load_checkpoint
from dropbench.cli import main
from dropbench.data import load_dataset
from dropbench.methods import get_method
from dropbench.methods.approximate_random import (
    RunPattern,
    keep_mask,
    search_run_lengths,
    tile_blocks,
)
from dropbench.methods.dropout import UnitDropoutLSTM
from dropbench.models import build_model
from dropbench.train import evaluate

MLP_ARCH = {"kind": "mlp", "input_shape": [1, 8, 8], "widths": [64, 48, 40, 10]}
LSTM_ARCH = {"kind": "lstm", "vocab": 12, "embed": 16, "hidden": [24, 20], "seq_len": 5}


def prepared(arch: dict, **params) -> nn.Module:
    torch.manual_seed(0)
    return get_method("approximate-random", params).prepare(build_model(arch)).double().train()


@pytest.mark.parametrize("units, block, p", [(48, 4, 0.3), (40, 4, 0.5), (100, 16, 0.7), (10, 1, 0.5)])
def test_each_unit_is_dropped_with_probability_p(units, block, p):
    torch.manual_seed(1)
    pattern = RunPattern.search(units, block, p, "a test layer")
    assert abs(pattern.drop_rate - p) < 1e-4
    draws = 10000
    dropped = sum(1.0 - keep_mask(pattern.sample(), units) for _ in range(draws)) / draws
    assert dropped.sub(p).abs().max() < 0.025, dropped  # 5 standard errors of a 10000-draw mean


def test_searched_run_lengths_spread_like_bernoulli_dropout():
    q = search_run_lengths(blocks=64, units=1024, p=0.5)
    lengths = torch.arange(1, 65, dtype=q.dtype)
    mean = (q * lengths).sum()
    sd = ((q * (lengths - mean) ** 2).sum()).sqrt()
    assert abs(mean - 32) < 0.01
    assert 0.2 < sd < 1.5  # Binomial(1024, 0.5) kept units: sd 16 units = 1 block


def test_each_synapse_of_a_tile_pattern_is_dropped_with_probability_p():
    torch.manual_seed(2)
    module = prepared(MLP_ARCH, p=0.4, pattern="tile", tile=8)
    layer = module.layers[1]
    draws = 5000
    kept = torch.zeros_like(layer.weight)
    for _ in range(draws):
        blocks, _ = tile_blocks(module.patterns[0], layer)
        for rows, _, parts in blocks:
            for wc, _ in parts:
                kept[rows, wc] += 1
    assert (1 - kept / draws).sub(0.4).abs().max() < 0.04


def dropout_reference(module: nn.Module, x: torch.Tensor, masks: list[torch.Tensor], p: float) -> torch.Tensor:
    """The plain MLP with standard dropout masks (one per hidden layer, shared by the batch)."""
    for i, layer in enumerate(module.layers):
        x = layer(x)
        if i < len(masks):
            x = torch.relu(x) * masks[i] / (1 - p)
    return x


def grads(module: nn.Module, out: torch.Tensor) -> dict[str, torch.Tensor]:
    module.zero_grad(set_to_none=True)
    (out * torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)).sum().backward()
    return {name: p.grad.clone() for name, p in module.named_parameters()}


def assert_same_gradients(module: nn.Module, fast: torch.Tensor, slow: torch.Tensor, atol: float = 1e-12) -> dict[str, torch.Tensor]:
    """`fast` equals `slow` and gives every parameter the same gradient; returns those gradients."""
    got, want = grads(module, fast), grads(module, slow)
    torch.testing.assert_close(fast, slow, rtol=0, atol=atol)
    for name in want:
        torch.testing.assert_close(got[name], want[name], rtol=0, atol=atol)
    return got


def test_row_pattern_gives_the_gradients_of_dropout_with_the_same_mask():
    module = prepared(MLP_ARCH, p=0.5, block=4)
    x = torch.randn(7, 64, dtype=torch.float64)
    kept = [module.patterns[0].ranges(10, 7), module.patterns[1].ranges(3, 4)]  # the first run wraps around
    assert len(kept[0]) == 2
    masks = [keep_mask(k, n).double() for k, n in zip(kept, (48, 40))]
    got = assert_same_gradients(module, module.rows(x, kept), dropout_reference(module, x, masks, 0.5))
    dropped0, dropped1 = masks[0] == 0, masks[1] == 0
    assert got["layers.0.weight"][dropped0].eq(0).all() and got["layers.0.bias"][dropped0].eq(0).all()
    assert got["layers.1.weight"][dropped1].eq(0).all() and got["layers.1.weight"][:, dropped0].eq(0).all()
    assert got["layers.2.weight"][:, dropped1].eq(0).all()


def test_tile_pattern_gives_the_gradients_of_dropconnect_with_the_same_mask():
    module = prepared(MLP_ARCH, p=0.5, pattern="tile", tile=8)
    x = torch.randn(5, 64, dtype=torch.float64)
    torch.manual_seed(3)
    fast = module(x)
    torch.manual_seed(3)  # the same tile patterns again, now as masks on the weights
    masks = []
    for i, layer in enumerate(module.layers[1:]):
        mask = torch.zeros_like(layer.weight)
        for rows, _, parts in tile_blocks(module.patterns[i], layer)[0]:
            for wc, _ in parts:
                mask[rows, wc] = 1.0
        masks.append(mask)
    h = torch.relu(module.layers[0](x))
    for i, (layer, mask) in enumerate(zip(module.layers[1:], masks)):
        h = nn.functional.linear(h, layer.weight * mask / 0.5, layer.bias)
        h = torch.relu(h) if i == 0 else h
    got = assert_same_gradients(module, fast, h)
    assert got["layers.1.weight"][masks[0] == 0].eq(0).all()


def lstm_reference(module: nn.Module, tokens: torch.Tensor, masks: list[torch.Tensor], p: float) -> torch.Tensor:
    """The full LSTM stack with each dropped unit masked wherever it is read (next layer and recurrence)."""
    scale = 1 / (1 - p)
    x = module.embed(tokens) * masks[0] * scale
    for lstm, mask in zip(module.lstms, masks[1:]):
        h = c = x.new_zeros(x.shape[0], lstm.hidden_size)
        outputs = []
        for t in range(x.shape[1]):
            gates = x[:, t] @ lstm.weight_ih_l0.t() + lstm.bias_ih_l0 + (h * mask * scale) @ lstm.weight_hh_l0.t() + lstm.bias_hh_l0
            i, f, g, o = gates.chunk(4, 1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            outputs.append(h)
        x = torch.stack(outputs, 1) * mask * scale
    return module.head(x)


def test_lstm_row_pattern_equals_the_masked_full_lstm():
    module = prepared(LSTM_ARCH, p=0.5, block=4)
    tokens = torch.randint(0, 12, (3, 5), generator=torch.Generator().manual_seed(0))
    kept = [module.patterns[0].ranges(3, 2), module.patterns[1].ranges(4, 3), module.patterns[2].ranges(1, 2)]
    masks = [keep_mask(k, n).double() for k, n in zip(kept, (16, 24, 20))]
    got = assert_same_gradients(module, module.rows(tokens, kept), lstm_reference(module, tokens, masks, 0.5), atol=1e-10)
    gate_rows = (masks[1] == 0).repeat(4)
    assert got["lstms.0.weight_hh_l0"][gate_rows].eq(0).all() and got["lstms.0.weight_ih_l0"][:, masks[0] == 0].eq(0).all()


def test_eval_mode_is_the_plain_dense_net():
    module = prepared(MLP_ARCH, p=0.5).eval()
    plain = build_model(MLP_ARCH).double()
    plain.load_state_dict(module.state_dict())
    x = torch.randn(4, 64, dtype=torch.float64)
    torch.testing.assert_close(module(x), plain(x))


def test_bad_settings_are_one_line_errors(tmp_path, capsys):
    assert main(["train", "--method", "approximate-random", "--model", "lenet5", "--out", str(tmp_path / "a"), "--quiet"]) == 2
    assert "supports the mlp and lstm" in capsys.readouterr().err
    assert main(["train", "--method", "approximate-random", "--set", "p=0.99", "--hidden", "32", "--out", str(tmp_path / "b"), "--quiet"]) == 2
    assert "too high" in capsys.readouterr().err


def test_trains_exports_and_loads_from_its_manifest(tmp_path):
    out = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--method",
                "approximate-random",
                "--set",
                "p=0.3",
                "--hidden",
                "64,64",
                "--epochs",
                "5",
                "--lr",
                "0.005",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    assert main(["export", str(out)]) == 0
    checkpoint = load_checkpoint(out)
    assert checkpoint.manifest["method"]["params"]["p"] == 0.3
    assert checkpoint.metrics["pattern_drop_rates"] == pytest.approx([0.3, 0.3], abs=1e-4)
    assert checkpoint.metrics["accuracy"] > 0.85  # digits after 5 epochs; chance is 0.1
    assert evaluate(checkpoint.model, load_dataset("digits"))["accuracy"] == pytest.approx(checkpoint.metrics["accuracy"])


def test_lstm_trains_and_exports(tmp_path):
    out = tmp_path / "lstm"
    args = ["train", "--method", "approximate-random", "--set", "p=0.25", "--set", "block=4", "--model", "lstm", "--data", "pydoc-text"]
    assert main([*args, "--hidden", "16", "--epochs", "1", "--batch-size", "512", "--lr", "0.01", "--out", str(out), "--quiet"]) == 0
    assert main(["export", str(out)]) == 0
    checkpoint = load_checkpoint(out)
    assert checkpoint.metrics["perplexity"] < 0.9 * checkpoint.arch["vocab"]  # better than guessing uniformly


def test_unit_dropout_baseline_drops_the_connections_the_lstm_row_pattern_drops():
    module = prepared(LSTM_ARCH, p=0.5, block=4)
    dense = UnitDropoutLSTM(module, 0.5)  # the masked full-cost LSTM, on the same layers
    tokens = torch.randint(0, 12, (3, 5), generator=torch.Generator().manual_seed(1))
    kept = [module.patterns[0].ranges(1, 3), module.patterns[1].ranges(3, 2), module.patterns[2].ranges(2, 3)]
    masks = [keep_mask(k, n).double() / 0.5 for k, n in zip(kept, (16, 24, 20))]  # the same units, the same 1 / (1 - p)
    got = assert_same_gradients(module, module.rows(tokens, kept), dense.masked(tokens, masks), atol=1e-10)
    dropped = masks[1] == 0
    assert got["lstms.0.weight_hh_l0"][:, dropped].eq(0).all() and got["lstms.0.weight_hh_l0"][dropped.repeat(4)].eq(0).all()
    plain = build_model(LSTM_ARCH).double()
    plain.load_state_dict(module.state_dict())
    torch.testing.assert_close(dense.eval()(tokens), plain(tokens))
