import json

import numpy as np
import onnx
import pytest
import torch
from conftest import assert_one_line_error
from onnx import numpy_helper

from dropbench import export as export_module
from dropbench.checkpoint import MANIFEST, ONNX, load_checkpoint
from dropbench.errors import ExportError
from dropbench.export import export_checkpoint
from dropbench.profiles import load_profile
from dropbench.runs import RunSpec, train_run
from dropbench.runtimes.onnxruntime import ort_session
from dropbench.train import TrainConfig


def test_export_records_hash_and_parity(tiny_run):
    checkpoint = load_checkpoint(tiny_run)  # loading re-verifies the ONNX file's hash too
    assert ONNX in checkpoint.manifest["files"]
    assert checkpoint.manifest["onnx"]["parity_max_abs_diff"] <= 1e-4
    assert checkpoint.manifest["onnx"]["parity_inputs"] == "held-out test split"


def test_onnx_has_a_dynamic_batch_axis(tiny_run):
    graph = onnx.load(str(tiny_run / ONNX)).graph
    assert graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    session = ort_session(tiny_run / ONNX, load_profile("cpu-1thread"))
    checkpoint = load_checkpoint(tiny_run)
    for batch in (1, 7, 130):
        x = torch.rand(batch, 1, 8, 8)
        got = session.run(None, {"input": x.numpy()})[0]
        with torch.no_grad():
            assert np.abs(got - checkpoint.model(x).numpy()).max() < 1e-4


def export_with_shifted_logits(monkeypatch) -> None:
    """The real exporter, then 1.0 added to the output layer's bias in the written graph: every logit
    onnxruntime computes is off by 1 from torch's, on any CPU (a tolerance of 0 alone is not enough:
    on some CPUs onnxruntime and torch agree bit for bit on the tiny net)."""
    real_export = export_module.export_model

    def export(model, path):
        real_export(model, path)
        proto = onnx.load(str(path))
        [last] = [node for node in proto.graph.node if proto.graph.output[0].name in node.output]
        [bias] = [tensor for tensor in proto.graph.initializer if tensor.name == last.input[2]]
        bias.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(bias) + np.float32(1.0), bias.name))
        onnx.save(proto, str(path))

    monkeypatch.setattr(export_module, "export_model", export)


def test_failed_parity_keeps_the_checkpoint_unchanged(tiny_copy, cli, monkeypatch):
    export_with_shifted_logits(monkeypatch)
    before = (tiny_copy / MANIFEST).read_bytes()
    (tiny_copy / ONNX).unlink()
    manifest = json.loads(before)
    manifest["files"].pop(ONNX)
    (tiny_copy / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ExportError, match="onnxruntime disagrees"):
        export_checkpoint(tiny_copy, tolerance=0.0)
    assert not (tiny_copy / ONNX).exists()
    assert [p.name for p in tiny_copy.iterdir() if p.name.startswith(".")] == [".dropbench-output"]
    assert_one_line_error(cli("export", tiny_copy, "--tolerance", "0"), "max |diff|")


@pytest.mark.parametrize("model,data,hidden", [("lenet5", "digits", (32,)), ("lstm", "pydoc-text", (16,))])
def test_other_models_export_with_parity(tmp_path, model, data, hidden):
    out = train_run(RunSpec("m", "dropout", model=model, data=data, hidden=hidden, train=TrainConfig(epochs=1, batch_size=512)), tmp_path / "m")
    result = export_checkpoint(out)
    assert result.max_abs_diff <= 1e-4
