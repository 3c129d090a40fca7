"""Hardware profiles (hardware_profiles/NAME.json) and the machine fingerprint (docs/design.md, "Hardware profiles").

A profile says how to run: device, threads, onnxruntime's spinning, dtype, batch sizes, ONNX
Runtime execution providers, optionally the machine's peak FLOP/s and memory bandwidth. The fingerprint says what
the machine is; it is stored with every result.
"""

from __future__ import annotations

import os
import platform
import re
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from .errors import ProfileError
from .fsutil import user_path
from .limits import PROFILE_MAX_BYTES
from .schemas import read_json, validate
from .schemas.profile import PROFILE_NAME, ProfileSchema

PROFILE_DIR_ENV = "DROPBENCH_PROFILES"
PROFILE_ENV = "DROPBENCH_PROFILE"
OVERSUBSCRIPTION = 4  # threads per core beyond which a profile is for another machine


@dataclass(frozen=True)
class Profile:
    name: str
    device: str
    threads: int
    ort_spinning: bool = True  # onnxruntime's intra-op threads spin while they wait (its default)
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

    def timing_settings(self) -> dict[str, Any]:
        """What every timing record carries about how the runtimes were set up."""
        return {"threads": self.threads, "ort_spinning": self.ort_spinning}

    def unavailable_reason(self) -> str | None:
        """Why this profile cannot run here, or None."""
        cores = os.cpu_count() or 1
        if self.threads > OVERSUBSCRIPTION * cores:
            return f"profile {self.name!r} asks for {self.threads} threads, over {OVERSUBSCRIPTION}x the {cores} cores here; use a profile for this machine"
        if self.device == "cuda":
            if not cuda_available():
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
        dirs.append(user_path(os.environ[PROFILE_DIR_ENV], PROFILE_DIR_ENV, ProfileError))
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
    return named_profile(name_or_path)


def named_profile(name: str) -> Profile:
    """The profile of that plain name in the profile directories (never a path: a name from a
    record or asv results opens nothing); an unknown one is one line naming the known ones."""
    profile = find_profile(name)
    if profile is None:
        known = ", ".join(p.name for p in list_profiles()) or "none found"
        raise ProfileError(f"unknown profile {name!r}; known profiles: {known}")
    return profile


def find_profile(name: str) -> Profile | None:
    """The profile of that plain name in the profile directories, None if there is none. A name
    from a record is never a path: anything but a plain name finds nothing."""
    if not re.fullmatch(PROFILE_NAME, name):
        return None
    path = next((d / f"{name}.json" for d in profile_dirs() if (d / f"{name}.json").exists()), None)
    return load_profile_file(path) if path else None


def load_profile_file(path: Path) -> Profile:
    path = user_path(path, "profile file", ProfileError)
    if not path.exists():
        raise ProfileError(f"profile file {path} does not exist")
    return validate_profile(read_json(path, ProfileError, PROFILE_MAX_BYTES, "profile"), str(path))


def validate_profile(raw: Any, source: str = "<dict>") -> Profile:
    """Check every field against the schema; the error names the file, the field and what is allowed."""
    checked = validate(ProfileSchema, raw, f"invalid profile {source}", ProfileError)
    fields = checked.model_dump()
    return Profile(**{**fields, "batch_sizes": tuple(checked.batch_sizes), "ort_providers": tuple(checked.ort_providers)}, source=source)


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


@dataclass(frozen=True)
class Hardware:
    """The part of the fingerprint a timing depends on: what a recorded figure belongs to beside its
    profile. The same profile on an AMD EPYC and on an Intel Xeon gives two histories, never one."""

    cpu: str  # the model name, "" when unknown
    cores: int | None  # physical
    ram_gib: int | None  # whole GiB: the total a VM reports differs by a megabyte or so between instances of one type
    # x86 family and model ("26/2"), "" when unknown: VMs name different CPUs alike ("AMD EPYC" is
    # several generations that train up to 4x apart)
    cpu_id: str = ""

    @classmethod
    def of(cls, facts: dict[str, Any]) -> "Hardware":
        """From a fingerprint, or the asv machine facts written from one (values as strings)."""
        cores = facts.get("cores_physical") or facts.get("cores_logical") or facts.get("num_cpu")
        ram = facts.get("ram_gb")
        return cls(str(facts.get("cpu") or ""), _number(cores, int), _number(ram, lambda v: round(float(v))), str(facts.get("cpu_id") or ""))

    @property
    def label(self) -> str:
        """For people: "AMD EPYC 7B13, 2 cores, 24 GiB"."""
        cores = f"{self.cores} cores" if self.cores else "cores unknown"
        ram = f"{self.ram_gib} GiB" if self.ram_gib else "memory unknown"
        family = f" (family/model {self.cpu_id})" if self.cpu_id else ""
        return f"{self.cpu or 'unknown CPU'}{family}, {cores}, {ram}"


def hardware() -> Hardware:
    """This machine's Hardware."""
    return Hardware.of(fingerprint())


def _number(value: Any, convert: Callable[[Any], int]) -> int | None:
    """A count from a fact, None when it is missing or not a number (a hand-edited machine.json)."""
    try:
        return convert(value) if value not in (None, "") else None
    except (ValueError, TypeError, OverflowError):
        return None


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
        "cpu_id": _cpu_id(),
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


def cuda_available() -> bool:
    """Whether torch sees a CUDA device. Without an NVIDIA driver (Linux's /proc/driver/nvidia,
    WSL's /dev/dxg) the answer is no without loading torch: `dropbench profile list` stays fast."""
    if not (Path("/proc/driver/nvidia").exists() or Path("/dev/dxg").exists()):
        return False
    import torch

    return torch.cuda.is_available()


def _cpu_model() -> str:
    return _cpuinfo().get("model name") or platform.processor() or platform.machine()


def _cpu_id() -> str | None:
    """The x86 family and model ("26/2"), None where /proc/cpuinfo does not say."""
    info = _cpuinfo()
    return f"{info['cpu family']}/{info['model']}" if "cpu family" in info and "model" in info else None


def _cpuinfo() -> dict[str, str]:
    """The first processor's fields of /proc/cpuinfo (empty where there is none)."""
    fields: dict[str, str] = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if not line.strip():
                break
            key, _, value = line.partition(":")
            fields[key.strip()] = value.strip()
    except OSError:
        pass
    return fields


def _nvidia_driver() -> str | None:
    try:
        return Path("/proc/driver/nvidia/version").read_text().split("Kernel Module")[1].split()[0]
    except (OSError, IndexError):
        return None
