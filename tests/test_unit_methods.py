"""What the three unit-removing methods share: trained from the CLI, exported to ONNX with parity,
loaded from the manifest alone, parameter counts as the manifest says."""

from __future__ import annotations

import pytest

from dropbench.checkpoint import load_checkpoint
from dropbench.cli import main
from dropbench.flops import count
from dropbench.report.sections import curves_section

RUNS = {  # run name -> method and its --set arguments
    "dropout-compaction": ("dropout-compaction", ["strength=5"]),
    "targeted-weight": ("targeted", ["mode=weight"]),
    "targeted-unit": ("targeted", ["mode=unit", "prune_fraction=0.25"]),
    "structural": ("structural", ["lower_bound=4", "sweep_points=8"]),
}


@pytest.mark.parametrize("run", RUNS)
def test_train_export_load_from_manifest(run, tmp_path):
    out = tmp_path / run
    method, params = RUNS[run]
    args = ["train", "--method", method, "--data", "digits", "--hidden", "32,32", "--epochs", "2", "--out", str(out), "--quiet"]
    assert main(args + [a for p in params for a in ("--set", p)]) == 0
    checkpoint = load_checkpoint(out)
    paths = [out] + [out / sub for sub in checkpoint.manifest["variants"].values()]
    for path in paths:
        assert main(["export", str(path)]) == 0
        loaded = load_checkpoint(path)  # rebuilt from the manifest's architecture alone
        assert loaded.manifest["onnx"]["parity_max_abs_diff"] <= 1e-4
        counts = count(loaded.model)
        assert (counts.params, counts.nonzero_params, counts.flops) == tuple(loaded.metrics[k] for k in ("params", "nonzero_params", "flops"))
    if run == "structural":
        assert set(checkpoint.manifest["variants"]) == {"keep99", "keep95"}
        assert "structural: width" in curves_section({"structural": checkpoint.manifest})  # the curve reaches the report
    if run == "targeted-unit":
        assert checkpoint.model.hidden_sizes() == [32, 24]  # the input layer's units are never pruned
    if run == "targeted-weight":
        assert checkpoint.metrics["nonzero_params"] < checkpoint.metrics["params"]


ROUNDED = {  # method and its --set arguments, each rounding its kept widths to multiples of 8
    "dropout-compaction": ["strength=50", "threshold=0.5"],
    "targeted": ["mode=unit", "prune_fraction=0.4"],
    "magnitude": ["mode=unit", "fraction=0.4"],
    "structural": ["lower_bound=4", "sweep_points=8"],
}


@pytest.mark.parametrize("method", ROUNDED)
def test_width_multiple_rounds_every_kept_width(method, tmp_path):
    out = tmp_path / method
    params = ROUNDED[method] + ["width_multiple=8"]
    args = ["train", "--method", method, "--data", "digits", "--hidden", "36,20", "--epochs", "2", "--out", str(out), "--quiet"]
    assert main(args + [a for p in params for a in ("--set", p)]) == 0
    checkpoint = load_checkpoint(out)
    models = [checkpoint.model] + [load_checkpoint(out / sub).model for sub in checkpoint.manifest["variants"].values()]
    for model in models:
        assert all(w % 8 == 0 or w == full for w, full in zip(model.hidden_sizes(), (36, 20))), model.hidden_sizes()
    assert any(w not in (36, 20) for model in models for w in model.hidden_sizes())  # something was removed


@pytest.mark.parametrize("value,message", [
    ("0", "width_multiple must be >= 1"), ("64", "width_multiple 64 is wider than the narrowest hidden layer (20 units)"),
])
def test_a_bad_width_multiple_is_refused_before_training(value, message, tmp_path, capsys):
    out = tmp_path / "run"
    args = ["train", "--method", "magnitude", "--data", "digits", "--hidden", "36,20", "--epochs", "2", "--out", str(out), "--set", f"width_multiple={value}"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and not out.exists(), err
