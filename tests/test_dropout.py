"""The `dropout` baseline's two masks: per element (nn.Dropout) and per whole unit (shared by the batch)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dropbench.data import load_dataset
from dropbench.errors import ConfigError
from dropbench.methods import get_method
from dropbench.methods.dropout import UnitDropout, UnitDropoutLSTM, scaled_unit_mask
from dropbench.models import build_model, default_arch
from dropbench.train import TrainConfig, evaluate, fit

LSTM_ARCH = {"kind": "lstm", "vocab": 12, "embed": 16, "hidden": [24, 20], "seq_len": 5}


@pytest.mark.parametrize("shape", [(6, 40), (6, 20, 3, 3)])
def test_unit_mask_drops_whole_units_for_the_batch(shape):
    torch.manual_seed(0)
    site = UnitDropout(0.5).train()
    out = site(torch.ones(shape))
    per_unit = out.transpose(0, 1).flatten(1)  # [units, batch x positions]
    assert (per_unit == per_unit[:, :1]).all()  # one value per unit: shared by the batch and every position
    assert set(per_unit[:, 0].tolist()) == {0.0, 2.0}  # dropped, or kept with 1 / (1 - p)
    assert torch.equal(site.eval()(torch.ones(shape)), torch.ones(shape))


def test_unit_mask_rate_is_p():
    torch.manual_seed(0)
    kept = torch.stack([scaled_unit_mask(100, 0.3) > 0 for _ in range(400)]).float().mean()
    assert abs(float(kept) - 0.7) < 0.01  # 4 standard errors of 40,000 draws


def test_lstm_unit_mask_is_one_mask_per_step_for_batch_and_sequence():
    torch.manual_seed(0)
    module = get_method("dropout", {"mask": "unit", "p": 0.4}).prepare(build_model(LSTM_ARCH)).train()
    assert isinstance(module, UnitDropoutLSTM)
    tokens = torch.randint(0, 12, (3, 5))
    torch.manual_seed(7)
    out = module(tokens)
    torch.manual_seed(7)  # the same draws, as explicit masks over the embedding and each LSTM's units
    masks = [scaled_unit_mask(n, 0.4) for n in (16, 24, 20)]
    torch.testing.assert_close(out, module.masked(tokens, masks))
    plain = build_model(LSTM_ARCH)
    plain.load_state_dict(module.state_dict())
    torch.testing.assert_close(module.eval()(tokens), plain(tokens))


@pytest.mark.parametrize("model_name", ["mlp", "lenet5"])
def test_unit_mask_trains_mlp_and_lenet(model_name):
    data = load_dataset("digits")
    torch.manual_seed(0)
    module = get_method("dropout", {"mask": "unit", "p": 0.2}).prepare(build_model(default_arch(model_name, data, [32])))
    assert all(isinstance(site, UnitDropout) for site in module.sites)
    fit(module, data, TrainConfig(epochs=2, lr=5e-3))
    assert evaluate(module, data, "val")["accuracy"] > 0.5  # chance is 0.1


def test_element_mask_is_the_default_and_bad_masks_are_config_errors():
    module = get_method("dropout", {}).prepare(build_model(LSTM_ARCH))
    assert all(isinstance(site, nn.Dropout) for site in module.sites)
    with pytest.raises(ConfigError, match="mask must be 'element' or 'unit', got 'row'"):
        get_method("dropout", {"mask": "row"})
