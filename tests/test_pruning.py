import pytest
import torch

from dropbench.data import load_dataset
from dropbench.errors import ConfigError
from dropbench.flops import count
from dropbench.models import build_model, default_arch, example_input
from dropbench.pruning import (
    prune_units,
    prune_weights,
    remove_inputs,
    remove_units,
    unit_norms,
    weight_masks,
)


def masked_forward(model, keep, scale, x):
    """The original model with every removed unit zeroed at its site and kept units scaled."""
    hooks = []
    for site, (idx, s) in enumerate(zip(keep, scale)):
        mask = torch.zeros(model.hidden_sizes()[site])
        mask[idx] = torch.as_tensor(s)[idx] if s is not None else 1.0
        shape = (1, -1, 1, 1) if model.arch["kind"] == "lenet5" and site < 2 else (1, -1)
        hooks.append(model.sites[site].register_forward_hook(lambda m, i, o, mask=mask, shape=shape: o * mask.reshape(shape)))
    try:
        with torch.no_grad():
            return model(x)
    finally:
        for h in hooks:
            h.remove()


@pytest.mark.parametrize("model_name,data_name", [("mlp", "digits"), ("lenet5", "digits")])
def test_remove_units_equals_masking(model_name, data_name):
    torch.manual_seed(0)
    model = build_model(default_arch(model_name, load_dataset(data_name), [24])).eval()
    sizes = model.hidden_sizes()
    keep = [torch.randperm(n)[: n // 2] for n in sizes]
    scale = [torch.rand(n) + 0.5 for n in sizes]
    narrow = remove_units(model, keep, scale)
    x = example_input(model.arch, 5)
    with torch.no_grad():
        got = narrow(x)
    assert torch.allclose(got, masked_forward(model, keep, scale, x), atol=1e-5)
    assert narrow.hidden_sizes() == [n // 2 for n in sizes]
    assert count(narrow).params < count(model).params


def test_prune_units_keeps_the_largest_norms():
    torch.manual_seed(0)
    model = build_model(default_arch("mlp", load_dataset("digits"), [10, 8]))
    norms = unit_norms(model)
    narrow = prune_units(model, 0.5)
    assert narrow.hidden_sizes() == [5, 4]
    kept_norms = unit_norms(narrow)[0]
    assert torch.allclose(kept_norms.sort().values, norms[0].topk(5).values.sort().values)


def test_weight_masks_are_per_output_unit():
    model = build_model(default_arch("mlp", load_dataset("digits"), [4]))
    with torch.no_grad():
        w = model.layers[0].weight  # [out=4, in=64]
        w.copy_(torch.arange(64, dtype=torch.float32).repeat(4, 1) + 1)
        w[0] *= -1  # magnitude, not sign, decides
    masks = weight_masks(model, 0.25)
    m = masks["layers.0.weight"]
    assert m.shape == (4, 64)
    assert (m.sum(dim=1) == 48).all()  # each output unit keeps 75 % of its own inputs
    assert not m[:, :16].any() and m[:, 16:].all()
    pruned = prune_weights(model, 0.25)
    assert count(pruned).nonzero_params < count(model).nonzero_params


def test_remove_inputs_reads_only_kept_pixels():
    torch.manual_seed(0)
    model = build_model(default_arch("mlp", load_dataset("digits"), [8])).eval()
    keep = torch.arange(10, 50)
    with torch.no_grad():
        model.layers[0].weight[:, :10] = 0
        model.layers[0].weight[:, 50:] = 0
    narrow = remove_inputs(model, keep)
    assert narrow.arch["widths"][0] == 40 and narrow.arch["input_index"] == keep.tolist()
    x = example_input(model.arch, 4)
    with torch.no_grad():
        assert torch.allclose(narrow(x), model(x), atol=1e-6)


def test_cannot_remove_every_unit():
    model = build_model(default_arch("mlp", load_dataset("digits"), [4]))
    with pytest.raises(ConfigError, match="every unit"):
        remove_units(model, [torch.tensor([], dtype=torch.int64)])
