"""Where a net's time goes, and why a compacted net's realisation falls short of its FLOP ratio.

A realisation (measured speedup / FLOP ratio) below REALISATION_GOAL has a cause a user can act on,
and this module names it from three measurements of each net in the runtime that was timed:
- the runtime's **fixed cost** per call: the latency of a trivial model with the same input and
  output (one linear map), which no compaction removes;
- the time of **each layer**: onnxruntime's profiler (kernel time per node) or, in torch eager,
  hooks around each Linear / Conv2d; with its FLOPs, each layer's GFLOP/s;
- the **sparse format**, when the candidate runs as sparse matrices (torch-sparse);
- a **roofline**, when the profile names its peak FLOP/s and memory bandwidth: each layer's least
  time is its FLOPs at peak or its bytes at full bandwidth, whichever is longer.
A compacted layer that runs at under half the GFLOP/s of the same layer of the dense net is a width
the kernels handle badly; a fixed cost above a quarter of the candidate's time caps the speedup.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
import tempfile
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..checkpoint import ONNX, Checkpoint
from ..export import export_model
from ..models import build_model, example_input
from ..profiles import Profile
from ..runtimes.base import example_batch, torch_inputs, torch_threads
from ..runtimes.onnxruntime import ort_session
from .measurement import timeit

REALISATION_GOAL = 0.8  # issue 23: a compacted net should deliver this much of its FLOP saving
MIN_BASELINE_S = 100e-6  # issue 23 sets its targets for nets whose dense baseline takes at least this long
EXPLAINED_RUNTIMES = ("onnxruntime", "torch-eager")
FIXED_COST_SHARE = 0.25  # a fixed cost above this share of the candidate's time caps its speedup
SLOW_LAYER_SHARE = 0.5  # a layer at under this share of the dense layer's GFLOP/s runs a bad width
PROFILED_CALLS = 30


@dataclass
class Layer:
    name: str
    seconds: float  # mean per call
    flops: float  # per call, the whole batch
    bytes: float  # read and written per call: its inputs, weights and outputs

    @property
    def gflops_per_s(self) -> float:
        return self.flops / self.seconds / 1e9 if self.seconds > 0 else math.nan

    def roofline_s(self, peak_flops: float, bandwidth: float) -> float:
        """The least time the hardware allows: its FLOPs at peak, or its bytes at full bandwidth."""
        return max(self.flops / peak_flops, self.bytes / bandwidth)


@dataclass
class Breakdown:
    """One net in one runtime at one batch size: its per-call time by layer and the runtime's fixed cost."""

    runtime: str
    batch: int
    fixed_cost_s: float
    layers: list[Layer] = field(default_factory=list)

    def roofline_s(self, profile: Profile) -> float | None:
        """The roofline time of all layers, None when the profile names no peak FLOP/s and bandwidth."""
        if not (profile.peak_flops and profile.bandwidth):
            return None
        return sum(layer.roofline_s(profile.peak_flops, profile.bandwidth) for layer in self.layers)

    def memory_bound(self, profile: Profile) -> bool:
        """Whether layers limited by bandwidth, not FLOPs, take most of the roofline time."""
        if not (profile.peak_flops and profile.bandwidth):
            return False
        by_bytes = sum(layer.bytes / profile.bandwidth for layer in self.layers if layer.bytes / profile.bandwidth > layer.flops / profile.peak_flops)
        return by_bytes > 0.5 * (self.roofline_s(profile) or math.inf)

    def as_dict(self) -> dict[str, Any]:
        return {"runtime": self.runtime, "batch": self.batch, "fixed_cost_s": self.fixed_cost_s,
                "layers": [{**asdict(layer), "gflops_per_s": layer.gflops_per_s} for layer in self.layers]}


def breakdown(checkpoint: Checkpoint, runtime: str, batch: int, profile: Profile) -> Breakdown | None:
    """Fixed cost and per-layer times of `checkpoint` (None: a runtime or model this cannot profile)."""
    if runtime not in EXPLAINED_RUNTIMES or checkpoint.arch["kind"] not in ("mlp", "lenet5"):
        return None
    with torch_threads(profile.threads):
        fixed = fixed_cost(checkpoint.arch, runtime, batch, profile)
        layers = ort_layers(checkpoint, batch, profile) if runtime == "onnxruntime" else torch_layers(checkpoint, batch, profile)
    return Breakdown(runtime, batch, fixed, layers)


class Breakdowns:
    """`breakdown` computed once per (checkpoint, runtime, batch, profile): every compacted net of a
    dense baseline shares the baseline's. Make one per timing stage, so nothing outlives it."""

    def __init__(self) -> None:
        self._done: dict[tuple[Path, str, int, Profile], Breakdown | None] = {}

    def __call__(self, checkpoint: Checkpoint, runtime: str, batch: int, profile: Profile) -> Breakdown | None:
        key = (checkpoint.path, runtime, batch, profile)
        if key not in self._done:
            self._done[key] = breakdown(checkpoint, runtime, batch, profile)
        return self._done[key]


def cause(
    realisation: float, baseline: Breakdown | None, candidate: Breakdown | None, candidate_s: float, sparse: bool, profile: Profile,
) -> str | None:
    """Why a realisation is below REALISATION_GOAL, in words (None when it is not)."""
    if not realisation < REALISATION_GOAL:
        return None
    if sparse:
        return "sparse format: the sparse kernels do far less work per second than dense ones on the same weights"
    if candidate is None or baseline is None:
        return "not profiled in this runtime"
    causes = []
    if candidate.fixed_cost_s > FIXED_COST_SHARE * candidate_s:
        causes.append(f"fixed cost: {_us(candidate.fixed_cost_s)} of its {_us(candidate_s)} per call is the runtime's own (a one-layer model's latency)")
    dense = {layer.name: layer for layer in baseline.layers}
    for layer in candidate.layers:
        twin = dense.get(layer.name)
        if twin and layer.gflops_per_s < SLOW_LAYER_SHARE * twin.gflops_per_s:
            causes.append(f"a layer width the kernels handle badly: {layer.name} runs at {layer.gflops_per_s:.1f} GFLOP/s, "
                          f"the dense net's at {twin.gflops_per_s:.1f}")
    if candidate.memory_bound(profile):
        causes.append("memory bound: at the profile's peak FLOP/s and bandwidth its layers wait on memory more than on arithmetic")
    return "; ".join(causes) or "no single cause: the fixed cost is small and every layer keeps over half the dense layer's GFLOP/s"


def against_targets(records: list[dict[str, Any]], profile: str, batch: int) -> list[tuple[dict[str, Any], list[str]]]:
    """Issue 23's targets on speedup records: every compacted checkpoint x runtime timed on `profile`
    at `batch` (A/A and skipped records left out), each with its flags. A record is a target when
    its dense baseline takes at least MIN_BASELINE_S; a target slower than dense says so, and each
    checkpoint's fastest target says whether its realisation meets REALISATION_GOAL."""
    timed = [r for r in records if r.get("profile") == profile and r.get("batch") == batch and "skipped" not in r and r["candidate"] != r["baseline"]]
    targets = [r for r in timed if r["baseline_timing"]["median_s"] >= MIN_BASELINE_S]
    best = {r["candidate"]: r for r in sorted(targets, key=lambda r: r["speedup"])}  # the fastest comes last, and stays
    return [(r, _flags(r, best.get(r["candidate"]) is r)) for r in timed]


def _flags(record: dict[str, Any], best: bool) -> list[str]:
    baseline_s = record["baseline_timing"]["median_s"]
    if baseline_s < MIN_BASELINE_S:
        return [f"no target: its dense baseline takes {_us(baseline_s)}, under {_us(MIN_BASELINE_S)}"]
    flags = []
    if record["speedup"] < 1:  # a point below 1 whose interval reaches 1 may be noise: said so
        flags.append("slower than dense" + ("" if record["ci"][1] < 1 else " (its interval reaches 1)"))
    if best:
        met = record["realisation"] >= REALISATION_GOAL
        flags.append(f"{'meets' if met else 'misses'} >= {REALISATION_GOAL} on its best runtime")
    return flags


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:.0f} µs"


def fixed_cost(arch: dict[str, Any], runtime: str, batch: int, profile: Profile) -> float:
    """Median per-call latency of a one-linear-layer model with `arch`'s input and output, in `runtime`."""
    classes = arch["widths"][-1] if arch["kind"] == "mlp" else arch["classes"]
    return _fixed_cost(tuple(arch["input_shape"]), classes, runtime, batch, profile)


@functools.lru_cache(maxsize=32)  # one per input and output shape: every compacted net of a dense one shares it
def _fixed_cost(input_shape: tuple[int, ...], classes: int, runtime: str, batch: int, profile: Profile) -> float:
    torch.manual_seed(0)
    model = build_model({"kind": "mlp", "input_shape": list(input_shape), "widths": [math.prod(input_shape), classes]}).eval()
    x = example_input(model.arch, batch, torch.Generator().manual_seed(batch))
    if runtime == "onnxruntime":
        with tempfile.TemporaryDirectory() as tmp:
            export_model(model, Path(tmp) / ONNX)
            session = ort_session(Path(tmp) / ONNX, profile)
            feed = {"input": x.numpy()}
            return timeit(lambda: session.run(None, feed), min_run_time=0.1).median
    with torch.inference_mode():
        return timeit(lambda: model(x), min_run_time=0.1).median


def ort_layers(checkpoint: Checkpoint, batch: int, profile: Profile) -> list[Layer]:
    """Mean kernel time per layer over PROFILED_CALLS calls (onnxruntime's profiler), in graph order.

    The exporter names a layer's nodes after its module ("/layers.0/Gemm", fused: "fused
    /layers.0/Gemm"); FLOPs and bytes come from the module (onnxruntime prepacks weights, so its
    trace leaves them out of a node's inputs)."""
    with tempfile.TemporaryDirectory() as tmp:
        session = ort_session(checkpoint.path / ONNX, profile, profile_prefix=os.path.join(tmp, "ort"))
        feed = {"input": example_batch(checkpoint, batch).numpy()}
        for _ in range(PROFILED_CALLS + 1):
            session.run(None, feed)
        events = json.loads(Path(session.end_profiling()).read_text())
    layers = {layer.name: layer for layer in torch_layers(checkpoint, batch, profile, calls=1)}
    durations: dict[str, list[float]] = defaultdict(list)
    for event in events:
        module = re.fullmatch(r"(?:fused )?/(.+)/[^/]+_kernel_time", event.get("name", ""))
        if event.get("cat") == "Node" and module and module.group(1) in layers:
            durations[module.group(1)].append(event["dur"] * 1e-6)
    # one node per layer and call; the first call warms up, so the mean is over the others
    return [replace(layers[name], seconds=sum(d[1:]) / len(d[1:])) for name, d in durations.items() if len(d) > 1]


def torch_layers(checkpoint: Checkpoint, batch: int, profile: Profile, calls: int = PROFILED_CALLS) -> list[Layer]:
    """Mean time per Linear / Conv2d module over `calls` calls after one warm-up, from hooks around each."""
    model, x = torch_inputs(checkpoint, batch, profile)
    seconds: dict[str, float] = defaultdict(float)
    flops: dict[str, float] = {}
    moved: dict[str, float] = {}
    hooks = []
    for name, module in model.named_modules():
        if isinstance(module, (nn.Linear, nn.Conv2d)):
            hooks += _timing_hooks(name, module, seconds, flops, moved)
    try:
        with torch.inference_mode():
            model(x)
            seconds.clear()
            for _ in range(calls):
                model(x)
    finally:
        for hook in hooks:
            hook.remove()
    return [Layer(name, seconds[name] / calls, flops[name], moved[name]) for name in seconds]


def _timing_hooks(name: str, module: nn.Module, seconds: dict[str, float], flops: dict[str, float], moved: dict[str, float]) -> list[Any]:
    start: list[float] = []

    def before(_module: nn.Module, _inputs: Any) -> None:
        start.append(time.perf_counter())

    def after(_module: nn.Module, inputs: Any, output: torch.Tensor) -> None:
        seconds[name] += time.perf_counter() - start.pop()
        flops[name] = _module_flops(module, output)
        tensors = [inputs[0], output, *module.parameters()]
        moved[name] = float(sum(t.numel() * t.element_size() for t in tensors))

    return [module.register_forward_pre_hook(before), module.register_forward_hook(after)]


def _module_flops(module: nn.Module, output: torch.Tensor) -> float:
    if isinstance(module, nn.Linear):
        return 2.0 * output.numel() * module.in_features
    return 2.0 * output.numel() * math.prod(module.weight.shape[1:])

