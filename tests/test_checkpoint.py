import json
import os

import pytest
from conftest import assert_one_line_error

from dropbench.checkpoint import MANIFEST, WEIGHTS, load_checkpoint
from dropbench.errors import CheckpointError
from dropbench.fsutil import OUTPUT_MARKER, staged_dir


def edit_manifest(run, change):
    path = run / MANIFEST
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))


def test_valid_checkpoint_loads_without_training_code(tiny_run):
    checkpoint = load_checkpoint(tiny_run)
    assert checkpoint.arch["widths"] == [64, 32, 10]
    assert checkpoint.metrics["params"] == sum(p.numel() for p in checkpoint.model.parameters())


@pytest.mark.parametrize(
    "damage,message",
    [
        (lambda run: (run / WEIGHTS).unlink(), "model.safetensors is missing"),
        (lambda run: (run / WEIGHTS).write_bytes((run / WEIGHTS).read_bytes()[:100]), "truncated"),
        (lambda run: (run / MANIFEST).write_text("{not json"), "not valid JSON"),
        (lambda run: edit_manifest(run, lambda m: m.update(format_version=99)), "format version 99"),
        (lambda run: edit_manifest(run, lambda m: m["arch"]["widths"].__setitem__(1, 33)), "shape mismatch"),
        (lambda run: edit_manifest(run, lambda m: m.pop("arch")), "field 'arch': Field required"),
    ],
)
def test_damaged_checkpoints_give_one_clear_error(tiny_copy, cli, damage, message):
    damage(tiny_copy)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(tiny_copy)
    assert_one_line_error(cli("bench", tiny_copy), message)


def test_same_size_corruption_is_caught_by_the_hash(tiny_copy):
    raw = bytearray((tiny_copy / WEIGHTS).read_bytes())
    raw[-1] ^= 0xFF
    (tiny_copy / WEIGHTS).write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="SHA-256"):
        load_checkpoint(tiny_copy)


def test_missing_directory_and_not_a_checkpoint(tmp_path, cli):
    assert_one_line_error(cli("export", tmp_path / "nope"), "does not exist")
    (tmp_path / "empty").mkdir()
    assert_one_line_error(cli("export", tmp_path / "empty"), "manifest.json is missing")


def test_staged_dir_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out"
    with pytest.raises(RuntimeError):
        with staged_dir(target) as tmp:
            (tmp / "half.bin").write_bytes(b"x")
            raise RuntimeError("interrupted")
    assert not target.exists()
    assert os.listdir(tmp_path) == []


def test_staged_dir_replaces_only_on_success(tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    (target / "old").write_text("keep me")
    (target / OUTPUT_MARKER).touch()  # an earlier dropbench output, which --force may replace
    with pytest.raises(RuntimeError):
        with staged_dir(target, force=True) as tmp:
            (tmp / "new").write_text("new")
            raise RuntimeError("interrupted")
    assert (target / "old").read_text() == "keep me"
    with staged_dir(target, force=True) as tmp:
        (tmp / "new").write_text("new")
    assert sorted(os.listdir(target)) == [OUTPUT_MARKER, "new"]
