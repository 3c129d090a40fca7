"""Hardware profiles (hardware_profiles/NAME.json) and the machine fingerprint (DESIGN.md §6).

A profile says how to run: device, threads, dtype, batch sizes, ONNX Runtime execution
providers, optionally the machine's peak FLOP/s and memory bandwidth. The fingerprint says what
the machine is; it is stored with every result.
"""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from .errors import ProfileError

PROFILE_DIR_ENV = "DROPBENCH_PROFILES"
PROFILE_ENV = "DROPBENCH_PROFILE"
DEVICES = ("cpu", "cuda")
DTYPES = ("float32", "float16", "bfloat16")
ORT_PROVIDERS = ("CPUExecutionProvider", "CUDAExecutionProvider", "TensorrtExecutionProvider")


@dataclass(frozen=True)
class Profile:
    name: str
    device: str
    threads: int
    dtype: str = "float32"
    batch_sizes: tuple[int, ...] = (1, 64)
    ort_providers: tuple[str, ...] = ("CPUExecutionProvider",)
    description: str = ""
    peak_flops: float | None = None  # FLOP/s of the physical limit, if known
    bandwidth: float | None = None  # bytes/s
    source: str = field(default="", compare=False)  # the file it came from

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("source")
        return d

    def unavailable_reason(self) -> str | None:
        """Why this profile cannot run here, or None."""
        if self.device == "cuda":
            import torch

            if not torch.cuda.is_available():
                return f"profile {self.name!r} needs CUDA, but this machine has none; use a CPU profile (dropbench profile list)"
        if "CUDAExecutionProvider" in self.ort_providers:
            import onnxruntime as ort

            if "CUDAExecutionProvider" not in ort.get_available_providers():
                return f"profile {self.name!r} needs onnxruntime's CUDAExecutionProvider (pip install onnxruntime-gpu)"
        return None

    def require_available(self) -> "Profile":
        reason = self.unavailable_reason()
        if reason:
            raise ProfileError(reason)
        return self


def profile_dirs() -> list[Path]:
    """Where profiles are looked up: $DROPBENCH_PROFILES, ./hardware_profiles, the source checkout."""
    dirs = []
    if os.environ.get(PROFILE_DIR_ENV):
        dirs.append(Path(os.environ[PROFILE_DIR_ENV]))
    dirs.append(Path.cwd() / "hardware_profiles")
    dirs.append(Path(__file__).resolve().parents[2] / "hardware_profiles")
    return [d for d in dict.fromkeys(dirs) if d.is_dir()]


def list_profiles() -> list[Profile]:
    found: dict[str, Profile] = {}
    for d in profile_dirs():
        for path in sorted(d.glob("*.json")):
            found.setdefault(path.stem, load_profile_file(path))
    return list(found.values())


def load_profile(name_or_path: str) -> Profile:
    """A profile by name (from the profile directories) or by path to a JSON file."""
    if name_or_path.endswith(".json") or os.sep in name_or_path:
        return load_profile_file(Path(name_or_path))
    for d in profile_dirs():
        if (d / f"{name_or_path}.json").exists():
            return load_profile_file(d / f"{name_or_path}.json")
    known = ", ".join(p.name for p in list_profiles()) or "none found"
    raise ProfileError(f"unknown profile {name_or_path!r}; known profiles: {known}")


def load_profile_file(path: Path) -> Profile:
    try:
        raw = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ProfileError(f"profile file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ProfileError(f"cannot read profile file {path}: {e}") from None
    except json.JSONDecodeError as e:
        raise ProfileError(f"profile file {path} is not valid JSON (line {e.lineno}: {e.msg})") from None
    return validate_profile(raw, str(path))


def validate_profile(raw: Any, source: str = "<dict>") -> Profile:
    """Check every field; the error names the file, the field and what is allowed."""

    def bad(msg: str) -> ProfileError:
        return ProfileError(f"invalid profile {source}: {msg}")

    if not isinstance(raw, dict):
        raise bad("the top level must be a JSON object")
    known = {f for f in Profile.__dataclass_fields__ if f != "source"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise bad(f"unknown field {unknown[0]!r} (allowed: {', '.join(sorted(known))})")
    for required in ("name", "device", "threads"):
        if required not in raw:
            raise bad(f"missing required field {required!r}")
    if not isinstance(raw["name"], str) or not raw["name"].replace("-", "").replace("_", "").isalnum():
        raise bad("'name' must be a string of letters, digits, '-' and '_'")
    if raw["device"] not in DEVICES:
        raise bad(f"'device' must be one of {', '.join(DEVICES)}, got {raw['device']!r}")
    if not _positive_int(raw["threads"]):
        raise bad(f"'threads' must be a positive integer, got {raw['threads']!r}")
    if raw.get("dtype", "float32") not in DTYPES:
        raise bad(f"'dtype' must be one of {', '.join(DTYPES)}, got {raw.get('dtype')!r}")
    batches = raw.get("batch_sizes", [1, 64])
    if not isinstance(batches, list) or not batches or not all(_positive_int(b) for b in batches):
        raise bad("'batch_sizes' must be a non-empty list of positive integers")
    providers = raw.get("ort_providers", ["CPUExecutionProvider"])
    if not isinstance(providers, list) or not providers or any(p not in ORT_PROVIDERS for p in providers):
        raise bad(f"'ort_providers' must be a non-empty list from {', '.join(ORT_PROVIDERS)}")
    for key in ("peak_flops", "bandwidth"):
        if raw.get(key) is not None and not (isinstance(raw[key], (int, float)) and raw[key] > 0):
            raise bad(f"'{key}' must be a positive number or null")
    if raw["device"] == "cpu" and "CUDAExecutionProvider" in providers:
        raise bad("a cpu profile cannot use CUDAExecutionProvider")
    return Profile(
        name=raw["name"], device=raw["device"], threads=raw["threads"], dtype=raw.get("dtype", "float32"),
        batch_sizes=tuple(batches), ort_providers=tuple(providers), description=raw.get("description", ""),
        peak_flops=raw.get("peak_flops"), bandwidth=raw.get("bandwidth"), source=source,
    )


def _positive_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v > 0


def default_profile() -> Profile:
    """$DROPBENCH_PROFILE, else a GPU profile naming this GPU, else the widest CPU profile that fits."""
    if os.environ.get(PROFILE_ENV):
        return load_profile(os.environ[PROFILE_ENV])
    profiles = list_profiles()
    gpu = fingerprint().get("gpu") or ""
    for p in profiles:
        if p.device == "cuda" and gpu and p.name.split("-")[-1].lower() in gpu.lower() and p.unavailable_reason() is None:
            return p
    cores = os.cpu_count() or 1
    cpu = [p for p in profiles if p.device == "cpu" and p.threads <= cores]
    if not cpu:
        raise ProfileError(
            f"no CPU profile with <= {cores} threads found in {', '.join(map(str, profile_dirs())) or 'any profile directory'}; set {PROFILE_DIR_ENV}"
        )
    return max(cpu, key=lambda p: p.threads)


@lru_cache(maxsize=1)
def fingerprint() -> dict[str, Any]:
    """What this machine is: stored with every result."""
    import onnxruntime
    import psutil
    import torch

    from . import __version__

    info: dict[str, Any] = {
        "hostname": platform.node(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": _cpu_model(),
        "cores_logical": psutil.cpu_count(logical=True),
        "cores_physical": psutil.cpu_count(logical=False),
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
        "ort_providers": onnxruntime.get_available_providers(),
        "dropbench": __version__,
        "gpu": None,
    }
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        info.update(gpu=props.name, gpu_memory_gb=round(props.total_memory / 2**30, 1), cuda=torch.version.cuda, driver=_nvidia_driver())
    return info


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _nvidia_driver() -> str | None:
    try:
        return Path("/proc/driver/nvidia/version").read_text().split("Kernel Module")[1].split()[0]
    except (OSError, IndexError):
        return None
