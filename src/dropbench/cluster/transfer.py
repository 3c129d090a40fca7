"""A checkpoint directory as bytes (a tar of a few MB), and back into the run cache atomically.

Tasks return their checkpoint this way, so the cluster needs no shared file system; the bytes
written are the bytes the worker wrote.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

from ..checkpoint import checkpoint_dirs, load_checkpoint
from ..errors import ClusterError
from ..fsutil import staged_dir, target_lock
from ..limits import MAX_TRANSFER_BYTES
from ..runs import valid_entry


def pack_dir(directory: Path) -> bytes:
    """Every regular file under `directory`, in name order (no links, no owners, no times)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path in sorted(p for p in Path(directory).rglob("*") if p.is_file() and not p.is_symlink()):
            info = tar.gettarinfo(str(path), arcname=path.relative_to(directory).as_posix())
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mtime = 0
            with open(path, "rb") as f:
                tar.addfile(info, f)
    return buffer.getvalue()


def unpack_entry(directory: Path, payload: bytes) -> Path:
    """Write a packed checkpoint to the cache entry `directory` (atomically), unless a valid one is there.

    The checkpoint is loaded (hashes checked) before it is renamed into place; a damaged or
    hostile payload (links, paths outside the entry) is refused and nothing is written."""
    if len(payload) > MAX_TRANSFER_BYTES:
        raise ClusterError(f"a transferred checkpoint for {directory.name} is {len(payload):,} bytes, over the {MAX_TRANSFER_BYTES:,} limit")
    with target_lock(directory):
        if valid_entry(directory):
            return directory
        with staged_dir(directory, force=True) as tmp:
            try:
                with tarfile.open(fileobj=io.BytesIO(payload), mode="r:") as tar:
                    tar.extractall(tmp, filter="data")
            except (tarfile.TarError, OSError) as e:
                raise ClusterError(f"a transferred checkpoint for {directory.name} cannot be unpacked ({e})") from None
            for checkpoint in checkpoint_dirs(tmp):
                load_checkpoint(checkpoint)
    return directory
