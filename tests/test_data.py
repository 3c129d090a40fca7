import gzip
import struct

import numpy as np
import pytest
import torch

from dropbench.data import SOURCES, DataSource, availability, load_dataset, read_idx
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
