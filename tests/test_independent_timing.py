"""benchmarks/independent_timing.py: pairs read from an output's files, bad input refused in one
line, and none of dropbench's timing imported."""

import json
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import assert_one_line_error_process

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "independent_timing.py"


def record(candidate: str, runtime: str = "onnxruntime", batch: int = 64, **fields) -> dict:
    return {"baseline": "dense", "candidate": candidate, "runtime": runtime, "batch": batch, "profile": "cpu-2thread", "speedup": 2.0,
            **fields}


def fake_output(tmp_path: Path, model_dir: Path | None = None) -> Path:
    """runs/dense (and its second seed), runs/structural with a variant, and their speedups.json."""
    out = tmp_path / "out"
    for directory, name in (("dense", "dense"), ("dense.seed1", "dense"), ("structural", "structural"), ("structural/variants/keep95", "keep95")):
        path = out / "runs" / directory
        if model_dir:
            shutil.copytree(model_dir, path, dirs_exist_ok=True)
        path.mkdir(parents=True, exist_ok=True)
        (path / "manifest.json").write_text(json.dumps({"name": name}))
    records = [record("dense"), record("structural", threads=1), record("keep95"), record("keep95", "torch-eager"), record("keep95", batch=1),
               {**record("structural", "torch-compile"), "skipped": "no compiler"}]
    (out / "speedups.json").write_text(json.dumps(records))
    return out


def test_pairs_are_every_compacted_checkpoint_of_the_runtime_and_batch_against_its_baseline(tmp_path):
    out = fake_output(tmp_path)
    script = runpy.run_path(str(SCRIPT))
    pairs = script["pairs_of"](out, "onnxruntime", 64)
    assert [(p["candidate"], p["threads"]) for p in pairs] == [("structural", 1), ("keep95", 2)]  # threads: the record's, else the profile's
    assert pairs[1]["candidate_dir"] == out / "runs" / "structural" / "variants" / "keep95"
    assert pairs[1]["baseline_dir"] == out / "runs" / "dense"  # the first seed, the one timed


def test_a_dry_run_prints_the_table(tmp_path, tiny_run):
    out = fake_output(tmp_path, tiny_run)
    result = subprocess.run([sys.executable, SCRIPT, out, "--calls", "2", "--processes", "1"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "| structural / dense (cpu-2thread) |" in result.stdout and "| keep95 / dense (cpu-2thread) |" in result.stdout


@pytest.mark.parametrize("setup,message", [
    (lambda out: None, "is not a directory"),
    (lambda out: out.mkdir(), "has no speedups.json"),
    (lambda out: (out.mkdir(), (out / "speedups.json").write_text("{")), "cannot be read as JSON"),
    (lambda out: (out.mkdir(), (out / "speedups.json").write_text("{}")), "is not a list of records"),
    (lambda out: (out.mkdir(), (out / "speedups.json").write_text(json.dumps([record("gone")]))), "names no checkpoint under runs/"),
])
def test_a_missing_or_invalid_output_is_one_error_line(tmp_path, setup, message):
    out = tmp_path / "out"
    setup(out)
    result = subprocess.run([sys.executable, SCRIPT, out], capture_output=True, text=True, timeout=60)
    assert_one_line_error_process(result, message)


def test_nothing_of_dropbench_is_imported():
    """Independence: the script reads files; only its torch snippet loads a checkpoint."""
    code = f"import runpy, sys; runpy.run_path({str(SCRIPT)!r}); print(sorted(m for m in sys.modules if m.startswith('dropbench')))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == "[]", result.stderr
