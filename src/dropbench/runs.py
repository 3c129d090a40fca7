"""One run = train a method on a model and data set, compact, save a checkpoint directory.

`RunSpec` is the unit the CLI (`dropbench train`), `reproduce`, the claims and the asv suites
share; `cached_run` trains a spec once per code version and reuses the checkpoint afterwards.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from . import __version__
from .checkpoint import checkpoint_dirs, load_checkpoint, write_checkpoint
from .console import warn
from .data import DEFAULT_DATA, load_dataset
from .dataset import Dataset
from .errors import CheckpointError, ConfigError, TrainingDiverged
from .flops import count
from .fsutil import check_output_dir, own_directory, recover_interrupted, staged_dir, target_lock
from .methods import Compacted, get_method
from .models import build_model, default_arch
from .profiles import fingerprint
from .schemas import validate
from .schemas.manifest import ArchOnly
from .train import TrainConfig, evaluate, fit


@dataclass(frozen=True)
class RunSpec:
    name: str
    method: str
    params: dict[str, Any] = field(default_factory=dict)
    model: str = "mlp"
    data: str = DEFAULT_DATA
    hidden: tuple[int, ...] | None = None
    train: TrainConfig = field(default_factory=TrainConfig)
    seeds: tuple[int, ...] = ()  # one training per seed; empty = train.seed alone

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["hidden"] = list(self.hidden) if self.hidden else None
        d["seeds"] = list(self.all_seeds())
        return d

    def key(self) -> str:
        """Content address of one training: the spec (minus its name and seed list, plus train.seed),
        the code version and the torch version. Seed s of a 2-seed and of a 3-seed plan share it."""
        payload = {**self.as_dict(), "name": None, "seeds": None, "code": code_version(), "torch": torch.__version__}
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]

    def all_seeds(self) -> tuple[int, ...]:
        return self.seeds or (self.train.seed,)

    def with_seed(self, seed: int) -> "RunSpec":
        """The single training of this run with `seed`."""
        return replace(self, seeds=(), train=replace(self.train, seed=seed))

    def per_seed(self) -> list["RunSpec"]:
        return [self.with_seed(s) for s in self.all_seeds()]


# what cannot change a trained checkpoint: timing, claims, reports, the CLI and orchestration. A
# test checks that training and export import none of it; everything else (new modules too) counts.
NOT_TRAINING_CODE = (
    "claims", "cli", "cluster", "report", "runtimes", "timing", "schemas/asv.py", "schemas/records.py", "__main__.py", "execution.py",
    "history.py", "machines.py", "onnx_model.py", "outputs.py", "plans", "processes.py", "provenance.py", "pytest_plugin.py", "reproduce.py",
    "recording.py", "stages.py", "stats.py", "suites.py",
)


@functools.cache
def code_version() -> str:
    """Hash of the training code: a cached checkpoint is reused only by the code that made it, and a
    change to timing or reporting alone (NOT_TRAINING_CODE) keeps the cache.

    Computed once per process (every RunSpec.key() needs it)."""
    h = hashlib.sha256()
    root = Path(__file__).parent
    for path in sorted(root.rglob("*.py")):
        name = path.relative_to(root).as_posix()
        if name not in NOT_TRAINING_CODE and name.split("/")[0] not in NOT_TRAINING_CODE:
            h.update(name.encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


def describe(model: torch.nn.Module, data: Dataset) -> dict[str, Any]:
    """Test-split metrics and parameter / FLOP counts of a plain model."""
    return {**evaluate(model, data, "test"), **count(model).as_dict()}


def _save(directory: Path, compacted: Compacted, data: Dataset, manifest: dict[str, Any]) -> None:
    """Write a compacted model and, under variants/<name>/, each of its variants."""
    variants = {}
    for name, variant in compacted.variants.items():
        _save(directory / "variants" / name, variant, data, {**manifest, "name": f"{manifest['name']}/{name}", "variant_of": manifest["name"]})
        variants[name] = f"variants/{name}"
    directory.mkdir(parents=True, exist_ok=True)
    metrics = {**describe(compacted.model, data), **compacted.metrics}
    write_checkpoint(directory, compacted.model, {**manifest, "metrics": metrics, "curves": compacted.curves, "variants": variants})


def train_run(spec: RunSpec, out: Path, force: bool = False, progress: Any = None) -> Path:
    """Train, compact and save `spec` to `out` (replaced atomically; refused if non-empty without force).

    On divergence the last good weights are compacted and saved, marked as diverged, and
    TrainingDiverged is raised after the checkpoint is written.
    """
    out = Path(out)
    data = load_dataset(spec.data)
    method = get_method(spec.method, spec.params)  # bad names fail before any work
    arch = default_arch(spec.model, data, list(spec.hidden) if spec.hidden else None)
    # the checkpoint's schema, before the work: data or widths it would refuse never train
    validate(ArchOnly, {"arch": json.loads(json.dumps(arch))}, f"the {spec.model} for {spec.data}", ConfigError)
    check_output_dir(out, force)
    torch.manual_seed(spec.train.seed)
    module = method.prepare(build_model(arch))
    diverged, history = None, []
    start = time.perf_counter()
    try:
        history = fit(module, data, spec.train, method, progress, label=f"train {spec.name}").history
    except TrainingDiverged as e:
        diverged = str(e)
    train_seconds = time.perf_counter() - start
    compacted = method.compact(module, data)
    manifest = {
        "name": spec.name,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "method": {"name": method.name, "params": method.params()},
        "model": spec.model,
        "data": data.summary(),
        "train": {**spec.train.as_dict(), "seconds": train_seconds, "history": history},
        "spec_key": spec.key(),
        "diverged": diverged,
        "versions": {"dropbench": __version__, "torch": torch.__version__, "code": code_version()},
        "fingerprint": fingerprint(),
    }
    with staged_dir(out, force) as tmp:
        _save(tmp, compacted, data, manifest)
    if diverged:
        raise TrainingDiverged(f"{diverged}; the last good weights were saved to {out}")
    return out


CACHE_ENV = "DROPBENCH_CACHE"
CACHE_MARKER = ".dropbench-cache"
# what a cache holds: entries (NAME-<16 hex>), a killed writer's leftovers, the marker
CACHE_ENTRY = re.compile(r"^(.+-[0-9a-f]{16}|\..+\.(partial|tmp|old)|\.dropbench-cache)$")


def cache_root() -> Path:
    """Where trained checkpoints are cached: $DROPBENCH_CACHE or ~/.cache/dropbench/runs, a
    directory of its own (fsutil.own_directory), created with its marker."""
    configured = os.environ.get(CACHE_ENV)
    return cache_directory(Path(configured) if configured else Path.home() / ".cache" / "dropbench" / "runs")


def cache_directory(root: Path) -> Path:
    """`root` checked and claimed as the run cache; the error names $DROPBENCH_CACHE."""
    return own_directory(root, f"{CACHE_ENV} (the run cache)", CACHE_MARKER, CACHE_ENTRY)


def cached_runs(spec: RunSpec, root: Path | None = None, progress: Any = None) -> list[Path]:
    """The checkpoint of every seed of `spec` (cached_run for each), in seed order."""
    return [cached_run(one, root, progress) for one in spec.per_seed()]


def cached_run(spec: RunSpec, root: Path | None = None, progress: Any = None) -> Path:
    """The checkpoint of `spec` (its first seed) under the cache, trained only if no valid one exists.

    Entries are content-addressed by the spec and the code version, so reproduce, the claims
    and the asv suites share one training per configuration and commit. Processes sharing a
    cache take turns per entry (a file lock): the second waits, then reuses the first's work.
    """
    directory = cache_entry(spec, root)
    with target_lock(directory):
        if not valid_entry(directory):
            train_run(spec.per_seed()[0], directory, force=True, progress=progress)
    return directory


def entry_name(spec: RunSpec) -> str:
    """The cache entry's name of `spec`'s first seed: the same on every machine with the same code and torch."""
    spec = spec.per_seed()[0]
    return f"{spec.name}-{spec.key()}"


def cache_entry(spec: RunSpec, root: Path | None = None) -> Path:
    """Where the cache keeps `spec`'s first seed (the root is created, and cleaned of killed writers' leftovers)."""
    root = cache_directory(root) if root else cache_root()
    recover_interrupted(root)
    return root / entry_name(spec)


def valid_entry(directory: Path) -> bool:
    """Whether a cache entry holds a valid checkpoint (variants included); a damaged one is
    removed, with a warning, so that it is rebuilt rather than trusted."""
    if not directory.exists() and not directory.is_symlink():
        return False
    try:
        for checkpoint in checkpoint_dirs(directory):
            load_checkpoint(checkpoint)
        return True
    except CheckpointError as e:
        warn(f"the cached run {directory} is damaged ({e}); training it again")
    if directory.is_dir() and not directory.is_symlink():
        shutil.rmtree(directory)
    else:
        directory.unlink()
    return False
