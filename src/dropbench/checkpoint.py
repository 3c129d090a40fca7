"""The compacted-checkpoint format: a directory with `model.safetensors` + `manifest.json`.

The manifest carries a format version, the architecture spec (enough to rebuild the model
without the code that trained it), method and hyper-parameters, data set, metrics, the shape of
every tensor, and the size and SHA-256 of every file. Loading checks all of it, so a truncated,
edited or mismatched checkpoint gives one clear error instead of wrong numbers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors
from torch import nn

from .errors import CheckpointError, ConfigError
from .fsutil import atomic_write_bytes, atomic_write_json, sha256_file
from .models import build_model

FORMAT = "dropbench-checkpoint"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
WEIGHTS = "model.safetensors"
ONNX = "model.onnx"


@dataclass
class Checkpoint:
    path: Path
    manifest: dict[str, Any]
    model: nn.Module

    @property
    def arch(self) -> dict[str, Any]:
        return self.manifest["arch"]

    @property
    def metrics(self) -> dict[str, Any]:
        return self.manifest["metrics"]

    @property
    def name(self) -> str:
        return self.manifest.get("name", self.path.name)

    @property
    def is_sparse(self) -> bool:
        return self.metrics.get("nonzero_params", 0) < self.metrics.get("params", 0)


def file_record(path: Path) -> dict[str, Any]:
    return {"sha256": sha256_file(path), "bytes": path.stat().st_size}


def checkpoint_dirs(directory: Path) -> list[Path]:
    """A run directory followed by its variants' directories (variants/<name>/, recursively)."""
    directory = Path(directory)
    found = [directory]
    for relative in read_manifest(directory).get("variants", {}).values():
        found += checkpoint_dirs(directory / relative)
    return found


def write_checkpoint(directory: Path, model: nn.Module, manifest: dict[str, Any]) -> dict[str, Any]:
    """Write weights, then the manifest (last, atomically). Returns the manifest written.

    `directory` should be a staging directory (fsutil.staged_dir) so that a half-written
    checkpoint never appears under its final name.
    """
    directory = Path(directory)
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    atomic_write_bytes(directory / WEIGHTS, save_safetensors(state))
    manifest = {
        **manifest,
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "arch": model.arch,
        "tensors": {k: {"shape": list(v.shape), "dtype": str(v.dtype).removeprefix("torch.")} for k, v in state.items()},
        "files": {**manifest.get("files", {}), WEIGHTS: file_record(directory / WEIGHTS)},
    }
    atomic_write_json(directory / MANIFEST, manifest)
    return manifest


def update_manifest(directory: Path, changes: dict[str, Any]) -> dict[str, Any]:
    """Merge `changes` (top-level keys; `files` and `metrics` merged one level down) atomically."""
    manifest = read_manifest(Path(directory))
    for key, value in changes.items():
        if key in ("files", "metrics") and isinstance(value, dict):
            manifest[key] = {**manifest.get(key, {}), **value}
        else:
            manifest[key] = value
    atomic_write_json(Path(directory) / MANIFEST, manifest)
    return manifest


def read_manifest(directory: Path) -> dict[str, Any]:
    """Parse and check the manifest's envelope (not the files it lists)."""
    if not directory.exists():
        raise CheckpointError(f"no checkpoint at {directory}: the directory does not exist")
    if not directory.is_dir():
        raise CheckpointError(f"{directory} is a file; a checkpoint is a directory with {MANIFEST} and {WEIGHTS}")
    path = directory / MANIFEST
    if not path.exists():
        raise CheckpointError(f"{directory} is not a checkpoint: {MANIFEST} is missing")
    try:
        manifest = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{path} is not valid JSON ({e}); the checkpoint is corrupted, retrain or restore it") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a dropbench checkpoint manifest (no \"format\": \"{FORMAT}\")")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise CheckpointError(f"{path} has format version {version!r}; this dropbench reads version {FORMAT_VERSION}, retrain or convert it")
    for key in ("arch", "method", "metrics", "files", "tensors"):
        if key not in manifest:
            raise CheckpointError(f"{path} lacks the required field {key!r}")
    return manifest


def verify_files(directory: Path, manifest: dict[str, Any]) -> None:
    """Every file the manifest lists exists with its recorded size and hash."""
    if WEIGHTS not in manifest["files"]:
        raise CheckpointError(f"{directory / MANIFEST} does not list {WEIGHTS}")
    for name, record in manifest["files"].items():
        path = directory / name
        if not path.exists():
            raise CheckpointError(f"{path} is missing; the checkpoint is incomplete, retrain or restore it")
        size = path.stat().st_size
        if size != record.get("bytes"):
            raise CheckpointError(f"{path} is truncated or altered: {size} bytes, the manifest says {record.get('bytes')}")
        if sha256_file(path) != record.get("sha256"):
            raise CheckpointError(f"{path} does not match its SHA-256 in the manifest; it was modified or corrupted after it was written")


def load_checkpoint(directory: Path | str) -> Checkpoint:
    """Load and fully validate a checkpoint directory."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    verify_files(directory, manifest)
    try:
        state = load_safetensors((directory / WEIGHTS).read_bytes())
    except (SafetensorError, ValueError, OSError) as e:
        raise CheckpointError(f"{directory / WEIGHTS} cannot be read as safetensors: {e}") from None
    try:
        model = build_model(manifest["arch"])
    except ConfigError as e:
        raise CheckpointError(f"{directory / MANIFEST}: {e}") from None
    _check_shapes(directory, manifest, model, state)
    model.load_state_dict(state)
    return Checkpoint(directory, manifest, model.eval())


def _check_shapes(directory: Path, manifest: dict, model: nn.Module, state: dict[str, torch.Tensor]) -> None:
    expected = {k: list(v.shape) for k, v in model.state_dict().items()}
    actual = {k: list(v.shape) for k, v in state.items()}
    recorded = {k: v.get("shape") for k, v in manifest["tensors"].items()}
    for name in sorted(set(expected) | set(actual)):
        if name not in actual:
            raise CheckpointError(f"{directory / WEIGHTS} lacks tensor {name!r} that the architecture in the manifest needs")
        if name not in expected:
            raise CheckpointError(f"{directory / WEIGHTS} holds tensor {name!r} that the architecture in the manifest does not have")
        if expected[name] != actual[name] or recorded.get(name) != actual[name]:
            raise CheckpointError(
                f"shape mismatch for {name!r}: the manifest's architecture needs {expected[name]}, "
                f"the manifest records {recorded.get(name)}, the weights hold {actual[name]}"
            )
