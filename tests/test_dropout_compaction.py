from __future__ import annotations

import torch

from dropbench.data import load_dataset
from dropbench.methods import get_method
from dropbench.methods.dropout_compaction import RetentionGate, beta_prior, gates
from dropbench.models import build_model, default_arch
from dropbench.train import StepState, TrainConfig, fit


def trained(data, **params):
    """A tiny MLP trained for one epoch with dropout compaction: (method, module)."""
    method = get_method("dropout-compaction", params)
    torch.manual_seed(0)
    module = method.prepare(build_model(default_arch("mlp", data, [24, 20])))
    fit(module, data, TrainConfig(epochs=1), method)
    return method, module


def set_retention(gate: RetentionGate, unit: int, p: float) -> None:
    with torch.no_grad():
        gate.raw_logit[unit] = torch.logit(torch.tensor(p)) / gate.logit_gain


def test_units_below_threshold_are_removed_and_outputs_match_the_masked_net():
    data = load_dataset("digits")
    method, module = trained(data, threshold=0.2)
    layer0, layer1 = gates(module)
    set_retention(layer0, 3, 0.1)  # below the threshold: removed
    set_retention(layer0, 5, 0.3)  # above: kept, its retention folded into the next layer
    set_retention(layer1, 7, 0.05)
    below = [(g.retention() < 0.2).nonzero().flatten().tolist() for g in (layer0, layer1)]
    compacted = method.compact(module, data)
    assert compacted.model.hidden_sizes() == [24 - len(below[0]), 20 - len(below[1])]
    assert compacted.metrics["hidden_kept_fraction"] == sum(compacted.model.hidden_sizes()) / 44
    for gate, units in zip((layer0, layer1), below):  # mask the removed units in the trained net
        with torch.no_grad():
            gate.raw_logit[units] = -1e4
    x = data.test.x[:64]
    module.eval()
    with torch.no_grad():
        assert (compacted.model(x) - module(x)).abs().max() <= 1e-5


def test_prior_pushes_retention_toward_zero_and_one():
    p = torch.tensor([0.05, 0.3, 0.7, 0.95], requires_grad=True)
    beta_prior(p, a=0.5, b=0.5).backward()
    assert (p.grad[:2] > 0).all() and (p.grad[2:] < 0).all()  # descent lowers small p, raises large p
    # through the method's regularizer and the gates' logits, the same directions
    method = get_method("dropout-compaction", {"a": 0.5, "b": 0.5})
    module = method.prepare(build_model({"kind": "mlp", "input_shape": [4], "widths": [4, 4, 2]}))
    for unit, value in enumerate((0.05, 0.3, 0.7, 0.95)):
        set_retention(module.sites[0], unit, value)
    method.regularizer(module, StepState(0, 0, 1, 1, dataset_size=10)).backward()
    grad = module.sites[0].raw_logit.grad
    assert (grad[:2] > 0).all() and (grad[2:] < 0).all()


def test_gate_samples_masks_in_training_and_scales_by_retention_in_eval():
    gate = RetentionGate(3, init_retention=0.5, temperature=0.1, logit_gain=1.0)
    x = torch.ones(2000, 3)
    gate.train()
    z = gate(x)
    assert ((z < 0.05) | (z > 0.95)).float().mean() > 0.8  # near-binary at low temperature
    assert abs(z.mean().item() - 0.5) < 0.05
    gate.eval()
    assert torch.allclose(gate(x), torch.full_like(x, 0.5))


def test_a_layer_keeps_its_highest_retention_unit_when_all_fall_below_the_threshold():
    data = load_dataset("digits")
    method, module = trained(data)
    layer1 = gates(module)[1]
    for unit in range(20):
        set_retention(layer1, unit, 0.01 if unit != 4 else 0.05)
    compacted = method.compact(module, data)
    assert compacted.model.hidden_sizes()[1] == 1
    assert torch.equal(compacted.model.layers[1].bias, module.layers[1].bias[4:5].detach())
