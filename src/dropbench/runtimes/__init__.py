"""Inference runtimes, one module each, and their registry.

| name | module | runs |
|---|---|---|
| torch-eager | torch_eager.py | a checkpoint's torch module |
| torch-sparse | torch_sparse.py (+ csr.py) | a sparse checkpoint with sparse weights in the device's default format |
| torch-sparse-<format> | torch_sparse.py | the same in another of csr.FORMATS (opt-in: to compare formats) |
| onnxruntime | onnxruntime.py | a checkpoint's model.onnx or any ONNX file |
| torch-compile | torch_compile.py | a checkpoint's module compiled by inductor (opt-in: compiling takes seconds) |

loading.py loads what they run (a checkpoint directory or an ONNX file); dropbench.timing times them.
"""

from __future__ import annotations

from ..errors import ConfigError
from ..profiles import Profile
from . import onnxruntime, torch_compile, torch_eager, torch_sparse
from .base import Model, Runner, Runtime, RuntimeUnavailable, device_sync, profile_threads, synced, torch_threads

RUNTIMES: dict[str, Runtime] = {
    r.name: r for r in (torch_eager.RUNTIME, torch_sparse.RUNTIME, onnxruntime.RUNTIME, torch_compile.RUNTIME, *torch_sparse.FORMAT_RUNTIMES)
}


def get_runtime(name: str) -> Runtime:
    if name not in RUNTIMES:
        raise ConfigError(f"unknown runtime {name!r}; choose one of: {', '.join(RUNTIMES)}")
    return RUNTIMES[name]


def parse_runtimes(text: str) -> list[str]:
    """`torch-eager,onnxruntime` -> checked runtime names."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise ConfigError("--runtimes needs at least one runtime, e.g. torch-eager,onnxruntime")
    return [get_runtime(name).name for name in names]


def make_runner(runtime: str, model: Model, batch: int, profile: Profile) -> Runner:
    """A runner of `model` in `runtime`; ConfigError if the runtime cannot run this model."""
    entry = get_runtime(runtime)
    reason = entry.unsupported_reason(model)
    if reason:
        raise ConfigError(f"{runtime} cannot run {model.name}: {reason}")
    return entry.make(model, batch, profile)


def applicable_runtimes(model: Model) -> list[str]:
    """Every runtime that can run `model`."""
    return [name for name, r in RUNTIMES.items() if r.unsupported_reason(model) is None]


def default_runtimes(model: Model) -> list[str]:
    """The runtimes timed when none is named: all that apply but the opt-in ones (torch-compile)."""
    return [name for name in applicable_runtimes(model) if RUNTIMES[name].by_default]


def left_out(*models: Model) -> dict[str, str]:
    """The runtimes timed by default that cannot run one of `models`, each with its reason: the
    commands say why a runtime is missing instead of dropping it silently."""
    reasons = {}
    for name, runtime in RUNTIMES.items():
        reason = next((r for r in map(runtime.unsupported_reason, models) if r), None)
        if runtime.by_default and reason:
            reasons[name] = reason
    return reasons


__all__ = [
    "RUNTIMES", "Model", "Runner", "Runtime", "RuntimeUnavailable", "applicable_runtimes", "default_runtimes",
    "device_sync", "get_runtime", "left_out", "make_runner", "parse_runtimes", "profile_threads", "synced", "torch_threads",
]
