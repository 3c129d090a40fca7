"""The user's own data: `npz:PATH` and `csv:PATH[#LABEL]` classification sets.

npz: arrays `x` [N, ...] and `y` [N], optionally `x_val`/`y_val` and `x_test`/`y_test`; 3-D `x`
([N, H, W] images) gets a channel axis. csv: one sample per row, numeric cells; a first row with
any non-numeric cell is a header; the label column is the one named after `#` (`csv:data.csv#class`),
else a header column named `label`, else the last column. Labels are integers >= 0.

Splits a file does not provide are cut from `x` / `y` as every data set is cut (seed 0, shares
70 / 10 / 20 of train / val / test renormalised over the missing ones), so they never depend on
the training seed. A missing array, mismatched lengths, a ragged row, non-numeric values, NaN or
infinity, or non-integer labels give one DataError that names the file and the place.
"""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import numpy as np
import torch

from .dataset import SPLIT_SEED, Dataset, Split
from .errors import DataError

SHARES = {"train": 0.7, "val": 0.1, "test": 0.2}
HELP = {
    "npz:PATH": "your arrays: x, y [, x_val, y_val, x_test, y_test] in a NumPy .npz file",
    "csv:PATH[#LABEL]": "your table: numeric columns, the label column named after # (default: 'label' or the last)",
}


def load_user_file(name: str) -> Dataset:
    """`npz:PATH` or `csv:PATH[#LABEL]` -> a Dataset."""
    kind, _, location = name.partition(":")
    location, _, label = location.partition("#") if kind == "csv" else (location, "", "")
    path = Path(location)
    if not path.is_file():
        raise DataError(f"{name}: no such file {path}")
    return load_npz(name, path) if kind == "npz" else load_csv(name, path, label or None)


def load_npz(name: str, path: Path) -> Dataset:
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


def load_csv(name: str, path: Path, label: str | None) -> Dataset:
    try:
        with path.open(newline="") as f:
            rows = [row for row in csv.reader(f) if row]
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise DataError(f"{name}: cannot read {path} as CSV ({e})") from None
    header = rows[0] if rows and not all(_is_number(cell) for cell in rows[0]) else None
    body = rows[1:] if header else rows
    if not body:
        raise DataError(f"{name}: {path} has no data rows")
    width = len(header or body[0])
    for line, row in enumerate(body, start=2 if header else 1):
        if len(row) != width:
            raise DataError(f"{name}: {path} line {line} has {len(row)} cells, the {'header' if header else 'first row'} has {width}")
        bad = next((cell for cell in row if not _is_number(cell)), None)
        if bad is not None:
            raise DataError(f"{name}: {path} line {line} holds the non-numeric value {bad!r}")
    column = _label_column(name, path, header, label, width)
    table = np.array(body, dtype=np.float64)
    x = np.delete(table, column, axis=1)
    return _dataset(name, {"train": _checked(name, x, table[:, column], "the table")})


def _label_column(name: str, path: Path, header: list[str] | None, label: str | None, width: int) -> int:
    if width < 2:
        raise DataError(f"{name}: {path} needs at least one feature column and a label column")
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
    if len(y) and (y.min() < 0 or not np.array_equal(y, np.round(y))):
        raise DataError(f"{name}: {what}: labels must be integers >= 0 (class indices)")
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
    splits = {s: Split(torch.from_numpy(np.ascontiguousarray(sx)), torch.from_numpy(sy)) for s, (sx, sy) in given.items()}
    classes = int(max(sy.max() for _, sy in given.values())) + 1
    return Dataset(name, "classification", tuple(x.shape[1:]), classes, splits["train"], splits["val"], splits["test"])
