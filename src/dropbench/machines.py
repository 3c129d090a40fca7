"""asv machines: a hardware profile on one kind of machine (docs/asv.md, "Profiles on each CPU").

A recorded figure belongs to its profile and to the hardware it ran on (profiles.Hardware): the
same 2-thread profile trains 1.75x slower on one 2-core Intel Xeon than on one 2-core AMD EPYC,
so the two must never share a history. The machine's name therefore carries both, e.g.
`cpu-2thread-amd-epyc-7b13-2c`, and a name already recorded on other hardware is refused.

asv does not tell benchmarks which --machine they run under; the suites read the profile from
$DROPBENCH_PROFILE (else the detected one), so run `DROPBENCH_PROFILE=PROFILE asv run --machine NAME`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from .errors import ConfigError
from .fsutil import atomic_write_json
from .history import PROFILE_FACT, machine_facts, require_asv
from .limits import ASV_CONFIG_MAX_BYTES
from .profiles import Hardware, fingerprint, hardware, load_profile
from .schemas import read_json
from .schemas.asv import MACHINE_NAME

MACHINE_FACTS = ("cpu", "cpu_id", "cores_physical", "ram_gb", "gpu", "gpu_memory_gb", "driver", "cuda")  # from the fingerprint
CPU_SLUG_MAX = 32
# Words of a CPU's model name that tell no two CPUs apart: trademarks, "CPU", "64-Core Processor", "@ 2.20GHz".
CPU_NOISE = re.compile(r"\((?:r|tm)\)|\b(?:cpu|processor|\d+-core)\b|@.*$")


def cpu_slug(cpu: str) -> str:
    """A short, stable, filesystem-safe form of a CPU model name: "AMD EPYC 7B13 64-Core Processor"
    -> "amd-epyc-7b13", "Intel(R) Xeon(R) CPU @ 2.20GHz" -> "intel-xeon"."""
    words = re.findall(r"[a-z0-9]+", CPU_NOISE.sub(" ", cpu.lower()))
    slug = "-".join(words)
    if len(slug) > CPU_SLUG_MAX:  # cut at a word boundary
        slug = slug[: CPU_SLUG_MAX + 1].rsplit("-", 1)[0][:CPU_SLUG_MAX]
    return slug or "unknown-cpu"


def machine_name(profile: str, machine: Hardware) -> str:
    """The asv machine of a profile on this hardware: profile, CPU (with its x86 family and model
    where known: "f26m2") and physical cores."""
    family = "-f{}m{}".format(*machine.cpu_id.split("/")) if re.fullmatch(r"\d+/\d+", machine.cpu_id) else ""
    return f"{profile}-{cpu_slug(machine.cpu)}{family}-{machine.cores or 0}c"


def recorded_hardware(results_dir: Path, name: str) -> Hardware | None:
    """The hardware an asv machine's results were recorded on (its machine.json), None if it has none."""
    facts = machine_facts(results_dir, name)
    return Hardware.of(facts.model_dump()) if facts else None


def register_machine(profile_name: str, results_dir: Path, name: str | None = None) -> tuple[str, Path]:
    """Write the asv machine entry of a profile on this machine: asv's own facts about it, the
    fingerprint's hardware facts (shown with the machine on the published site) and the profile.
    The name is `machine_name` unless given; one whose results in `results_dir` were recorded on
    other hardware is refused. Returns (the name, the machine file written: ~/.asv-machine.json)."""
    require_asv()
    from asv.machine import Machine, MachineCollection

    profile = load_profile(profile_name).require_available()
    here = hardware()
    own_name = machine_name(profile.name, here)
    name = name or own_name
    if not re.fullmatch(MACHINE_NAME, name):
        raise ConfigError(f"asv machine name {name!r} must be letters, digits, '.', '_' and '-', at most 100, starting with a letter or digit")
    recorded = recorded_hardware(results_dir, name)
    if recorded is not None and recorded != here:
        way_out = f"register it as {own_name!r}" if name != own_name else "give it another name with --name"
        raise ConfigError(
            f"asv machine {name!r} was recorded on {recorded.label} ({Path(results_dir) / name}), but this machine is "
            f"{here.label}: its figures would read as regressions; {way_out}"
        )
    facts = {key: str(value) for key, value in fingerprint().items() if key in MACHINE_FACTS and value is not None}
    path = Path(MachineCollection.get_machine_file_path())
    save_machine(path, name, {**Machine.get_defaults(), **facts, "machine": name, "profile": profile.description, PROFILE_FACT: profile.name})
    return name, path


def save_machine(path: Path, name: str, info: dict[str, str]) -> None:
    """asv's machine file (what MachineCollection.save writes) with `info` under `name`: the
    machines already there read within limits (a regular file holding a JSON object, where asv's
    own save blocked on a FIFO and wrote through a link), the file replaced in one rename."""
    machines = read_json(path, ConfigError, ASV_CONFIG_MAX_BYTES, "asv machine file") if os.path.lexists(path) else {}
    if not isinstance(machines, dict):
        raise ConfigError(f"{path} is not asv's machine file (it holds no JSON object); move it away and register again")
    atomic_write_json(path, {**machines, name: info, "version": 1})
