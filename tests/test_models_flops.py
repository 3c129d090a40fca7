import pytest
import torch

from dropbench.data import load_dataset
from dropbench.errors import ConfigError
from dropbench.flops import count, theoretical_speedup
from dropbench.models import build_model, default_arch, example_input


def test_mlp_from_width_list_and_flops():
    arch = default_arch("lenet-300-100", load_dataset("mnist-5k"))
    assert arch["widths"] == [784, 300, 100, 10]
    model = build_model(arch)
    assert model(example_input(arch, 3)).shape == (3, 10)
    c = count(model)
    macs = 784 * 300 + 300 * 100 + 100 * 10
    assert c.flops == 2 * macs and c.params == macs + 300 + 100 + 10


def test_lenet5_caffe_shapes_and_flops():
    arch = default_arch("lenet5", load_dataset("mnist-5k"))
    model = build_model(arch)
    assert model(example_input(arch, 2)).shape == (2, 10)
    conv1 = 2 * (1 * 25 * 20) * 24 * 24
    conv2 = 2 * (20 * 25 * 50) * 8 * 8
    fc = 2 * (800 * 500 + 500 * 10)
    assert count(model).flops == conv1 + conv2 + fc


def test_lenet5_pads_small_images():
    arch = default_arch("lenet5", load_dataset("digits"))
    assert arch["padding"] == 2
    assert build_model(arch)(example_input(arch, 1)).shape == (1, 10)


def test_lstm_flops_count_every_step():
    arch = default_arch("lstm", load_dataset("pydoc-text"), [32])
    model = build_model(arch)
    out = model(example_input(arch, 2))
    assert out.shape == (2, arch["seq_len"], arch["vocab"])
    t, e, h, v = arch["seq_len"], arch["embed"], 32, arch["vocab"]
    assert count(model).flops == 2 * t * (4 * h * (e + h)) + 2 * t * h * v


def test_sparse_flops_and_theoretical_speedup():
    arch = default_arch("mlp", load_dataset("digits"), [16])
    model = build_model(arch)
    with torch.no_grad():
        model.layers[0].weight[:, 32:] = 0  # half of the first layer's weights
    c = count(model)
    assert c.sparse_flops == c.flops - 2 * 16 * 32
    assert c.nonzero_params == c.params - 16 * 32
    assert theoretical_speedup({"flops": 100}, {"flops": 25, "sparse_flops": 10}) == 4.0
    assert theoretical_speedup({"flops": 100}, {"flops": 25, "sparse_flops": 10}, sparse=True) == 10.0


def test_model_errors_are_config_errors():
    with pytest.raises(ConfigError, match="unknown model"):
        default_arch("resnet", load_dataset("digits"))
    with pytest.raises(ConfigError, match="needs the text corpus"):
        default_arch("lstm", load_dataset("digits"))
    with pytest.raises(ConfigError, match="image data"):
        default_arch("lenet5", load_dataset("mnist1d"))
    with pytest.raises(ConfigError, match="unknown architecture kind"):
        build_model({"kind": "transformer"})
    with pytest.raises(ConfigError, match="malformed mlp"):
        build_model({"kind": "mlp"})
