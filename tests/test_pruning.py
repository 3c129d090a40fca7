import copy

import pytest
import torch

from dropbench.data import load_dataset
from dropbench.errors import ConfigError
from dropbench.flops import count
from dropbench.methods import get_method
from dropbench.models import build_model, default_arch, example_input, lenet_feature_side
from dropbench.pruning import (
    UNIT_CRITERIA,
    prune_inner_units,
    prune_units,
    prune_units_to,
    prune_weights,
    remove_inputs,
    remove_units,
    unit_norms,
    unit_scores,
    weight_masks,
    widened_to_multiple,
)
from dropbench.train import TrainConfig, evaluate, fit


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


def test_kept_widths_round_up_to_a_multiple_with_the_next_best_units():
    torch.manual_seed(0)
    model = build_model(default_arch("mlp", load_dataset("digits"), [40, 12]))
    norms = unit_norms(model)
    narrow = prune_units(model, 0.5, width_multiple=8)
    assert narrow.hidden_sizes() == [24, 8]  # 20 -> 24, 6 -> 8
    assert torch.allclose(unit_norms(narrow)[0].sort().values, norms[0].topk(24).values.sort().values)
    scores = [torch.tensor([5.0, 1.0, 4.0, 3.0, 2.0]), None]
    assert [k.tolist() for k in widened_to_multiple([torch.tensor([0]), None], scores, 4)[:1]] == [[0, 2, 3, 4]]
    assert widened_to_multiple([torch.tensor([0, 2]), None], scores, 1)[0].tolist() == [0, 2]  # 1: as chosen


def test_weight_masks_are_per_output_unit():
    model = build_model(default_arch("mlp", load_dataset("digits"), [16, 4]))
    with torch.no_grad():
        w = model.layers[1].weight  # [out=4, in=16]
        w.copy_(torch.arange(16, dtype=torch.float32).repeat(4, 1) + 1)
        w[0] *= -1  # magnitude, not sign, decides
    masks = weight_masks(model, 0.25)
    m = masks["layers.1.weight"]
    assert m.shape == (4, 16)
    assert (m.sum(dim=1) == 12).all()  # each output unit keeps 75 % of its own inputs
    assert not m[:, :4].any() and m[:, 4:].all()
    pruned = prune_weights(model, 0.25)
    assert count(pruned).nonzero_params < count(model).nonzero_params


@pytest.mark.parametrize("model_name", ["mlp", "lenet5"])
def test_post_hoc_pruning_leaves_the_input_and_output_layers_dense(model_name):
    torch.manual_seed(0)
    model = build_model(default_arch(model_name, load_dataset("digits"), [12, 10]))
    weights = [n for n, p in model.named_parameters() if p.dim() >= 2]
    first, last = weights[0], weights[-1]
    assert set(weight_masks(model, 0.5)) == set(weights) - {first, last}
    assert set(weight_masks(model, 0.5, every_layer=True)) == set(weights)
    pruned = prune_weights(model, 0.9)
    for name in (first, last):
        assert torch.equal(pruned.state_dict()[name], model.state_dict()[name])
    narrow = prune_inner_units(model, 0.5)
    sizes = model.hidden_sizes()
    assert narrow.hidden_sizes() == [sizes[0], *(n - n // 2 for n in sizes[1:])]


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


@pytest.fixture(scope="module")
def trained_mlp():
    data = load_dataset("digits")
    torch.manual_seed(0)
    model = build_model(default_arch("mlp", data, [32, 24]))
    fit(model, data, TrainConfig(epochs=5, lr=1e-2))
    return model.eval(), data


@pytest.mark.parametrize("criterion", UNIT_CRITERIA)
def test_both_criteria_give_valid_narrower_nets(trained_mlp, criterion):
    model, data = trained_mlp
    narrow = prune_units_to(model, [20, 12], criterion)
    assert narrow.hidden_sizes() == [20, 12]
    scores = unit_scores(model, criterion)
    kept = unit_scores(narrow, "incoming")[0]  # site 0's rows are not changed by the pruning
    assert torch.allclose(kept.sort().values, unit_norms(model)[0][scores[0].topk(20).indices].sort().values)
    assert evaluate(narrow, data, "val")["accuracy"] > 0.5  # still a working classifier (chance: 0.1)
    assert prune_units(model, 0.5, scores).hidden_sizes() == [16, 12]
    assert torch.equal(prune_units_to(model, [32, 24], criterion).layers[1].weight, model.layers[1].weight)


def test_group_criterion_counts_outgoing_weights(trained_mlp):
    model = copy.deepcopy(trained_mlp[0])
    with torch.no_grad():
        w_in, w_out = model.layers[0].weight, model.layers[1].weight
        largest = 1.5 * w_in.norm(dim=1).max()
        w_in[3] *= largest / w_in[3].norm()  # unit 3 has the largest incoming weights ...
        w_out *= 2 * largest / w_out.norm(dim=0)  # ... every other unit is read strongly ...
        w_out[:, 3] = 0  # ... and nothing reads unit 3
    assert int(unit_scores(model, "incoming")[0].argmax()) == 3
    assert int(unit_scores(model, "group")[0].argmin()) == 3

    def keeps_unit_3(criterion: str) -> bool:
        narrow = prune_units_to(model, [31, 24], criterion)
        return any(torch.equal(row, w_in[3]) for row in narrow.layers[0].weight)

    assert keeps_unit_3("incoming") and not keeps_unit_3("group")


def test_group_scores_of_a_conv_channel_feeding_the_flattened_map():
    torch.manual_seed(0)
    model = build_model(default_arch("lenet5", load_dataset("digits"), [12]))
    area = lenet_feature_side(model.arch) ** 2
    w_in, w_out = model.convs[1].weight, model.fcs[0].weight  # site 1: conv channels read by fcs.0 in blocks
    expected = [(w_in[c].square().sum() + w_out[:, c * area : (c + 1) * area].square().sum()).sqrt() for c in range(w_in.shape[0])]
    assert torch.allclose(unit_scores(model, "group")[1], torch.stack(expected).detach())
    conv_expected = (model.convs[0].weight.flatten(1).square().sum(1) + model.convs[1].weight.square().sum((0, 2, 3))).sqrt()
    assert torch.allclose(unit_scores(model, "group")[0], conv_expected.detach())


def test_bad_criterion_or_widths_are_config_errors(trained_mlp):
    model = trained_mlp[0]
    with pytest.raises(ConfigError, match="criterion must be one of incoming, group"):
        unit_scores(model, "taylor")
    with pytest.raises(ConfigError, match="widths must give"):
        prune_units_to(model, [40, 12])
    with pytest.raises(ConfigError, match="widths must give"):
        prune_units_to(model, [12])
    with pytest.raises(ConfigError, match="criterion must be"):
        get_method("magnitude", {"criterion": "nope"})
