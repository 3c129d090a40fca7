import json

import pytest
import torch
from conftest import TINY

from dropbench.checkpoint import WEIGHTS, load_checkpoint
from dropbench.data import load_dataset
from dropbench.errors import ConfigError, TrainingDiverged
from dropbench.methods import get_method
from dropbench.models import build_model, default_arch
from dropbench.runs import RunSpec, train_run
from dropbench.train import TrainConfig, _lr_factor, evaluate, fit


def test_same_seed_same_checkpoint_bytes(tmp_path):
    spec = RunSpec("a", "dropout", {"p": 0.3}, hidden=(16,), train=TINY)
    train_run(spec, tmp_path / "a")
    train_run(spec, tmp_path / "b")
    train_run(spec.with_seed(1), tmp_path / "c")
    a, b, c = ((tmp_path / n / WEIGHTS).read_bytes() for n in "abc")
    assert a == b
    assert a != c


def test_training_learns_and_records_history(tmp_path):
    out = train_run(RunSpec("m", "dense", hidden=(32,), train=TrainConfig(epochs=8)), tmp_path / "m")
    manifest = load_checkpoint(out).manifest
    history = manifest["train"]["history"]
    assert len(history) == 8 and history[-1]["loss"] < history[0]["loss"]
    assert manifest["metrics"]["accuracy"] > 0.8  # 10 classes: chance is 0.1


def test_divergence_keeps_last_good_weights(tmp_path):
    spec = RunSpec("boom", "dense", hidden=(16,), train=TrainConfig(epochs=3, lr=1e12, optimizer="sgd"))
    with pytest.raises(TrainingDiverged, match="diverged.*saved to"):
        train_run(spec, tmp_path / "boom")
    checkpoint = load_checkpoint(tmp_path / "boom")  # still a valid, loadable checkpoint
    assert "diverged" in checkpoint.manifest["diverged"]
    assert all(torch.isfinite(p).all() for p in checkpoint.model.parameters())


def test_schedules_and_sgd_run():
    data = load_dataset("digits")
    for schedule in ("cosine", "step"):
        model = build_model(default_arch("mlp", data, [16]))
        fit(model, data, TrainConfig(epochs=1, optimizer="sgd", schedule=schedule, lr=0.05))
        assert evaluate(model, data, "val")["accuracy"] > 0.1


def test_lstm_language_model_trains_one_epoch():
    data = load_dataset("pydoc-text")
    arch = {**default_arch("lstm", data, [32]), "seq_len": 32}
    model = build_model(arch)
    before = evaluate(model, data, "val")["perplexity"]
    result = fit(model, data, TrainConfig(epochs=1, batch_size=256, lr=3e-3))
    assert result.steps > 0
    assert evaluate(model, data, "val")["perplexity"] < before


def test_bad_train_config_and_method_params():
    with pytest.raises(ValueError, match="optimizer"):
        TrainConfig(optimizer="rmsprop")
    with pytest.raises(ConfigError, match="no parameter 'q'"):
        get_method("dropout", {"q": 1})
    with pytest.raises(ConfigError, match=r"p must be in \[0, 1\)"):
        get_method("dropout", {"p": "1.5"})
    with pytest.raises(ConfigError, match="mode must be"):
        get_method("magnitude", {"mode": "channel"})


def test_magnitude_weight_finetune_keeps_zeros(tmp_path):
    spec = RunSpec("mw", "magnitude", {"mode": "weight", "fraction": 0.5, "finetune_epochs": 1}, hidden=(16,), train=TINY)
    metrics = load_checkpoint(train_run(spec, tmp_path / "mw")).metrics
    weights = 64 * 16 + 16 * 10
    assert metrics["nonzero_params"] == metrics["params"] - weights // 2


def test_manifest_records_everything(tiny_run):
    manifest = json.loads((tiny_run / "manifest.json").read_text())
    for key in ("format_version", "arch", "method", "data", "train", "metrics", "files", "tensors", "versions", "fingerprint"):
        assert key in manifest, key
    for key in ("accuracy", "params", "nonzero_params", "flops"):
        assert key in manifest["metrics"], key


def test_the_linear_schedule_holds_then_falls_to_zero():
    config = TrainConfig(schedule="linear", hold=0.5)
    assert [round(_lr_factor(config, p), 6) for p in (0.0, 0.5, 0.75, 1.0)] == [1.0, 1.0, 0.5, 0.0]
    assert _lr_factor(TrainConfig(schedule="linear"), 0.25) == 0.75
    with pytest.raises(ValueError, match="hold must be in"):
        TrainConfig(schedule="linear", hold=1.0)
