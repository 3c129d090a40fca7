"""Any ONNX file as a model to time: graphs the tests export themselves from models that are not dropbench's."""

from __future__ import annotations

import json
import warnings

import pytest
import torch
from torch import nn

from conftest import assert_one_line_error
from dropbench.checkpoint import ONNX, load_checkpoint
from dropbench.errors import ConfigError
from dropbench.onnx_model import load_onnx_model, parse_shapes


class ResidualCNN(nn.Module):
    """conv + batch norm, a residual block, global pooling, a linear head: nothing dropbench builds."""

    def __init__(self, width: int):
        super().__init__()
        self.stem, self.bn = nn.Conv2d(3, width, 3, padding=1), nn.BatchNorm2d(width)
        self.conv = nn.Conv2d(width, width, 3, padding=1, bias=False)
        self.head = nn.Linear(width, 10)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.bn(self.stem(image)))
        h = h + torch.relu(self.conv(h))
        return self.head(h.mean((2, 3)))

    def flops(self, height: int, width: int) -> int:
        """2 x multiply-accumulates per sample, by hand."""
        positions = height * width
        return 2 * (positions * self.stem.weight.numel() + positions * self.conv.weight.numel() + self.head.weight.numel())


class FlattenHead(nn.Module):
    """Accepts only 3x8x8 images although the graph leaves height and width dynamic."""

    def __init__(self):
        super().__init__()
        self.head = nn.Linear(3 * 8 * 8, 10)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.head(image.flatten(1))


def export(model: nn.Module, path, dynamic_axes: dict[int, str]) -> None:
    model.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(model, (torch.randn(2, 3, 8, 8),), str(path), input_names=["image"], dynamic_axes={"image": dynamic_axes}, dynamo=False)


@pytest.fixture(scope="module")
def cnns(tmp_path_factory):
    """A wide and a narrow residual CNN with a dynamic batch axis, and a wide one with dynamic height / width."""
    folder = tmp_path_factory.mktemp("onnx")
    torch.manual_seed(0)
    models = {"wide": ResidualCNN(32), "narrow": ResidualCNN(8)}
    for name, model in models.items():
        model.bn.running_mean.uniform_(-1, 1)  # a batch norm that does something
        export(model, folder / f"{name}.onnx", {0: "n"})
    export(models["wide"], folder / "wide-any-size.onnx", {0: "n", 2: "h", 3: "w"})
    export(FlattenHead(), folder / "flatten.onnx", {0: "n", 2: "h", 3: "w"})
    return folder, models


def test_inputs_and_flops_come_from_the_graph(cnns):
    folder, models = cnns
    model = load_onnx_model(folder / "wide.onnx")
    (image,) = model.inputs
    assert (image.name, image.shape, image.dtype, image.dynamic_batch) == ("image", (1, 3, 8, 8), "float32", True)
    assert model.feed(5)["image"].shape == (5, 3, 8, 8)
    assert model.metrics["flops"] == models["wide"].flops(8, 8)
    sized = load_onnx_model(folder / "wide-any-size.onnx", parse_shapes(["image=1x3x20x12"]))
    assert sized.metrics["flops"] == models["wide"].flops(20, 12)


def test_graph_flops_equal_a_checkpoints_own_count(tiny_run):
    checkpoint = load_checkpoint(tiny_run)
    assert load_onnx_model(tiny_run / ONNX).metrics["flops"] == checkpoint.metrics["flops"]


def test_speedup_of_foreign_onnx_stands_beside_its_flop_ratio(cnns, cli, tmp_path):
    folder, models = cnns
    out = tmp_path / "speedup.json"
    result = cli("speedup", folder / "wide.onnx", folder / "narrow.onnx", "--profile", "cpu-1thread", "--batch-size", "4", "--min-time", "0.05", "--json", out)
    assert result.code == 0, result.err
    (record,) = json.loads(out.read_text())
    assert record["runtime"] == "onnxruntime" and record["batch"] == 4
    assert record["flop_ratio"] == pytest.approx(models["wide"].flops(8, 8) / models["narrow"].flops(8, 8))
    assert record["speedup"] > 0 and record["realisation"] == pytest.approx(record["speedup"] / record["flop_ratio"])


def test_bench_of_foreign_onnx_with_dynamic_axes_takes_shape(cnns, cli, tmp_path):
    folder, _ = cnns
    out = tmp_path / "bench.json"
    args = ("bench", folder / "wide-any-size.onnx", "--profile", "cpu-1thread", "--min-time", "0.02", "--json", out)
    assert_one_line_error(cli(*args), "dynamic axes [2, 3]", "--shape image=<n>x3x<h>x<w>")
    assert not out.exists()
    result = cli(*args, "--shape", "image=1x3x16x16")
    assert result.code == 0, result.err
    measured = json.loads(out.read_text())["measurements"]
    assert [(m["runtime"], m["batch"]) for m in measured] == [("onnxruntime", 1), ("onnxruntime", 64)]
    assert all(m["median_s"] > 0 for m in measured)


@pytest.mark.parametrize("shape, fragments", [
    ("image=1x3x16", ["has 4 axes, --shape gives 3"]),
    ("pixels=1x3x8x8", ["--shape names pixels", "inputs are image"]),
    ("image=1x4x8x8", ["axis 1 fixed at 3", "gives 4"]),
    ("image=1x3x0x8", ["positive dimensions"]),
    ("image=1x3x4x4", ["onnxruntime cannot run flatten.onnx on inputs image=1x3x4x4"]),  # the graph accepts only 8x8
])
def test_inputs_that_cannot_be_fed_are_one_line_errors(cnns, cli, tmp_path, shape, fragments):
    folder, _ = cnns
    out = tmp_path / "bench.json"
    result = cli("bench", folder / "flatten.onnx", "--profile", "cpu-1thread", "--shape", shape, "--json", out)
    assert_one_line_error(result, *fragments)
    assert not out.exists()


def test_bad_files_and_runtimes_are_one_line_errors(cnns, cli, tmp_path):
    folder, _ = cnns
    not_onnx = tmp_path / "model.onnx"
    not_onnx.write_bytes(b"\x08\x07garbage that is no protobuf graph" * 10)
    out = tmp_path / "out.json"
    assert_one_line_error(cli("bench", not_onnx, "--json", out), "is not a valid ONNX model")
    assert_one_line_error(cli("bench", tmp_path / "missing.onnx", "--json", out), "missing.onnx does not exist")
    assert_one_line_error(cli("bench", folder / "wide.onnx", "--runtimes", "onnxruntime,tvm", "--json", out), "unknown runtime 'tvm'")
    assert_one_line_error(cli("bench", folder / "wide.onnx", "--runtime", "torch-eager", "--json", out), "torch-eager cannot run wide.onnx", "no torch module")
    assert_one_line_error(cli("speedup", folder / "wide.onnx", not_onnx, "--json", out), "is not a valid ONNX model")
    assert not out.exists()


def test_shape_needs_name_and_dims():
    with pytest.raises(ConfigError, match="NAME=DIMS"):
        parse_shapes(["1x3x8x8"])
