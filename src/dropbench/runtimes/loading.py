"""What the runtimes run: a checkpoint directory or any ONNX file, loaded from a path."""

from __future__ import annotations

from pathlib import Path

from ..checkpoint import ONNX, load_checkpoint
from ..errors import ConfigError
from ..fsutil import user_path
from ..onnx_model import load_onnx_model
from .base import Model


def load_model(path: Path, shapes: dict[str, tuple[int, ...]] | None = None) -> Model:
    """A checkpoint directory, or any ONNX file (its input shapes from the graph and `shapes`)."""
    path = existing(path)
    if path.is_dir():
        if shapes:
            raise ConfigError(f"--shape applies to ONNX files; {path} is a checkpoint directory whose input shape is in its manifest")
        return load_checkpoint(path)
    return load_onnx_model(path, shapes)


def load_pair(baseline: Path, candidate: Path, shapes: dict[str, tuple[int, ...]] | None = None) -> tuple[Model, Model]:
    """Two models of one kind: if either is an ONNX file, both are compared as ONNX graphs (a checkpoint by its model.onnx)."""
    baseline, candidate = existing(baseline), existing(candidate)
    if baseline.is_dir() and candidate.is_dir():
        return load_model(baseline, shapes), load_model(candidate, shapes)
    return tuple(load_onnx_model(onnx_file(path), shapes) for path in (baseline, candidate))  # type: ignore[return-value]


def existing(path: Path) -> Path:
    """`path`, or one error line saying that it does not exist (not that it lacks an ONNX file)."""
    path = user_path(path, "model", ConfigError)
    if not path.exists():
        raise ConfigError(f"{path} does not exist; give a checkpoint directory (dropbench train --out) or an ONNX file")
    return path


def onnx_file(path: Path) -> Path:
    if not path.is_dir():
        return path
    if ONNX not in load_checkpoint(path).manifest["files"]:
        raise ConfigError(f"{path} has no exported {ONNX}; run `dropbench export {path}` first")
    return path / ONNX
