"""Property tests (hypothesis): every generated manifest, profile, IDX header and command-line
number ends in success or one clear error, in bounded time and memory. The example budget is
fixed per settings profile (conftest.py: "ci" by default)."""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import shutil
import struct
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import CliResult, assert_one_line_error, run_limited
from test_hostile_outputs import BENCH, CLAIM, SPEEDUP
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dropbench.checkpoint import MANIFEST, load_checkpoint
from dropbench.cli import main
from dropbench.data import read_idx
from dropbench.errors import CheckpointError, DataError, ProfileError
from dropbench.limits import MAX_BATCH, MAX_THREADS
from dropbench.profiles import validate_profile

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key / index path in a JSON value."""
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*prefix, index))
    return found


@pytest.fixture(scope="module")
def fuzz_run(tiny_run):
    """A private copy of the tiny run whose manifest the examples rewrite."""
    directory = Path(tempfile.mkdtemp(prefix="dropbench-fuzz-"))
    shutil.copytree(tiny_run, directory / "run")
    yield directory / "run", json.loads((tiny_run / MANIFEST).read_text())
    shutil.rmtree(directory)


def _mutate(data, tree, path) -> None:
    """Delete the key at `path` in `tree` (when its parent is an object, if drawn) or replace its value with drawn JSON."""
    parent = tree
    for step in path[:-1]:
        parent = parent[step]
    if isinstance(parent, dict) and data.draw(st.booleans(), label="delete"):
        del parent[path[-1]]
    else:
        parent[path[-1]] = data.draw(JSON, label="value")


@given(data=st.data())
def test_any_manifest_loads_or_gives_a_checkpoint_error(fuzz_run, data):
    run, original = fuzz_run
    manifest = json.loads(json.dumps(original))
    _mutate(data, manifest, data.draw(st.sampled_from(_paths(manifest)[1:]), label="path"))
    (run / MANIFEST).write_text(json.dumps(manifest))
    try:
        checkpoint = load_checkpoint(run)
    except CheckpointError as e:
        assert str(e)  # any other exception type fails the test
        return
    assert checkpoint.model(torch_input(checkpoint)).shape[0] == 2  # what loads also runs


def torch_input(checkpoint):
    from dropbench.models import example_input

    return example_input(checkpoint.arch, 2)


PROFILE_FIELDS = ["name", "device", "threads", "dtype", "batch_sizes", "ort_providers", "description", "peak_flops", "bandwidth", "colour"]
PLAUSIBLE = {
    "name": st.sampled_from(["p", "cpu-x", "../p", ""]),
    "device": st.sampled_from(["cpu", "cuda", "tpu"]),
    "threads": st.integers(-5, 10**6) | st.floats(),
    "batch_sizes": st.lists(st.integers(-5, 10**10), max_size=40),
    "ort_providers": st.lists(st.sampled_from(["CPUExecutionProvider", "CUDAExecutionProvider", "X"]), max_size=4),
}


@given(st.fixed_dictionaries({}, optional={field: PLAUSIBLE.get(field, JSON) | JSON for field in PROFILE_FIELDS}))
def test_any_profile_validates_within_bounds_or_gives_a_profile_error(raw):
    try:
        profile = validate_profile(raw, "fuzz.json")
    except ProfileError as e:
        assert str(e).startswith("invalid profile fuzz.json: ")
        return
    assert 1 <= profile.threads <= MAX_THREADS
    assert all(1 <= b <= MAX_BATCH for b in profile.batch_sizes)


@given(
    magic=st.sampled_from([b"\x00\x00\x08", b"\x00\x00\x0d", b"\x00\x00\x07", b"\x01\x00\x08"]),
    dims=st.lists(st.integers(0, 2**32 - 1) | st.integers(0, 40), max_size=5),
    ndim_delta=st.integers(-1, 1),
    payload=st.binary(max_size=512),
    compress=st.booleans(),
)
@example(magic=b"\x00\x00\x08", dims=[0, 11670, 2858618, 276479380], ndim_delta=0, payload=b"", compress=False)  # found by this test
def test_any_idx_file_parses_to_its_header_or_gives_a_data_error(tmp_path_factory, magic, dims, ndim_delta, payload, compress):
    ndim = max(0, len(dims) + ndim_delta) % 256
    raw = magic + bytes([ndim]) + struct.pack(f">{len(dims)}I", *dims) + payload
    path = tmp_path_factory.getbasetemp() / "fuzz-idx"
    path.write_bytes(gzip.compress(raw) if compress else raw)
    try:
        array = read_idx(path)
    except DataError:
        return
    assert array.ndim == ndim and array.nbytes == int(np.prod(array.shape)) * array.itemsize <= len(raw)


NUMBER_FLAGS = ["--epochs", "--batch-size", "--lr", "--weight-decay", "--grad-clip", "--seed", "--hidden"]
NUMBERS = (
    st.integers(-(2**80), 2**80).map(str)
    | st.floats(allow_nan=True, allow_infinity=True).map(repr)
    | st.sampled_from(["nan", "-inf", "1e309", "0x10", "1_000", "", "5,-5", "1,,2", " 7"])
    | st.text(st.characters(blacklist_categories=["Cs", "Cc"]), max_size=8)
)


@settings(max_examples=12)  # each example starts a Python process
@given(st.dictionaries(st.sampled_from(NUMBER_FLAGS), NUMBERS, min_size=1, max_size=4))
def test_any_train_numbers_end_in_one_error_line_under_a_memory_limit(tmp_path_factory, flags):
    taken = tmp_path_factory.getbasetemp() / "fuzz-taken"
    taken.mkdir(exist_ok=True)
    (taken / "mine").write_text("x")  # so that valid numbers, too, end before any training
    argv = [sys.executable, "-m", "dropbench", "train", "--method", "dense", "--out", str(taken)]
    argv += [f"{flag}={value}" for flag, value in flags.items()]
    result = run_limited(argv, timeout=60)
    assert_one_line_error(CliResult(result.returncode, result.stdout, result.stderr))


RESULT_FILES = {
    "claims.json": [CLAIM, {**CLAIM, "verdict": "not-run", "measured": None, "ci": [None, None]}],
    "bench.json": [BENCH, {**BENCH, "skipped": "no GPU"}],
    "speedups.json": [SPEEDUP, {**SPEEDUP, "candidate": "dense"}],
    "reproduce.json": {"runs": ["dense"], "stages": {"export + copy": 1.0, "time + claims": 2.0}},
    f"runs/r/{MANIFEST}": {"train": {"seconds": 5.0}},
}


def _cli(*args: Any) -> CliResult:
    """`dropbench ARGS` in-process (hypothesis examples cannot share the function-scoped capsys)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return CliResult(code, out.getvalue(), err.getvalue())


@given(data=st.data())
def test_any_result_record_reports_compares_and_estimates_or_gives_one_error_line(tmp_path_factory, data):
    """One file of a result folder rewritten at any key (a value of any JSON shape, or the key
    deleted, or the whole file): report, report --compare and cluster estimate end in success or
    one `error:` line. The run's manifest lives in its own folder: the report would refuse it as a
    checkpoint manifest whatever the fuzzing does."""
    name = data.draw(st.sampled_from(sorted(RESULT_FILES)), label="file")
    records = json.loads(json.dumps(RESULT_FILES[name]))
    path = data.draw(st.sampled_from(_paths(records)), label="path")
    if not path:
        records = data.draw(JSON, label="file value")
    else:
        _mutate(data, records, path)
    root = Path(tempfile.mkdtemp(dir=tmp_path_factory.getbasetemp(), prefix="fuzz-records-"))
    for folder, files in (("good", RESULT_FILES), ("out", {**RESULT_FILES, name: records})):
        for file, content in files.items():
            (root / folder / file).parent.mkdir(parents=True, exist_ok=True)
            (root / folder / file).write_text(json.dumps(content))
    for folder in ("good", "report"):  # what the report reads: no run directory
        shutil.copytree(root / ("good" if folder == "good" else "out"), root / f"{folder}-report", ignore=shutil.ignore_patterns("runs"))
    report_dir = root / "report-report"
    for args in (["report", report_dir], ["report", root / "good-report", "--compare", report_dir], ["cluster", "estimate", root / "out"]):
        result = _cli(*args)
        if result.code != 0:
            assert_one_line_error(result)
    shutil.rmtree(root)
