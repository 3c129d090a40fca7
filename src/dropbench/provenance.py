"""Where an output came from: the commit and whether the tree was dirty, dropbench's version, the
command line, the library versions and the machine fingerprint. Every output carries it
(claims.json records, reproduce.json, `bench --json`, report.html's header).

Git is asked about the package's own source directory, with no shell and a timeout; an installed
wheel (or a tree git cannot read) records the commit as "unknown".
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from . import __version__
from .profiles import fingerprint

UNKNOWN = "unknown"
GIT_TIMEOUT_S = 5.0
SOURCE_DIR = Path(__file__).resolve().parent
LIBRARIES = ("torch", "onnxruntime", "onnx", "numpy", "scikit-learn", "safetensors", "pydantic", "rich")


@dataclass(frozen=True)
class Provenance:
    commit: str  # the checkout's HEAD, "unknown" outside a git checkout of dropbench
    dirty: bool | None  # uncommitted changes in that checkout; None when unknown
    dropbench: str
    command: str  # the command line as the process received it
    created: str  # UTC, ISO 8601
    libraries: dict[str, str] = field(default_factory=dict)
    machine: dict[str, Any] = field(default_factory=dict)  # profiles.fingerprint()

    def as_dict(self, machine: bool = True) -> dict[str, Any]:
        """`machine=False` for a record that carries the fingerprint itself (a claim record)."""
        d = asdict(self)
        if not machine:
            d.pop("machine")
        return d


@lru_cache(maxsize=1)
def provenance() -> Provenance:
    """This process's provenance (computed once: one command writes one provenance everywhere)."""
    commit, dirty = git_state(SOURCE_DIR)
    return Provenance(
        commit, dirty, __version__, shlex.join(sys.argv), datetime.now(timezone.utc).isoformat(timespec="seconds"),
        library_versions(), fingerprint(),
    )


def git_state(source: Path) -> tuple[str, bool | None]:
    """(HEAD, dirty) of the git checkout whose src/dropbench is `source`; ("unknown", None) when
    there is none: a wheel installed inside some other repository must not report that one's commit."""
    top = _git(source, "rev-parse", "--show-toplevel")
    if top is None or Path(top).resolve() / "src" / "dropbench" != source:
        return UNKNOWN, None
    commit = _git(source, "rev-parse", "HEAD")
    status = _git(source, "status", "--porcelain")
    return commit or UNKNOWN, None if status is None else bool(status)


def _git(directory: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(directory), *args], capture_output=True, text=True, timeout=GIT_TIMEOUT_S)
    except (OSError, subprocess.SubprocessError):  # no git, or it hung
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def library_versions() -> dict[str, str]:
    """The installed versions of the libraries a figure depends on (read from their metadata, not imported)."""
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions
