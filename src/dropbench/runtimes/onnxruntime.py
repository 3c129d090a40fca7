"""onnxruntime: a checkpoint's exported model.onnx, or any ONNX file, on the profile's execution providers."""

from __future__ import annotations

from pathlib import Path

from ..checkpoint import ONNX, Checkpoint
from ..errors import ConfigError, ProfileError
from ..profiles import Profile
from .base import Model, Runner, Runtime, example_batch


def ort_session(path: Path, profile: Profile, profile_prefix: str | None = None):
    """An onnxruntime session as users deploy it: its defaults but the profile's intra-op threads
    and spinning (on, onnxruntime's default, unless the profile turns it off); `profile_prefix`
    turns onnxruntime's profiler on (its JSON trace is written there: timing.explain reads it)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    if profile_prefix:
        options.enable_profiling, options.profile_file_prefix = True, profile_prefix
    options.intra_op_num_threads = profile.threads
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if profile.ort_spinning else "0")
    options.log_severity_level = 3
    missing = [p for p in profile.ort_providers if p not in ort.get_available_providers()]
    if missing:
        raise ProfileError(f"onnxruntime here lacks {', '.join(missing)} that profile {profile.name!r} needs")
    try:
        return ort.InferenceSession(str(path), options, providers=list(profile.ort_providers))
    except Exception as e:  # onnxruntime raises its own exception types for invalid or unsupported graphs
        raise ConfigError(f"onnxruntime cannot load {path}: {str(e).strip().splitlines()[0][:300]}") from None


def make(model: Model, batch: int, profile: Profile) -> Runner:
    if isinstance(model, Checkpoint):
        session = ort_session(model.path / ONNX, profile)
        feed = {"input": example_batch(model, batch).numpy()}
    else:
        session = ort_session(model.path, profile)
        feed = model.feed(batch)
    try:
        session.run(None, feed)  # a graph whose shapes do not fit the inputs fails here, not inside the timer
    except Exception as e:
        shapes = ", ".join(f"{name}={'x'.join(map(str, a.shape))}" for name, a in feed.items())
        raise ConfigError(f"onnxruntime cannot run {model.name} on inputs {shapes}: {str(e).strip().splitlines()[0][:300]}") from None
    return Runner(lambda: session.run(None, feed))


def unsupported_reason(model: Model) -> str | None:
    if isinstance(model, Checkpoint) and ONNX not in model.manifest["files"]:
        return f"no exported {ONNX}; run `dropbench export {model.path}` first"
    return None


RUNTIME = Runtime("onnxruntime", make, unsupported_reason, by_default=True)
