"""Hostile or careless input, second round (issue 22): result folders read by `report`,
`report --compare` and `cluster estimate`, the cache location, the user's data, two leftovers of
the first round and empty option values end in success or one `error:` line, never hang,
allocate without bound, read outside files or leave anything in --out. One section per numbered
item of the issue; the folders are written by hand (no training), so every test takes well under
a second."""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_one_line_error
from test_checkpoint import edit_manifest

import dropbench.data_files as data_files
from dropbench.checkpoint import MANIFEST, load_checkpoint
from dropbench.errors import CheckpointError, DropbenchError
from dropbench.runs import CACHE_MARKER, RunSpec, cache_directory, cached_run

CLAIM = {
    "id": "song-time", "paper": "song", "claim": "saves time", "metric": "time_saved", "claimed": 0.5, "bound": 0.1,
    "tolerance": "interval", "applies_to": ["cpu"], "unit": "x", "profile": "cpu-1thread", "fingerprint": {"cpu": "test"},
    "setup": {}, "verdict": "holds", "explanation": "", "measured": 0.3, "ci": [0.2, 0.4],
}
BENCH = {"checkpoint": "dense", "runtime": "onnxruntime", "batch": 1, "median_s": 0.001, "iqr_s": 0.0001, "samples_per_s": 1000.0,
         "warnings": [], "profile": "cpu-1thread"}
SPEEDUP = {"candidate": "small", "baseline": "dense", "runtime": "onnxruntime", "batch": 1, "speedup": 2.0, "ci": [1.8, 2.2],
           "flop_ratio": 3.0, "realisation": 0.67, "profile": "cpu-1thread"}


def write_output(directory: Path, claims=(CLAIM,), bench=(BENCH,), speedups=(SPEEDUP,)) -> Path:
    """A small reproduce-like output: one record of each kind, no runs."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, records in (("claims", claims), ("bench", bench), ("speedups", speedups)):
        (directory / f"{name}.json").write_text(json.dumps(list(records)))
    return directory


def write_timed_output(directory: Path, train_seconds=5.0, stages=None) -> Path:
    """What `cluster estimate` reads: a run's manifest with its training seconds and reproduce.json."""
    (directory / "runs" / "r").mkdir(parents=True, exist_ok=True)
    (directory / "runs" / "r" / MANIFEST).write_text(json.dumps({"train": {"seconds": train_seconds}}))
    (directory / "reproduce.json").write_text(json.dumps({"stages": stages or {"export + copy": 1.0, "time + claims": 2.0}}))
    return directory


# --- 1. a result folder is read as untrusted input


def test_a_crafted_output_reports_and_compares(tmp_path, cli):
    one, two = write_output(tmp_path / "one"), write_output(tmp_path / "two")
    assert cli("report", one, "--compare", two).code == 0
    assert "Side by side" in (one / "report.html").read_text()


def test_a_symlinked_record_file_is_refused_and_nothing_of_its_target_shown(tmp_path, cli):
    outside = tmp_path / "outside.json"
    outside.write_text(json.dumps([{**CLAIM, "explanation": "SECRET"}]))
    out = write_output(tmp_path / "out")
    (out / "claims.json").unlink()
    (out / "claims.json").symlink_to(outside)
    assert_one_line_error(cli("report", out), "symbolic link")
    assert not (out / "report.html").exists()


@pytest.mark.parametrize("special", ["fifo", "/dev/zero", "directory"])
def test_special_files_as_records_are_refused_unread(tmp_path, cli, special):
    out = write_output(tmp_path / "out")
    (out / "claims.json").unlink()
    if special == "fifo":
        os.mkfifo(out / "claims.json")  # a plain open() would block forever
    elif special == "directory":
        (out / "claims.json").mkdir()
    else:
        (out / "claims.json").symlink_to(special)
    assert_one_line_error(cli("report", out), "claims.json")


def test_a_path_in_a_record_is_never_opened(tmp_path, cli):
    """The profile a record names is a plain name, looked up as --profile NAME is: never a path."""
    profile = tmp_path / "mine.json"
    profile.write_text(json.dumps({"name": "mine", "device": "cpu", "threads": 1, "description": "OUTSIDE"}))
    for path in (str(profile), "/dev/zero", "../../etc/passwd"):
        out = write_output(tmp_path / "out", bench=[{**BENCH, "profile": path}])
        assert_one_line_error(cli("report", out), "record 0: field 'profile'")
    assert not (out / "report.html").exists()


@pytest.mark.parametrize(("file", "change", "field"), [
    ("claims", {"ci": "wide"}, "ci"),
    ("claims", {"ci": [1, 2, 3]}, "ci"),
    ("claims", {"measured": None}, "measured"),
    ("claims", {"measured": "high"}, "measured"),
    ("claims", {"id": None}, "id"),
    ("claims", {"profile": 3}, "profile"),
    ("claims", {"control": {"name": "c"}}, "control"),
    ("claims", {"conditions": [{"text": "t"}]}, "conditions"),
    ("claims", {"verdict": "maybe"}, "verdict"),
    ("claims", {"bound": 1e308}, "bound"),
    ("bench", {"median_s": "fast"}, "median_s"),
    ("bench", {"median_s": 0}, "median_s"),
    ("bench", {"batch": True}, "batch"),
    ("speedups", {"speedup": -1}, "speedup"),
    ("speedups", {"ci": None}, "needs speedup, ci"),
    ("speedups", {"flop_ratio": float("nan")}, "flop_ratio"),
])
def test_records_of_the_wrong_shape_are_one_line(tmp_path, cli, file, change, field):
    base = {"claims": CLAIM, "bench": BENCH, "speedups": SPEEDUP}[file]
    out = write_output(tmp_path / "out", **{file: [{**base, **change}]})
    assert_one_line_error(cli("report", out), f"{file}.json: record 0", field, "run the command that writes it again")
    assert_one_line_error(cli("report", write_output(tmp_path / "good"), "--compare", out), field)


@pytest.mark.parametrize("missing", ["id", "profile", "verdict", "bound", "claim"])
def test_claim_records_with_a_missing_key_are_one_line(tmp_path, cli, missing):
    out = write_output(tmp_path / "out", claims=[{k: v for k, v in CLAIM.items() if k != missing}])
    assert_one_line_error(cli("report", out), f"field {missing!r}: Field required")


def test_mathtext_in_names_is_drawn_as_written(tmp_path, cli):
    names = {"checkpoint": r"$\frac{a$", "runtime": "$x^$"}
    out = write_output(tmp_path / "out", bench=[{**BENCH, **names}], speedups=[{**SPEEDUP, "candidate": r"$\bad{$", "runtime": "$"}],
                       claims=[{**CLAIM, "id": "$x$", "conditions": [{"text": "$}$", "estimate": 1, "ci": [0, 2], "margin": 1, "at_most": True}]}])
    assert cli("report", out).code == 0
    assert r"$\frac{a$" in (out / "report.html").read_text()


def test_report_html_is_replaced_never_followed_and_a_directory_refused(tmp_path, cli):
    out = write_output(tmp_path / "out")
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (out / "report.html").symlink_to(victim)
    assert cli("report", out).code == 0
    assert victim.read_text() == "keep me" and not (out / "report.html").is_symlink()
    (out / "report.html").unlink()
    (out / "report.html").mkdir()
    (out / "report.html" / "notes").write_text("mine")
    assert_one_line_error(cli("report", out), "is a directory")
    assert (out / "report.html" / "notes").read_text() == "mine"


def test_a_paper_section_that_cannot_read_its_details_is_one_line(tmp_path, cli):
    claim = {**CLAIM, "id": "knodt2022-width", "paper": "knodt", "details": {"curves": 3}}
    assert_one_line_error(cli("report", write_output(tmp_path / "out", claims=[claim])), "not as dropbench writes them")


def test_a_symlinked_run_directory_is_refused(tmp_path, cli, tiny_run):
    out = write_output(tmp_path / "out")
    (out / "runs").mkdir()
    (out / "runs" / "dense").symlink_to(tiny_run)
    assert_one_line_error(cli("report", out), "symbolic link")


@pytest.mark.parametrize("seconds", [-1, float("nan"), float("inf"), 1e308, "long", True, None])
def test_cluster_estimate_refuses_seconds_that_are_no_duration(tmp_path, cli, seconds):
    out = write_timed_output(tmp_path / "out", train_seconds=seconds)
    assert_one_line_error(cli("cluster", "estimate", out), "train.seconds")
    out = write_timed_output(tmp_path / "other", stages={"export + copy": seconds, "time + claims": 1})
    assert_one_line_error(cli("cluster", "estimate", out), "stages.export + copy")


def test_cluster_estimate_of_a_fifo_or_a_gap_is_one_line(tmp_path, cli):
    out = write_timed_output(tmp_path / "out", stages={"export + copy": 1})
    assert_one_line_error(cli("cluster", "estimate", out), "no 'time + claims' seconds")
    (out / "runs" / "r" / MANIFEST).unlink()
    os.mkfifo(out / "runs" / "r" / MANIFEST)
    assert_one_line_error(cli("cluster", "estimate", out, "--other-seconds", "1"), "not a regular file")


# --- 2. the cache location


@pytest.mark.parametrize("where", ["/", "home", "cwd", "parent", "file", "loop", "/proc/self/cache", "foreign"])
def test_the_cache_is_a_directory_of_its_own(tmp_path, monkeypatch, where):
    home, work = tmp_path / "home", tmp_path / "home" / "work"
    work.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    (tmp_path / "file").write_text("x")
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "thesis.tex").write_text("years of work")
    path = {"home": home, "cwd": work, "parent": home, "file": tmp_path / "file", "loop": tmp_path / "loop",
            "foreign": tmp_path / "foreign"}.get(where, Path(where))
    with pytest.raises(DropbenchError, match="DROPBENCH_CACHE") as e:
        cache_directory(path)
    assert "\n" not in str(e.value)
    assert (tmp_path / "foreign" / "thesis.tex").read_text() == "years of work"


def test_a_new_cache_gets_its_marker_and_an_old_one_is_adopted(tmp_path):
    assert (cache_directory(tmp_path / "new") / CACHE_MARKER).is_file()
    (tmp_path / "old" / "dense-0123456789abcdef").mkdir(parents=True)
    assert (cache_directory(tmp_path / "old") / CACHE_MARKER).is_file()


def test_the_cache_from_the_environment_is_checked_before_training(monkeypatch):
    monkeypatch.setenv("DROPBENCH_CACHE", "/")
    with pytest.raises(DropbenchError, match="DROPBENCH_CACHE"):
        cached_run(RunSpec("never-trained", "dense"))


@pytest.mark.parametrize("command", ["claims", "reproduce"])
def test_a_bad_cache_is_one_line_before_any_claim_or_training(tmp_path, monkeypatch, cli, command):
    monkeypatch.setenv("DROPBENCH_CACHE", "/")
    extra = ["--out", tmp_path / "out"] if command == "reproduce" else []
    assert_one_line_error(cli(command, "--quick", *extra), "DROPBENCH_CACHE")
    assert not (tmp_path / "out").exists()


# --- 3. the user's data is bounded before anything is allocated or trained


def npy(array=None, shape=None) -> bytes:
    """A .npy file: `array`, or only a header that declares `shape` (float32)."""
    buffer = io.BytesIO()
    if array is not None:
        np.save(buffer, array)
    else:
        np.lib.format.write_array_header_1_0(buffer, {"descr": "<f4", "fortran_order": False, "shape": shape})
    return buffer.getvalue()


def write_npz(path: Path, members: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> str:
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return f"npz:{path}"


@pytest.mark.parametrize(("members", "words"), [
    ({"x.npy": npy(shape=(100_000, 100_000)), "y.npy": npy(np.zeros(10))}, "more than the 134,217,728 values allowed"),
    ({"x.npy": npy(np.zeros((10, 3))), "y": b"junk"}, "'y', which is not a .npy array"),
    ({"x.npy": npy(np.zeros((10, 0))), "y.npy": npy(np.zeros(10))}, "1 to 65,536 features"),
    ({"x.npy": npy(shape=(1, 10_000_000)), "y.npy": npy(np.zeros(1))}, "1 to 65,536 features"),
    ({"x.npy": npy(np.zeros((10, 3))), "y.npy": npy(np.full(10, 10**9))}, "labels must be integers from 0 to 65,535"),
    ({"x.npy": npy(np.array(["a"] * 10)), "y.npy": npy(np.zeros(10))}, "must be real numbers"),
])
def test_npz_data_is_bounded_before_training(tmp_path, cli, members, words):
    data = write_npz(tmp_path / "data.npz", members)
    assert_one_line_error(cli("train", "--method", "dense", "--data", data, "--out", tmp_path / "out"), words)
    assert not (tmp_path / "out").exists()


def test_a_deflate_bomb_is_refused_by_its_declared_size(tmp_path, cli, monkeypatch):
    monkeypatch.setattr(data_files, "DATA_MAX_BYTES", 1 << 20)  # the real bound is 1 GiB: too slow to compress in a test
    data = write_npz(tmp_path / "bomb.npz", {"x.npy": npy(np.zeros((64, 8192), np.float32)), "y.npy": npy(np.zeros(64))}, zipfile.ZIP_DEFLATED)
    assert (tmp_path / "bomb.npz").stat().st_size < 100_000
    assert_one_line_error(cli("train", "--method", "dense", "--data", data, "--out", tmp_path / "out"), "unpacks to 2,097,280 bytes")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("text", "words"), [
    (",".join(["1"] * 3_000_000) + "\n", "line 1 is longer than 4,194,304 characters"),
    (",".join(["1"] * 70_000) + "\n", "has 70,000 columns"),
    ("label\n1\n", "has 1 columns"),
    ("a,label\n1,1000000000\n2,0\n3,1\n", "labels must be integers from 0 to 65,535"),
])
def test_csv_data_is_bounded_before_training(tmp_path, cli, text, words):
    (tmp_path / "data.csv").write_text(text)
    assert_one_line_error(cli("train", "--method", "dense", "--data", f"csv:{tmp_path / 'data.csv'}", "--out", tmp_path / "out"), words)
    assert not (tmp_path / "out").exists()


def test_an_oversized_csv_is_refused_unread(tmp_path, cli):
    with open(tmp_path / "data.csv", "wb") as f:
        f.truncate(300 << 20)  # sparse: 300 MB on paper
    assert_one_line_error(cli("train", "--method", "dense", "--data", f"csv:{tmp_path / 'data.csv'}", "--out", tmp_path / "out"),
                          "more than the 268,435,456 allowed")


# --- 4. left from the first round


def test_an_input_index_past_the_input_is_one_line(tiny_copy, cli):
    edit_manifest(tiny_copy, lambda m: m["arch"].update(input_index=[*range(m["arch"]["widths"][0] - 1), 10_000]))
    with pytest.raises(CheckpointError, match="input_index 10000 lies past the 64 inputs"):
        load_checkpoint(tiny_copy)
    assert_one_line_error(cli("bench", tiny_copy, "--runtimes", "onnxruntime", "--profile", "cpu-1thread"), "lies past")


def test_a_format_version_true_is_no_version(tiny_copy):
    edit_manifest(tiny_copy, lambda m: m.update(format_version=True))
    with pytest.raises(CheckpointError, match="format version True"):
        load_checkpoint(tiny_copy)


# --- 5. an empty option is an error, not a default


@pytest.mark.parametrize("args", [
    ["reproduce", "--quick", "--cluster", "", "--out", "OUT"],
    ["reproduce", "--quick", "--cluster", "  ", "--out", "OUT"],
    ["train", "--method", "dense", "--data", "", "--out", "OUT"],
    ["train", "--method", "", "--out", "OUT"],
    ["claims", "--quick", "--profile", ""],
    ["report", ""],
    ["cluster", "estimate", "DIR", "--nodes", " "],
])
def test_an_empty_option_value_is_an_error(tmp_path, cli, args):
    args = [str(tmp_path / "out") if a == "OUT" else str(tmp_path) if a == "DIR" else a for a in args]
    assert_one_line_error(cli(*args), "expected a value")
    assert not (tmp_path / "out").exists()
