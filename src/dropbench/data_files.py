"""The user's own data: `npz:PATH` and `csv:PATH[#LABEL]` classification sets.

npz: arrays `x` [N, ...] and `y` [N], optionally `x_val`/`y_val` and `x_test`/`y_test`; 3-D `x`
([N, H, W] images) gets a channel axis. csv: one sample per row, numeric cells; a first row with
any non-numeric cell is a header; the label column is the one named after `#` (`csv:data.csv#class`),
else a header column named `label`, else the last column. Labels are integers >= 0.

Splits a file does not provide are cut from `x` / `y` as every data set is cut (seed 0, shares
70 / 10 / 20 of train / val / test renormalised over the missing ones), so they never depend on
the training seed. A missing array, mismatched lengths, a ragged row, non-numeric values, NaN or
infinity, or non-integer labels give one DataError that names the file and the place.

Both are bounded before anything is allocated (limits.py): an npz by its zip entries' sizes and
its .npy headers' shapes, a CSV by its size, its lines' lengths and its cell count; features per
sample and classes as a checkpoint's schema bounds them, so data it would refuse never trains.
"""

from __future__ import annotations

import csv
import itertools
import math
import zipfile
from pathlib import Path
from typing import IO, Iterator

import numpy as np

from .dataset import SPLIT_SEED, Dataset, Split
from .errors import DataError
from .fsutil import user_path
from .limits import CSV_MAX_BYTES, CSV_MAX_LINE, DATA_MAX_BYTES, DATA_MAX_VALUES, MAX_CLASSES, MAX_FEATURES

SHARES = {"train": 0.7, "val": 0.1, "test": 0.2}
HELP = {
    "npz:PATH": "your arrays: x, y [, x_val, y_val, x_test, y_test] in a NumPy .npz file",
    "csv:PATH[#LABEL]": "your table: numeric columns, the label column named after # (default: 'label' or the last)",
}


def load_user_file(name: str) -> Dataset:
    """`npz:PATH` or `csv:PATH[#LABEL]` -> a Dataset."""
    kind, _, location = name.partition(":")
    location, _, label = location.partition("#") if kind == "csv" else (location, "", "")
    path = user_path(location, f"{kind}:PATH", DataError)
    if not path.is_file():
        raise DataError(f"{name}: no such file {path}")
    return load_npz(name, path) if kind == "npz" else load_csv(name, path, label or None)


def load_npz(name: str, path: Path) -> Dataset:
    _check_npz(name, path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise DataError(f"{name}: cannot read {path} as a NumPy .npz file ({e})") from None
    given = {"train": ("x", "y"), "val": ("x_val", "y_val"), "test": ("x_test", "y_test")}
    splits = {}
    for split, (x_key, y_key) in given.items():
        if x_key in arrays or y_key in arrays or split == "train":
            for key in (x_key, y_key):
                if key not in arrays:
                    raise DataError(f"{name}: {path} has no array {key!r} (it holds: {', '.join(sorted(arrays)) or 'nothing'})")
            x = arrays[x_key][:, None] if arrays[x_key].ndim == 3 else arrays[x_key]
            splits[split] = _checked(name, x, arrays[y_key], f"{x_key} / {y_key}")
    return _dataset(name, splits)


def _check_npz(name: str, path: Path) -> None:
    """Every member of the archive bounded from its zip entry and its .npy header, before one array is read:
    a few hundred bytes that declare 100000 x 100000 floats, or a deflate bomb, are refused unread."""
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if not info.filename.endswith(".npy"):
                    raise DataError(f"{name}: {path} holds {info.filename!r}, which is not a .npy array; save the arrays with numpy.savez")
                if info.file_size > DATA_MAX_BYTES:
                    raise DataError(f"{name}: {path}: {info.filename} unpacks to {info.file_size:,} bytes, more than the {DATA_MAX_BYTES:,} allowed")
                with archive.open(info) as member:
                    _check_shape(name, f"{path}: {info.filename}", info.filename.removesuffix(".npy"), *_npy_header(member))
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise DataError(f"{name}: cannot read {path} as a NumPy .npz file ({e})") from None


def _npy_header(member: IO[bytes]) -> tuple[tuple[int, ...], np.dtype]:
    version = np.lib.format.read_magic(member)
    read = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}.get(version)
    if read is None:
        raise ValueError(f".npy format version {version[0]}.{version[1]} is not read here; save with numpy.savez")
    shape, _, dtype = read(member)
    return shape, dtype


def _check_shape(name: str, where: str, key: str, shape: tuple[int, ...], dtype: np.dtype) -> None:
    """An array's declared shape within the bounds a checkpoint of it would meet (limits.py)."""
    if dtype.kind not in "biuf":
        raise DataError(f"{name}: {where} holds {dtype} values; features and labels must be real numbers")
    if math.prod(shape) > DATA_MAX_VALUES:
        raise DataError(f"{name}: {where} declares the shape {list(shape)}, more than the {DATA_MAX_VALUES:,} values allowed")
    if key.startswith("x"):
        _check_features(name, where, shape)


def _check_features(name: str, where: str, shape: tuple[int, ...]) -> None:
    features = math.prod(shape[1:])
    if len(shape) < 2 or not 1 <= features <= MAX_FEATURES:
        raise DataError(f"{name}: {where} has the shape {list(shape)}: samples need 1 to {MAX_FEATURES:,} features each")


def load_csv(name: str, path: Path, label: str | None) -> Dataset:
    if path.stat().st_size > CSV_MAX_BYTES:
        raise DataError(f"{name}: {path} is {path.stat().st_size:,} bytes, more than the {CSV_MAX_BYTES:,} allowed for a CSV file; use npz")
    try:
        with path.open(newline="") as f:
            rows = (row for row in csv.reader(_lines(name, path, f)) if row)
            first = next(rows, [])
            header = first if not all(_is_number(cell) for cell in first) else None
            width = len(first)
            if not 1 <= width - 1 <= MAX_FEATURES:
                raise DataError(f"{name}: {path} has {width:,} columns; it needs a label column and 1 to {MAX_FEATURES:,} feature columns")
            column = _label_column(name, path, header, label, width)
            table = _numbers(name, path, rows if header else itertools.chain([first], rows), width, 2 if header else 1)
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise DataError(f"{name}: cannot read {path} as CSV ({e})") from None
    x = np.delete(table, column, axis=1)
    return _dataset(name, {"train": _checked(name, x, table[:, column], "the table")})


def _lines(name: str, path: Path, f: IO[str]) -> Iterator[str]:
    """The file's lines, none longer than CSV_MAX_LINE (a one-line file of 200 MB is refused, not parsed)."""
    for number, line in enumerate(iter(lambda: f.readline(CSV_MAX_LINE + 1), ""), start=1):
        if len(line) > CSV_MAX_LINE:
            raise DataError(f"{name}: {path} line {number} is longer than {CSV_MAX_LINE:,} characters; a sample has at most {MAX_FEATURES:,} features")
        yield line


def _numbers(name: str, path: Path, rows: Iterator[list[str]], width: int, first_line: int) -> np.ndarray:
    """The rows as one float64 table, each row converted as it is read (a list of strings per cell would take 10x the memory)."""
    table = []
    for line, row in enumerate(rows, start=first_line):
        if len(row) != width:
            raise DataError(f"{name}: {path} line {line} has {len(row)} cells, the {'header' if first_line == 2 else 'first row'} has {width}")
        bad = next((cell for cell in row if not _is_number(cell)), None)
        if bad is not None:
            raise DataError(f"{name}: {path} line {line} holds the non-numeric value {bad!r}")
        if (len(table) + 1) * width > DATA_MAX_VALUES:
            raise DataError(f"{name}: {path} holds more than the {DATA_MAX_VALUES:,} values allowed")
        table.append(np.array(row, dtype=np.float64))
    if not table:
        raise DataError(f"{name}: {path} has no data rows")
    return np.stack(table)


def _label_column(name: str, path: Path, header: list[str] | None, label: str | None, width: int) -> int:
    if label is None:
        return header.index("label") if header and "label" in header else width - 1
    if header is None or label not in header:
        raise DataError(f"{name}: {path} has no column named {label!r} ({'columns: ' + ', '.join(header) if header else 'it has no header row'})")
    return header.index(label)


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _checked(name: str, x: np.ndarray, y: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Numeric, finite features and integer labels >= 0 of one length."""
    if not (np.issubdtype(x.dtype, np.number) and np.issubdtype(y.dtype, np.number)) or x.dtype.kind == "c":
        raise DataError(f"{name}: {what} must be real numbers (got {x.dtype} and {y.dtype})")
    if x.ndim < 2 or y.ndim != 1 or len(x) != len(y):
        raise DataError(f"{name}: {what} do not match: features {list(x.shape)} need [N, ...] and labels {list(y.shape)} need [N]")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise DataError(f"{name}: {what} contain NaN or infinite values")
    if len(y) and (y.min() < 0 or y.max() >= MAX_CLASSES or not np.array_equal(y, np.round(y))):
        raise DataError(f"{name}: {what}: labels must be integers from 0 to {MAX_CLASSES - 1:,} (class indices)")
    return x.astype(np.float32), y.astype(np.int64)


def _dataset(name: str, given: dict[str, tuple[np.ndarray, np.ndarray]]) -> Dataset:
    """Cut the splits `given` lacks from its train arrays (seed 0, renormalised SHARES)."""
    x, y = given["train"]
    shapes = {split: list(sx.shape[1:]) for split, (sx, _) in given.items()}
    if any(shape != shapes["train"] for shape in shapes.values()):
        raise DataError(f"{name}: the splits' samples differ in shape: {shapes}")
    missing = [split for split in ("val", "test") if split not in given]
    order = np.random.default_rng(SPLIT_SEED).permutation(len(x))
    total = SHARES["train"] + sum(SHARES[s] for s in missing)
    cuts = np.cumsum([int(len(x) * SHARES[s] / total) for s in ["train", *missing][:-1]]) if missing else []
    for split, idx in zip(["train", *missing], np.split(order, cuts)):
        given[split] = (x[idx], y[idx])
    if min(len(sy) for _, sy in given.values()) == 0:
        raise DataError(f"{name}: too few samples ({len(x)}) for train / val / test splits")
    splits = {s: Split.from_numpy(sx, sy) for s, (sx, sy) in given.items()}
    classes = int(max(sy.max() for _, sy in given.values())) + 1
    return Dataset(name, "classification", tuple(x.shape[1:]), classes, splits["train"], splits["val"], splits["test"])
