"""What every runtime shares: the Runner it returns, its registry entry, threads and device sync.

A runner is a zero-argument callable that runs one batch on inputs prepared once, so a timer
measures inference and nothing else. Threads follow the profile (docs/design.md, "Measuring"): torch's intra-op
threads, ORT's `intra_op_num_threads` and spinning (`Profile.ort_spinning`, on by default as in
onnxruntime); a timed runner is alone in its process (timing.rounds), so no other pool competes.
"""

from __future__ import annotations

import copy
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, ContextManager, Iterator, Union

import torch

from ..checkpoint import Checkpoint
from ..errors import DropbenchError
from ..models import example_input
from ..profiles import Profile

if TYPE_CHECKING:
    from ..onnx_model import OnnxModel

Model = Union[Checkpoint, "OnnxModel"]  # a dropbench checkpoint or any ONNX file
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


class RuntimeUnavailable(DropbenchError):
    """This runtime cannot run here or on this model (no C++ compiler, an op it cannot compile, ...)."""


@dataclass
class Runner:
    """One batch of inference; `compile_s` is the one-time compilation (torch-compile), kept apart from run time;
    `warnings` what the runtime could not do as asked (a layer it runs dense), carried into the timing's warnings."""

    run: Callable[[], Any]
    compile_s: float | None = None
    warnings: tuple[str, ...] = ()

    def __call__(self) -> Any:
        return self.run()


@dataclass(frozen=True)
class Runtime:
    """A registry entry: how to build a runner, and when the runtime applies."""

    name: str
    make: Callable[[Model, int, Profile], Runner]
    unsupported_reason: Callable[[Model], str | None]  # why it cannot run a model, None if it can
    by_default: bool  # timed by `bench` and `speedup` when no runtime is named
    unavailable_reason: Callable[[str], str | None] = lambda device: None  # why it cannot run on a device here
    sparse: bool = False  # runs zero weights as sparse matrices: timed against the dense net in torch eager, FLOPs counted without zeros

    def require_available(self, device: str) -> None:
        """RuntimeUnavailable when it cannot run here. Checked in the calling process: a timing
        round's process sees only what its server saw when it started."""
        reason = self.unavailable_reason(device)
        if reason:
            raise RuntimeUnavailable(reason)


@contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    """torch's intra-op threads at `threads` inside the block; the previous count comes back on
    exit, also when the block raises (as torch.utils.benchmark's set_torch_threads). Inter-op
    threads are left alone: torch lets a process set them only once."""
    previous = torch.get_num_threads()
    try:
        torch.set_num_threads(threads)
        yield
    finally:
        torch.set_num_threads(previous)


def profile_threads(profile: Profile) -> ContextManager[None]:
    """The profile's torch threads inside the block: build and time runners in it. (onnxruntime
    takes its threads from the profile per session, in runtimes/onnxruntime.py.)"""
    return torch_threads(profile.threads)


def device_sync(profile: Profile) -> Callable[[], None]:
    """What a timer calls after each sample: CUDA work is asynchronous."""
    return sync_for(profile.device)


def sync_for(device: str) -> Callable[[], None]:
    return torch.cuda.synchronize if device == "cuda" else (lambda: None)


def synced(run: Callable[[], Any], profile: Profile) -> Runner:
    """`run` followed by the device sync, for timers that call it bare (asv, pytest-benchmark): CUDA work is asynchronous."""
    sync = device_sync(profile)

    def run_and_sync() -> None:
        run()
        sync()

    return Runner(run_and_sync, getattr(run, "compile_s", None), getattr(run, "warnings", ()))


def needs_checkpoint(model: Model) -> str | None:
    """The torch runtimes' applicability: they run a dropbench checkpoint's torch module."""
    return None if isinstance(model, Checkpoint) else "an ONNX file has no torch module (time it in onnxruntime)"


def example_batch(checkpoint: Checkpoint, batch: int) -> torch.Tensor:
    return example_input(checkpoint.arch, batch, torch.Generator().manual_seed(batch))


def torch_inputs(checkpoint: Checkpoint, batch: int, profile: Profile) -> tuple[torch.nn.Module, torch.Tensor]:
    """A private copy of the checkpoint's model and one input batch, on the profile's device and dtype."""
    model = copy.deepcopy(checkpoint.model).to(profile.device)  # leave the checkpoint's model as loaded
    x = example_batch(checkpoint, batch).to(profile.device)
    if x.is_floating_point():
        model, x = model.to(DTYPES[profile.dtype]), x.to(DTYPES[profile.dtype])
    return model, x
