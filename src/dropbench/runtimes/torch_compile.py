"""torch.compile (inductor): compiled once per checkpoint and batch size, compile time kept apart.

Static shapes (`dynamic=False`): each batch size gets its own kernels, as a deployed model would.
The first call compiles; its time is `Runner.compile_s`, and the timer's warm-up and samples
come after it. Where inductor cannot compile (no C++ compiler on CPU, an op it does not lower),
the runtime raises RuntimeUnavailable with one reason and the caller skips it.
"""

from __future__ import annotations

import shutil
import time

import torch

from ..profiles import Profile
from .base import Model, Runner, Runtime, RuntimeUnavailable, needs_checkpoint, torch_inputs

# Every compiled module shares the code object dynamo caches on (Module._call_impl), one entry
# per checkpoint x batch size: past the default limit of 8, dynamo would silently run eager.
RECOMPILE_LIMIT = 256


def unavailable_reason(device: str) -> str | None:
    """Why inductor cannot compile on `device` here, or None. On CPU it needs a C++ compiler."""
    if device != "cpu":
        return None
    from torch._inductor import config

    candidates = [c for c in config.cpp.cxx if c]
    if not any(shutil.which(c) for c in candidates):
        return f"torch-compile needs a C++ compiler on CPU; none of {', '.join(candidates)} is on PATH (set CXX or install g++)"
    return None


def make(checkpoint: Model, batch: int, profile: Profile) -> Runner:
    RUNTIME.require_available(profile.device)
    torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, RECOMPILE_LIMIT)
    torch._dynamo.config.accumulated_recompile_limit = max(torch._dynamo.config.accumulated_recompile_limit, RECOMPILE_LIMIT)
    model, x = torch_inputs(checkpoint, batch, profile)
    compiled = torch.compile(model, backend="inductor", dynamic=False)

    def run() -> torch.Tensor:
        with torch.no_grad():  # the mode it was compiled in: a different grad mode would recompile
            return compiled(x)

    start = time.perf_counter()
    try:
        run()
        if profile.device == "cuda":
            torch.cuda.synchronize()
    except Exception as e:  # dynamo / inductor raise many types; the user needs one reason
        message = (str(e).strip().splitlines() or [""])[0][:300]
        raise RuntimeUnavailable(f"torch.compile cannot compile {checkpoint.name}: {type(e).__name__}: {message}") from None
    return Runner(run, compile_s=time.perf_counter() - start)


RUNTIME = Runtime("torch-compile", make, needs_checkpoint, by_default=False, unavailable_reason=unavailable_reason)
