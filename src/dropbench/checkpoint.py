"""The compacted-checkpoint format: a directory with `model.safetensors` + `manifest.json`.

The manifest carries a format version, the architecture spec (enough to rebuild the model
without the code that trained it), method and hyper-parameters, data set, metrics, the shape of
every tensor, and the size and SHA-256 of every file. Loading checks all of it, so a truncated,
edited or mismatched checkpoint gives one clear error instead of wrong numbers.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors
from torch import nn

from .errors import CheckpointError, ConfigError
from .fsutil import atomic_write_bytes, atomic_write_json, open_regular, sha256_file, user_path
from .limits import MANIFEST_MAX_BYTES
from .models import build_model
from .schemas import read_json, validate
from .schemas.manifest import Manifest

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
        found += checkpoint_dirs(_inside(directory, relative))
    return found


def _inside(directory: Path, relative: str) -> Path:
    """`directory / relative`, refused unless it stays inside `directory` without a symlink."""
    path = directory / relative
    base = directory.resolve()
    steps = [directory / Path(relative).parts[0], path]
    if any(step.is_symlink() for step in steps) or base not in path.resolve().parents:
        raise CheckpointError(f"{directory / MANIFEST} lists {relative!r}, which leaves the checkpoint directory; refusing to follow it")
    return path


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
    """Parse the manifest (bounded size and depth) and validate it against the schema."""
    directory = user_path(directory, "checkpoint", CheckpointError)
    if not directory.exists():
        raise CheckpointError(f"no checkpoint at {directory}: the directory does not exist")
    if not directory.is_dir():
        raise CheckpointError(f"{directory} is a file; a checkpoint is a directory with {MANIFEST} and {WEIGHTS}")
    path = directory / MANIFEST
    if not path.exists() and not path.is_symlink():
        raise CheckpointError(f"{directory} is not a checkpoint: {MANIFEST} is missing")
    manifest = read_json(path, CheckpointError, MANIFEST_MAX_BYTES, "checkpoint manifest")
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a dropbench checkpoint manifest (no \"format\": \"{FORMAT}\")")
    version = manifest.get("format_version")
    if isinstance(version, bool) or version != FORMAT_VERSION:  # true == 1 in Python, but is no version
        raise CheckpointError(f"{path} has format version {version!r}; this dropbench reads version {FORMAT_VERSION}, retrain or convert it")
    validate(Manifest, manifest, str(path), CheckpointError)
    return manifest


def verify_files(directory: Path, manifest: dict[str, Any]) -> None:
    """Every file the manifest lists is a regular file in `directory` with its recorded size and hash."""
    if WEIGHTS not in manifest["files"]:
        raise CheckpointError(f"{directory / MANIFEST} does not list {WEIGHTS}")
    for name, record in manifest["files"].items():
        path = directory / name  # the schema allows plain names only: no "/", no ".."
        if not path.exists() and not path.is_symlink():
            raise CheckpointError(f"{path} is missing; the checkpoint is incomplete, retrain or restore it")
        with open_regular(path, CheckpointError) as f:
            size = os.fstat(f.fileno()).st_size
        if size != record["bytes"]:
            raise CheckpointError(f"{path} is truncated or altered: {size} bytes, the manifest says {record['bytes']}")
        if sha256_file(path, CheckpointError) != record["sha256"]:
            raise CheckpointError(f"{path} does not match its SHA-256 in the manifest; it was modified or corrupted after it was written")
    if ONNX in manifest["files"]:
        _check_onnx_self_contained(directory / ONNX)


def _check_onnx_self_contained(path: Path) -> None:
    """dropbench writes every weight inside model.onnx; external data could point anywhere."""
    import onnx
    from onnx.external_data_helper import uses_external_data

    with open_regular(path, CheckpointError) as f:
        try:
            model = onnx.load_model_from_string(f.read())
        except Exception as e:  # protobuf's DecodeError and friends
            raise CheckpointError(f"{path} is not a valid ONNX file ({type(e).__name__}); re-export it with dropbench export") from None
    tensors = [*model.graph.initializer, *(a.t for n in model.graph.node for a in n.attribute if a.HasField("t"))]
    if any(uses_external_data(t) for t in tensors):
        raise CheckpointError(f"{path} refers to external data files; dropbench only loads self-contained ONNX files, re-export it with dropbench export")


def load_checkpoint(directory: Path | str) -> Checkpoint:
    """Load and fully validate a checkpoint directory.

    Every size is checked against the weights file's header on a skeleton model (torch's meta
    device, no memory) before a single weight is allocated.
    """
    directory = Path(directory)
    manifest = read_manifest(directory)
    verify_files(directory, manifest)
    try:
        with torch.device("meta"):
            skeleton = build_model(manifest["arch"])
    except ConfigError as e:
        raise CheckpointError(f"{directory / MANIFEST}: {e}") from None
    _check_shapes(directory, manifest, skeleton, _weights_header(directory / WEIGHTS))
    with open_regular(directory / WEIGHTS, CheckpointError) as f:
        try:
            state = load_safetensors(f.read())
        except (SafetensorError, ValueError) as e:
            raise CheckpointError(f"{directory / WEIGHTS} cannot be read as safetensors: {e}") from None
    model = build_model(manifest["arch"])
    model.load_state_dict(state)
    return Checkpoint(directory, manifest, model.eval())


def _weights_header(path: Path) -> dict[str, list[int]]:
    """Tensor name -> shape, from the safetensors header alone (no tensor data is read)."""
    try:
        with safe_open(str(path), framework="pt") as f:
            return {name: list(f.get_slice(name).get_shape()) for name in f.keys()}
    except (SafetensorError, ValueError, OSError) as e:
        raise CheckpointError(f"{path} cannot be read as safetensors: {e}") from None


def _check_shapes(directory: Path, manifest: dict, skeleton: nn.Module, actual: dict[str, list[int]]) -> None:
    expected = {k: list(v.shape) for k, v in skeleton.state_dict().items()}
    recorded = {k: v["shape"] for k, v in manifest["tensors"].items()}
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
