"""Hostile or careless input (issue 11): checkpoints, caches, profiles, IDX files and flags from
someone else end in one `error:` line, within bounded memory and time, and never hurt the user's
files. One section per numbered item of the issue."""

from __future__ import annotations

import gzip
import json
import os
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import pytest
from conftest import TINY, assert_one_line_error, assert_one_line_error_process, run_limited
from test_checkpoint import edit_manifest
from test_data import write_idx
from test_history import project, record_history, run_cli  # noqa: F401  (project is a fixture)

from dropbench.checkpoint import MANIFEST, ONNX, WEIGHTS, checkpoint_dirs, file_record, load_checkpoint
from dropbench.data import load_dataset, read_idx
from dropbench.errors import CheckpointError, ConfigError, DataError, DropbenchError, ProfileError
from dropbench.fsutil import OUTPUT_MARKER, check_output_dir, recover_interrupted, staged_dir
from dropbench.history import in_range
from dropbench.profiles import validate_profile
from dropbench.runs import CACHE_MARKER, RunSpec, cached_run, entry_name
from dropbench.train import TrainConfig

PY = sys.executable


# --- 1. --force replaces only dropbench outputs, never /, ~, the working directory or its parents


def test_force_refuses_protected_directories_even_with_a_marker(tmp_path, cli, monkeypatch):
    home, work = tmp_path / "home", tmp_path / "home" / "thesis" / "chapter"
    work.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    for directory in (home, work, work.parent):
        (directory / OUTPUT_MARKER).touch()  # even a planted marker does not make them replaceable
    for target in ("/", str(home), ".", "..", str(work.parent), "~"):
        path = Path(target).expanduser()
        assert_one_line_error(cli("train", "--method", "dense", "--out", path, "--force"), "never replaces")
    assert work.is_dir() and (work.parent / OUTPUT_MARKER).exists()
    assert_one_line_error(cli("train", "--method", "dense", "--out", tmp_path / "other" / "x" / ".."), "does not name a directory of its own")


def test_force_replaces_an_earlier_output_but_not_a_foreign_directory(tmp_path):
    foreign = tmp_path / "thesis"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("years of work")
    with pytest.raises(DropbenchError, match="not a dropbench output"):
        check_output_dir(foreign, force=True)
    with staged_dir(tmp_path / "run") as tmp:
        (tmp / "a").write_text("1")
    with staged_dir(tmp_path / "run", force=True) as tmp:
        (tmp / "b").write_text("2")
    assert sorted(os.listdir(tmp_path / "run")) == [OUTPUT_MARKER, "b"]
    assert (foreign / "thesis.tex").read_text() == "years of work"


# --- 2. memory before validation


def test_huge_layers_in_a_small_checkpoint_are_refused_before_allocating(tiny_copy):
    """A 64-65536-65536-10 MLP needs 16 GiB: the check against the weights header must come first
    (the subprocess could not allocate it under its memory limit)."""
    edit_manifest(tiny_copy, lambda m: m["arch"].update(widths=[64, 65536, 65536, 10]))
    code = f"from dropbench.checkpoint import load_checkpoint; load_checkpoint({str(tiny_copy)!r})"
    result = run_limited([PY, "-c", code], timeout=60)
    assert "shape mismatch for 'layers.0.bias': the manifest's architecture needs [65536]" in result.stderr, result.stderr[-2000:]


def test_oversized_and_deeply_nested_manifests_are_refused_unread(tiny_copy):
    with open(tiny_copy / MANIFEST, "r+b") as f:
        f.truncate(200 << 20)  # sparse: 200 MB on paper, nothing on disk
    with pytest.raises(CheckpointError, match="more than the 16,777,216 allowed"):
        load_checkpoint(tiny_copy)
    (tiny_copy / MANIFEST).write_text('{"curves": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(CheckpointError, match="nests deeper than 32 levels"):
        load_checkpoint(tiny_copy)


def test_output_records_are_read_within_the_same_bounds(tmp_path, cli):
    """`dropbench report` and `dropbench cluster estimate` read an output's records as the manifests are read."""
    deep = "[" * 100_000 + "]" * 100_000
    (tmp_path / "claims.json").write_text(deep)
    assert_one_line_error(cli("report", tmp_path), "nests deeper than 32 levels")
    with open(tmp_path / "claims.json", "r+b") as f:
        f.truncate(200 << 20)  # sparse: 200 MB on paper, nothing on disk
    assert_one_line_error(cli("report", tmp_path), "more than the 16,777,216 allowed")
    (tmp_path / "runs" / "r").mkdir(parents=True)
    (tmp_path / "runs" / "r" / MANIFEST).write_text(deep)
    assert_one_line_error(cli("cluster", "estimate", tmp_path, "--other-seconds", "1"), "nests deeper than 32 levels")
    (tmp_path / "runs" / "r" / MANIFEST).write_text(json.dumps({"train": {"seconds": "long"}}))
    assert_one_line_error(cli("cluster", "estimate", tmp_path, "--other-seconds", "1"), "field 'train.seconds': Input should be a valid number")


def test_idx_headers_and_gzip_bombs_are_bounded(tmp_path):
    labels = tmp_path / "labels-idx1-ubyte"
    labels.write_bytes(bytes([0, 0, 8, 1]) + struct.pack(">I", 2_000_000_000) + b"\x01" * 16)
    with pytest.raises(DataError, match="2,000,000,000 values.*more than the 134,217,728 allowed"):
        read_idx(labels)
    labels.write_bytes(bytes([0, 0, 8, 1]) + struct.pack(">I", 20_000_000) + b"\x01" * 16)
    with pytest.raises(DataError, match="truncated or padded: the header says 20,000,000 bytes of data, the file holds 16 bytes"):
        read_idx(labels)
    bomb = tmp_path / "bomb-idx3-ubyte.gz"  # 100 KB that expands to 100 MB behind a small header
    bomb.write_bytes(gzip.compress(bytes([0, 0, 8, 3]) + struct.pack(">3I", 10, 28, 28) + bytes(100 << 20), compresslevel=1))
    with pytest.raises(DataError, match="the file holds more"):
        read_idx(bomb)


def test_an_idx_header_of_255_dimensions_is_refused(tmp_path, cli):
    """numpy cannot hold 255 dimensions (it raised a ValueError through `dropbench train`)."""
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(20))
    (tmp_path / "train-images-idx3-ubyte").write_bytes(bytes([0, 0, 8, 255]) + struct.pack(">255I", *[1] * 255) + b"\x01")
    out = tmp_path / "run"
    result = cli("train", "--method", "dense", "--data", f"idx:{tmp_path}", "--out", out)
    assert_one_line_error(result, "train-images-idx3-ubyte: its header declares 255 dimensions")
    assert not out.exists()


def test_an_idx_bomb_at_the_bound_is_refused_before_its_float32_copy(tmp_path):
    """A 1 MB gzip whose header declares 1 GiB of pixels (the former bound) decodes to a 4 GiB
    float32 array: refused from its header, within the memory limit, before anything trains."""
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(1 << 14))
    with gzip.open(tmp_path / "train-images-idx3-ubyte.gz", "wb", compresslevel=9) as f:
        f.write(bytes([0, 0, 8, 3]) + struct.pack(">3I", 1 << 14, 256, 256))
        for _ in range(64):
            f.write(bytes(16 << 20))  # 64 x 16 MiB of zeros: 1 GiB, all that the header declares
    assert (tmp_path / "train-images-idx3-ubyte.gz").stat().st_size < 2 << 20
    out = tmp_path / "run"
    result = run_limited([PY, "-m", "dropbench", "train", "--method", "dense", "--data", f"idx:{tmp_path}", "--out", str(out)])
    assert_one_line_error_process(result, "(1,073,741,824 values), more than the 134,217,728 allowed")
    assert not out.exists()


# --- 3. paths in a manifest stay inside the run directory


@pytest.mark.parametrize("name", ["../../etc/passwd", "/etc/passwd", "..", ".hidden", "sub/model.onnx"])
def test_manifest_file_names_are_plain_names(tiny_copy, name):
    edit_manifest(tiny_copy, lambda m: m["files"].update({name: {"sha256": "0" * 64, "bytes": 1}}))
    with pytest.raises(CheckpointError, match="field 'files.*String should match pattern") as e:
        load_checkpoint(tiny_copy)
    assert "root:" not in str(e.value)  # nothing of the named file leaks into the message


def test_symlinks_and_special_files_are_refused(tiny_copy, tmp_path):
    weights = tiny_copy / WEIGHTS
    real = tmp_path / "elsewhere.safetensors"
    weights.rename(real)
    weights.symlink_to(real)
    with pytest.raises(CheckpointError, match="symbolic link"):
        load_checkpoint(tiny_copy)
    weights.unlink()
    weights.symlink_to("/dev/zero")
    with pytest.raises(CheckpointError, match="symbolic link"):
        load_checkpoint(tiny_copy)
    weights.unlink()
    os.mkfifo(weights)  # would block a plain open() forever
    with pytest.raises(CheckpointError, match="not a regular file"):
        load_checkpoint(tiny_copy)


def test_variants_outside_the_run_directory_are_refused(tiny_copy, tiny_run, tmp_path):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "v").mkdir()
    (tiny_copy / "variants").symlink_to(victim)
    edit_manifest(tiny_copy, lambda m: m.update(variants={"v": "variants/v"}))
    with pytest.raises(CheckpointError, match="leaves the checkpoint directory"):
        checkpoint_dirs(tiny_copy)
    edit_manifest(tiny_copy, lambda m: m.update(variants={"v": "variants/../../victim"}))
    with pytest.raises(CheckpointError, match="field 'variants.v'"):
        checkpoint_dirs(tiny_copy)
    assert os.listdir(victim / "v") == []  # nothing was written there


# --- 4. argument injection


def test_a_commit_range_is_never_an_option(project, tmp_path, capsys):  # noqa: F811
    record_history(project)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    code, _, err = run_cli("history", "--", f"--output={victim}", cwd=project, capsys=capsys)
    assert code == 2 and err.startswith("error:") and "is not a git commit range" in err
    assert victim.read_text() == "precious"
    with pytest.raises(ConfigError, match="not a git commit range"):
        in_range([], "-x..HEAD", project)


# --- 5. concurrency on one cache

CONCURRENT = """
import json, sys
from pathlib import Path
from dropbench.export import ensure_exported
from dropbench.runs import RunSpec, cached_run, train_run
from dropbench.train import TrainConfig
spec = RunSpec("c", "dense", hidden=(8,), train=TrainConfig(epochs=1))
entry = ensure_exported(cached_run(spec, root=Path(sys.argv[1])))  # what the claims do
train_run(spec, Path(sys.argv[2]), force=True)
manifest = json.loads((entry / "manifest.json").read_text())
print(json.dumps([manifest["created"], manifest["train"]["seconds"], sorted(manifest["files"])]))
"""


def test_two_processes_share_one_cache_entry_and_one_out(tmp_path):
    spec_c = RunSpec("c", "dense", hidden=(8,), train=TrainConfig(epochs=1))  # as CONCURRENT's
    cache, out = tmp_path / "cache", tmp_path / "out"
    args = [PY, "-c", CONCURRENT, str(cache), str(out)]
    procs = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err[-2000:] for _, err in results]
    first, second = (json.loads(stdout) for stdout, _ in results)
    assert first == second  # one training: the second process waited, then reused it
    assert first[2] == [ONNX, WEIGHTS]
    assert load_checkpoint(out).manifest["files"].keys() == {WEIGHTS}
    assert sorted(p.name for p in cache.iterdir() if p.name != CACHE_MARKER) == [entry_name(spec_c)]  # one entry, no leftovers


# --- 6. a cache that heals


def test_a_damaged_cache_entry_is_rebuilt_and_reported(tmp_path, capsys):
    spec = RunSpec("heal", "structural", {"p": 0.5, "lower_bound": 4}, hidden=(16,), train=TINY)
    entry = cached_run(spec, root=tmp_path)
    variant = checkpoint_dirs(entry)[1]
    (variant / WEIGHTS).write_bytes(b"rot")
    assert cached_run(spec, root=tmp_path) == entry
    assert "damaged" in capsys.readouterr().err
    assert all(load_checkpoint(d) for d in checkpoint_dirs(entry))
    edit_manifest(entry, lambda m: m.update(metrics="not a mapping"))  # valid JSON, wrong shape
    cached_run(spec, root=tmp_path)
    assert "field 'metrics'" in capsys.readouterr().err
    assert load_checkpoint(entry).metrics["params"] > 0


# --- 7. interruption

WRITER = """
import os, sys, time
from pathlib import Path
from dropbench.fsutil import staged_dir
target, mode = Path(sys.argv[1]), sys.argv[2]
if mode == "between-renames":  # die right after the old output was moved aside
    real_replace = os.replace
    def replace(src, dst):
        real_replace(src, dst)
        if Path(src) == target:
            os.kill(os.getpid(), 9)
    os.replace = replace
with staged_dir(target, force=True) as tmp:
    (tmp / "new").write_bytes(b"x" * (1 << 20))
    if mode == "mid-write":
        print("ready", flush=True)
        time.sleep(60)
"""


def _earlier_output(target: Path) -> None:
    with staged_dir(target) as tmp:
        (tmp / "old").write_text("the earlier output")


def test_kill_9_mid_write_leaves_the_old_output_and_the_partial_is_cleaned(tmp_path):
    target = tmp_path / "out"
    _earlier_output(target)
    writer = subprocess.Popen([PY, "-c", WRITER, str(target), "mid-write"], stdout=subprocess.PIPE, text=True)
    assert writer.stdout.readline().strip() == "ready"
    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=30)
    partials = [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")]
    assert len(partials) == 1 and (target / "old").read_text() == "the earlier output"
    with staged_dir(target, force=True) as tmp:  # the next run
        (tmp / "next").write_text("1")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert sorted(os.listdir(target)) == [OUTPUT_MARKER, "next"]


def test_kill_9_between_the_renames_never_loses_the_output(tmp_path):
    target = tmp_path / "out"
    _earlier_output(target)
    writer = run_limited([PY, "-c", WRITER, str(target), "between-renames"], timeout=60)
    assert writer.returncode == -signal.SIGKILL
    assert not target.exists() and any(p.name.endswith(".old") for p in tmp_path.iterdir())
    recover_interrupted(tmp_path)  # what the next run does first
    assert (target / "old").read_text() == "the earlier output"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


# --- 8. profiles and numbers


@pytest.mark.parametrize("change, field", [
    ({"threads": 100_000}, "threads"),
    ({"batch_sizes": [10**9]}, "batch_sizes.0"),
    ({"batch_sizes": [-1]}, "batch_sizes.0"),
    ({"batch_sizes": [0]}, "batch_sizes.0"),
    ({"threads": 2.0}, "threads"),
    ({"peak_flops": float("nan")}, "peak_flops"),
    ({"name": "../x"}, "name"),
])
def test_profile_numbers_are_bounded(change, field):
    with pytest.raises(ProfileError, match=f"field '{field}'"):
        validate_profile({"name": "p", "device": "cpu", "threads": 2, **change})


@pytest.mark.parametrize("flag, value", [
    ("--hidden", "-5"), ("--hidden", "0"), ("--hidden", "100000000"), ("--epochs", "0"), ("--batch-size", "0"),
    ("--batch-size", str(10**9)), ("--lr", "nan"), ("--lr", "-1"), ("--weight-decay", "nan"), ("--weight-decay", "inf"),
    ("--seed", str(2**40)), ("--seed", "-1"), ("--grad-clip", "-1"),
])
def test_train_numbers_are_bounded(cli, tmp_path, flag, value):
    assert_one_line_error(cli("train", "--method", "dense", "--out", tmp_path / "o", flag, value), f"argument {flag}")
    assert not (tmp_path / "o").exists()


def test_bench_numbers_are_bounded(cli, tiny_run):
    assert_one_line_error(cli("bench", tiny_run, "--batch-size", "0"), "argument --batch-size")
    assert_one_line_error(cli("bench", tiny_run, "--min-time", "nan"), "argument --min-time")


# --- 9. one line where a traceback was


@pytest.mark.parametrize("change, field", [
    (lambda m: m["metrics"].update(params="12"), "metrics.params"),
    (lambda m: m["arch"].update(widths="64,32,10"), "arch.mlp.widths"),
    (lambda m: m["tensors"]["layers.0.weight"].update(shape=None), "tensors.layers.0.weight.shape"),
    (lambda m: m["files"][WEIGHTS].update(bytes=-1), "files.model.safetensors.bytes"),
    (lambda m: m["arch"].update(kind="transformer"), "arch"),
    (lambda m: m.update(variants=[]), "variants"),
])
def test_manifest_fields_of_the_wrong_type(tiny_copy, cli, change, field):
    edit_manifest(tiny_copy, change)
    assert_one_line_error(cli("export", tiny_copy), f"field '{field}'")


def test_onnx_with_external_data_is_refused(tiny_copy, cli):
    model = onnx.load(tiny_copy / ONNX)
    tensor = model.graph.initializer[0]
    tensor.ClearField("raw_data")
    tensor.data_location = onnx.TensorProto.EXTERNAL
    tensor.external_data.add(key="location", value="../../../../etc/passwd")
    onnx.save(model, tiny_copy / ONNX)
    edit_manifest(tiny_copy, lambda m: m["files"].update({ONNX: file_record(tiny_copy / ONNX)}))
    assert_one_line_error(cli("bench", tiny_copy, "--profile", "cpu-1thread"), "refers to external data files")


@pytest.mark.parametrize("images, labels, t10k_labels, message", [
    ((0, 6, 6), (0,), None, "holds no images"),
    ((5, 6, 6), (5,), None, "need at least 10"),
    ((50, 6, 6), (50, 2), None, "do not match"),
    ((50, 36), (50,), None, "do not match"),
    ((50, 6, 6), (50,), (20, 1), "do not match"),  # once broadcast into a wrong accuracy
])
def test_idx_shapes_are_checked(tmp_path, images, labels, t10k_labels, message):
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros(images))
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(labels))
    if t10k_labels:
        write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((20, 6, 6)))
        write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(t10k_labels))
    with pytest.raises(DataError, match=message):
        load_dataset.__wrapped__(f"idx:{tmp_path}")


def test_output_targets_are_checked_before_the_work(cli, tiny_run, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    start = time.perf_counter()
    assert_one_line_error(cli("bench", tiny_run, "--json", blocker / "b.json", "--min-time", "60"), "is a file")
    assert_one_line_error(cli("bench", tiny_run, "--json", tmp_path, "--min-time", "60"), "is a directory")
    assert_one_line_error(cli("train", "--method", "dense", "--epochs", "1000", "--out", blocker / "run"), "is a file")
    assert_one_line_error(cli("train", "--method", "dense", "--out", tmp_path / ("x" * 300)), "longer than 255 bytes")
    assert time.perf_counter() - start < 30  # 60 s of timing or 1000 epochs were never started


def test_markup_and_newlines_in_a_path_print_literally(cli, tmp_path):
    odd = tmp_path / "[/]x[bold]\nsecond line"
    result = cli("export", odd)
    assert_one_line_error(result, "[/]x[bold] second line")


def test_subprocess_error_is_one_line_without_traceback(tmp_path):
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "mine").write_text("x")
    result = run_limited([PY, "-m", "dropbench", "train", "--method", "dense", "--out", str(taken), "--force"], timeout=60)
    assert_one_line_error_process(result, "not a dropbench output")
    assert (taken / "mine").read_text() == "x"
