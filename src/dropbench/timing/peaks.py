"""The attainable peaks a roofline needs: FLOP/s of a large float32 matrix product and memory
bandwidth of a large copy, on a profile's threads (benchmarks/peaks.py stores them in the profile).

Attainable, not the data sheet's: what torch's kernels reach on this machine, so a layer at the
roofline runs as fast as the best-case kernel here, and a realisation against it is one a user
could get."""

from __future__ import annotations

import torch

from ..profiles import Profile
from ..runtimes.base import torch_threads
from .measurement import Measurement, timeit

MATMUL_SIZE = 1024  # large enough to be compute bound, small enough for a 2-core second
COPY_BYTES = 256 * 2**20  # well past every cache


def peak_flops(profile: Profile, min_run_time: float = 1.0) -> tuple[float, Measurement]:
    """FLOP/s of an n x n float32 product (2 n^3 FLOPs) on the profile's threads, and its timing."""
    a, b = torch.randn(MATMUL_SIZE, MATMUL_SIZE), torch.randn(MATMUL_SIZE, MATMUL_SIZE)
    out = torch.empty(MATMUL_SIZE, MATMUL_SIZE)
    with torch_threads(profile.threads):
        m = timeit(lambda: torch.mm(a, b, out=out), f"matmul {MATMUL_SIZE}", min_run_time=min_run_time)
    return 2 * MATMUL_SIZE**3 / m.median, m


def bandwidth(profile: Profile, min_run_time: float = 1.0) -> tuple[float, Measurement]:
    """Bytes/s of copying COPY_BYTES (read once, written once) on the profile's threads, and its timing."""
    source = torch.ones(COPY_BYTES // 4)
    target = torch.empty_like(source)
    with torch_threads(profile.threads):
        m = timeit(lambda: target.copy_(source), f"copy {COPY_BYTES >> 20} MiB", min_run_time=min_run_time)
    return 2 * COPY_BYTES / m.median, m
