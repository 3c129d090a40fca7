"""What every data set is: a `Dataset` of train / val / test `Split`s, cut with `SPLIT_SEED`.

The loaders build on these types: the registry and IDX files in data.py, the user's own
npz / csv files in data_files.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .errors import DataError

if TYPE_CHECKING:  # torch loads with the first data set (Split.from_numpy), not with `dropbench data list`
    import torch

SPLIT_SEED = 0  # splits never depend on the training seed


@dataclass(frozen=True)
class Split:
    x: torch.Tensor
    y: torch.Tensor | None  # None for a token stream (the targets are the next tokens)

    def __len__(self) -> int:
        return len(self.x)

    @classmethod
    def from_numpy(cls, x: np.ndarray, y: np.ndarray | None = None) -> "Split":
        """float32 inputs and int64 labels (or a token stream) as torch tensors."""
        import torch

        labels = None if y is None else torch.from_numpy(np.ascontiguousarray(y, dtype=np.int64))
        return cls(torch.from_numpy(np.ascontiguousarray(x)), labels)


@dataclass(frozen=True)
class Dataset:
    name: str
    kind: str  # "classification" or "language"
    input_shape: tuple[int, ...]  # one sample, without the batch axis
    num_classes: int  # classes, or vocabulary size for "language"
    train: Split
    val: Split
    test: Split
    vocab: str = ""  # the characters of the language set, index = token id

    def split(self, name: str) -> Split:
        if name not in ("train", "val", "test"):
            raise DataError(f"unknown split {name!r}; use train, val or test")
        return getattr(self, name)

    def summary(self) -> dict:
        return {
            "name": self.name,
            "kind": self.kind,
            "input_shape": list(self.input_shape),
            "num_classes": self.num_classes,
            "sizes": {s: len(self.split(s)) for s in ("train", "val", "test")},
            "split_seed": SPLIT_SEED,
        }
