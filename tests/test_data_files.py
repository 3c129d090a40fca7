"""The user's own data: npz:PATH and csv:PATH[#LABEL], written by the tests themselves."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import assert_one_line_error
from dropbench.data import load_dataset
from dropbench.errors import DataError


def blobs(n: int = 200, features: int = 6, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three well-separated classes: a net trained on them must beat chance by far."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    return (rng.standard_normal((n, features)) * 0.3 + y[:, None]).astype(np.float32), y


def test_npz_with_x_and_y_gets_the_fixed_70_10_20_splits(tmp_path):
    x, y = blobs()
    np.savez(tmp_path / "d.npz", x=x, y=y)
    data = load_dataset(f"npz:{tmp_path / 'd.npz'}")
    assert [len(data.train), len(data.val), len(data.test)] == [140, 20, 40]
    assert (data.input_shape, data.num_classes, data.kind) == ((6,), 3, "classification")
    rows = {tuple(r) for r in x.tolist()}
    seen = torch.cat([data.train.x, data.val.x, data.test.x]).tolist()
    assert len({tuple(r) for r in seen}) == 200 and {tuple(r) for r in seen} == rows  # a partition of the file's samples
    np.savez(tmp_path / "again.npz", x=x, y=y)
    assert torch.equal(load_dataset(f"npz:{tmp_path / 'again.npz'}").test.x, data.test.x)  # deterministic


def test_npz_keeps_the_splits_it_provides_and_adds_a_channel_to_images(tmp_path):
    rng = np.random.default_rng(1)
    images = rng.random((50, 8, 8))
    np.savez(tmp_path / "d.npz", x=images, y=rng.integers(0, 4, 50), x_test=rng.random((7, 8, 8)), y_test=np.arange(7) % 5)
    data = load_dataset(f"npz:{tmp_path / 'd.npz'}")
    assert [len(data.train), len(data.val), len(data.test)] == [43, 7, 7]  # train / val cut 70:10 from x, y
    assert data.input_shape == (1, 8, 8) and data.num_classes == 5
    assert torch.allclose(data.train.x.new_tensor(images).sum(), torch.cat([data.train.x, data.val.x]).sum().double().float(), rtol=1e-5)


def test_csv_trains_end_to_end_with_a_named_label_column(tmp_path, cli):
    x, y = blobs(300, 4)
    table = ["f0,f1,class,f2,f3", *(",".join([*map(str, r[:2]), str(c), *map(str, r[2:])]) for r, c in zip(x.tolist(), y.tolist()))]
    path = tmp_path / "d.csv"
    path.write_text("\n".join(table) + "\n")
    data = load_dataset(f"csv:{path}#class")
    assert data.input_shape == (4,) and data.num_classes == 3 and len(data.test) == 60
    args = ("--hidden", "16", "--epochs", "20", "--lr", "0.01", "--out", tmp_path / "run", "--quiet")
    result = cli("train", "--method", "dense", "--data", f"csv:{path}#class", *args)
    assert result.code == 0, result.err
    assert float(result.out.split("test accuracy ")[1].split("%")[0]) > 80  # chance is 33 %


def test_csv_without_header_takes_the_last_column_as_label(tmp_path):
    (tmp_path / "d.csv").write_text("".join(f"{i},{i * 2},{i % 2}\n" for i in range(30)))
    data = load_dataset(f"csv:{tmp_path / 'd.csv'}")
    all_x = torch.cat([data.train.x, data.val.x, data.test.x])
    all_y = torch.cat([data.train.y, data.val.y, data.test.y])
    assert data.input_shape == (2,) and data.num_classes == 2
    assert torch.equal(all_x[:, 0].long() % 2, all_y)


@pytest.mark.parametrize("content, fragment", [
    ("a,b,label\n1,2,0\n3,4\n", "line 3 has 2 cells, the header has 3"),
    ("1,2,0\n3,x,1\n", "line 2 holds the non-numeric value 'x'"),
    ("1,2,0\n3,nan,1\n" * 5, "NaN or infinite"),
    ("1,2,0.5\n3,4,1\n" * 5, "labels must be integers"),
    ("a,b,label\n", "no data rows"),
])
def test_bad_csv_is_one_clear_error(tmp_path, cli, content, fragment):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    out = tmp_path / "run"
    result = cli("train", "--method", "dense", "--data", f"csv:{path}", "--out", out, "--epochs", "1", "--quiet")
    assert_one_line_error(result, fragment)
    assert not out.exists()


def test_bad_npz_is_one_clear_error(tmp_path):
    x, y = blobs(20)
    cases = {
        "no-y": ({"x": x}, "has no array 'y' (it holds: x)"),
        "half-val": ({"x": x, "y": y, "x_val": x}, "has no array 'y_val'"),
        "lengths": ({"x": x, "y": y[:-1]}, "do not match"),
        "strings": ({"x": np.array([["a"]] * 20), "y": y}, "must be real numbers"),
        "nan": ({"x": np.where(x > 1, np.nan, x), "y": y}, "NaN or infinite"),
        "shapes": ({"x": x, "y": y, "x_test": x[:, :3], "y_test": y}, "differ in shape"),
    }
    for name, (arrays, fragment) in cases.items():
        np.savez(tmp_path / f"{name}.npz", **arrays)
        with pytest.raises(DataError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
            load_dataset(f"npz:{tmp_path / name}.npz")
    (tmp_path / "text.npz").write_text("not a zip")
    with pytest.raises(DataError, match="cannot read .* as a NumPy .npz file"):
        load_dataset(f"npz:{tmp_path / 'text.npz'}")
    with pytest.raises(DataError, match="no such file"):
        load_dataset(f"npz:{tmp_path / 'missing.npz'}")
    with pytest.raises(DataError, match="no column named 'kind'"):
        (tmp_path / "h.csv").write_text("a,label\n1,0\n")
        load_dataset(f"csv:{tmp_path / 'h.csv'}#kind")
