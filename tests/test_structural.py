from __future__ import annotations

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from dropbench.data import load_dataset
from dropbench.flops import count
from dropbench.methods import get_method, plain_model
from dropbench.methods.structural import narrow_to
from dropbench.models import build_model
from dropbench.train import TrainConfig, fit

ARCH = {"kind": "mlp", "input_shape": [10], "widths": [10, 12, 16, 3]}


class CutAndScale(nn.Module):
    """The cut written out as a mask: features >= c zeroed, the rest scaled by U / c."""

    def __init__(self, units: int, cut: int):
        super().__init__()
        self.mask = (torch.arange(units) < cut).float() * units / cut

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.mask


def structural(**params):
    torch.manual_seed(0)
    method = get_method("structural", params)
    return method, method.prepare(build_model(ARCH))


def masked_plain(module, cuts: list[int]) -> nn.Module:
    """The full plain net with each hidden site replaced by the explicit cut-and-scale mask."""
    plain = build_model(ARCH)
    plain.load_state_dict(module.state_dict())
    for i, (units, cut) in enumerate(zip(ARCH["widths"][1:-1], cuts)):
        plain.sites[i] = CutAndScale(units, cut)
    return plain.eval()


def test_training_cut_zeroes_features_at_and_above_it_and_scales_the_rest():
    _, module = structural(p=1.0, lower_bound=3, step=2)
    module.train()
    x = torch.randn(5, 10)
    for seed in range(20):
        torch.manual_seed(seed)
        out = module(x)
        torch.manual_seed(seed)  # replay the draws the forward pass made
        cuts = [module.draw_width(12), module.draw_width(16)]
        assert cuts[0] in range(3, 12, 2) and cuts[1] in range(3, 16, 2)
        with torch.no_grad():
            assert torch.allclose(out, masked_plain(module, cuts)(x), atol=1e-6)


def test_no_cut_without_p_or_in_eval_mode():
    _, module = structural(p=0.0)
    assert [module.train().draw_width(12) for _ in range(20)] == [12] * 20
    _, module = structural(p=1.0)
    x = torch.randn(5, 10)
    plain = build_model(ARCH)
    plain.load_state_dict(module.state_dict())
    with torch.no_grad():
        assert torch.equal(module.eval()(x), plain.eval()(x))


def test_forward_at_cut_c_does_c_over_u_of_the_flops():
    arch = {"kind": "mlp", "input_shape": [10], "widths": [10, 40, 3]}  # one hidden layer: all FLOPs scale with it
    module = get_method("structural", {}).prepare(build_model(arch)).eval()
    x = torch.randn(8, 10)

    def flops(widths):
        with FlopCounterMode(display=False) as counter:
            module(x, widths)
        return counter.get_total_flops()

    assert flops([10]) / flops([40]) == 10 / 40
    assert count(narrow_to(plain_model(module), 10)).flops / count(build_model(arch)).flops == 10 / 40


def test_compacted_widths_equal_the_cut_net_and_meet_their_targets():
    data = load_dataset("digits")
    method = get_method("structural", {"lower_bound": 4, "sweep_points": 16})
    torch.manual_seed(0)
    module = method.prepare(build_model({"kind": "mlp", "input_shape": [64], "widths": [64, 32, 32, 10]}))
    fit(module, data, TrainConfig(epochs=2), method)
    compacted = method.compact(module, data)
    x = data.test.x[:64]
    module.eval()
    full = compacted.metrics["full_width_val_accuracy"]
    for name, target in (("keep99", 0.99), ("keep95", 0.95)):
        variant = compacted.variants[name]
        width = variant.metrics["width"]
        assert variant.model.hidden_sizes() == [width, width]
        with torch.no_grad():
            assert (variant.model(x) - module(x, [width, width])).abs().max() <= 1e-5
        curve = {point["width"]: point["val_accuracy"] for point in compacted.curves["width"]}
        assert curve[width] >= target * full
        assert all(acc < target * full for w, acc in curve.items() if w < width)  # the smallest such width
