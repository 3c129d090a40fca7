"""How fast dropbench's harness itself is: loading a checkpoint, exporting it, a timer's own overhead,
and a runner from the pytest plugin. Figures, not pass/fail thresholds (docs/design.md, "Measuring")."""

from __future__ import annotations

from dropbench.checkpoint import load_checkpoint
from dropbench.export import export_model
from dropbench.measure import timeit


def test_checkpoint_load(benchmark, checkpoint_dir):
    """Read, hash-check and rebuild a 3x1024 MLP checkpoint (every load verifies every file's SHA-256)."""
    checkpoint = benchmark(load_checkpoint, checkpoint_dir)
    assert checkpoint.metrics["params"] > 2_000_000


def test_onnx_export(benchmark, checkpoint_dir, tmp_path):
    """torch.onnx.export of the same model, without the parity check."""
    model = load_checkpoint(checkpoint_dir).model
    benchmark(export_model, model, tmp_path / "model.onnx")
    assert (tmp_path / "model.onnx").stat().st_size > 8_000_000


def test_timer_overhead(benchmark):
    """The fixed cost of one `timeit` call (calibration + MIN_SAMPLES samples) on a call that does nothing,
    and the per-call floor it reports for such a call: below it, a latency is the timer's, not the model's."""
    measurement = benchmark(timeit, lambda: None, min_run_time=0.0, warmup=0.0)
    benchmark.extra_info["noop_per_call_s"] = measurement.median
    assert measurement.median < 1e-5


def test_onnxruntime_batch_64(benchmark, dropbench_runner, checkpoint_dir):
    """The plugin's runner: onnxruntime, batch 64, on the session's profile (compare with `dropbench bench`)."""
    benchmark(dropbench_runner(checkpoint_dir, runtime="onnxruntime", batch=64))
