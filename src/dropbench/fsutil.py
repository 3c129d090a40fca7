"""Atomic file and directory writes: an interrupted run never leaves half-written files."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Any, BinaryIO, Iterator

from filelock import FileLock

from .errors import DropbenchError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# mkstemp / mkdtemp create private (0600 / 0700) entries; results should get the usual modes.
FILE_MODE = 0o666 & ~_umask()
DIR_MODE = 0o777 & ~_umask()


@contextlib.contextmanager
def staged_file(path: Path) -> Iterator[Path]:
    """Yield a temporary file beside `path`; on success it replaces `path` in one rename.

    On any error the temporary file is removed and `path` is left untouched. A symbolic link at
    `path` is replaced by the file (its target is never written); a directory there is refused.
    """
    path = Path(path)
    if path.is_dir() and not path.is_symlink():  # a symlink itself is replaced, never followed
        raise DropbenchError(f"{path} is a directory; dropbench writes a file there and never replaces a directory: move it away")
    path.parent.mkdir(parents=True, exist_ok=True)
    recover_interrupted(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp")
    os.fchmod(fd, FILE_MODE)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary file beside `path`, fsync, then rename over it."""
    with staged_file(path) as tmp, open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def open_regular(path: Path, error: type[DropbenchError] = DropbenchError, max_bytes: int | None = None) -> BinaryIO:
    """Open a plain file for reading; refuse symlinks, devices, FIFOs and files over `max_bytes`.

    O_NOFOLLOW refuses a symlink as the last component; O_NONBLOCK keeps a FIFO from blocking the
    open, and fstat then refuses it, so /dev/zero or a pipe can never be read forever.
    """
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        raise error(f"{path} does not exist") from None
    except OSError as e:
        reason = "it is a symbolic link, which dropbench never follows" if e.errno == errno.ELOOP else e.strerror
        raise error(f"cannot read {path}: {reason}") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise error(f"{path} is not a regular file (a directory, device or pipe); refusing to read it")
    if max_bytes is not None and info.st_size > max_bytes:
        os.close(fd)
        raise error(f"{path} is {info.st_size:,} bytes, more than the {max_bytes:,} allowed for such a file")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def sha256_file(path: Path, error: type[DropbenchError] = DropbenchError) -> str:
    h = hashlib.sha256()
    with open_regular(path, error) as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# --- output directories ----------------------------------------------------------------------------

OUTPUT_MARKER = ".dropbench-output"  # written into every directory staged_dir creates
NAME_MAX = 255  # bytes of one name in a path (Linux)
PATH_MAX = 4096  # bytes of a whole path (Linux)
_STALE = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.(?:\w+\.(?:partial|tmp)|old)$")


def is_dropbench_output(path: Path) -> bool:
    """A directory dropbench wrote (its marker is there), which --force may replace."""
    marker = Path(path) / OUTPUT_MARKER
    return marker.is_file() and not marker.is_symlink()


def _protected(resolved: Path) -> bool:
    """/, the home directory, the working directory and their ancestors: never replaced, never a cache."""
    cwd, home = Path.cwd().resolve(), Path.home().resolve()
    return resolved in (Path("/"), home, cwd) or resolved in cwd.parents or resolved in home.parents


KERNEL_FILE_SYSTEMS = (Path("/proc"), Path("/sys"), Path("/dev"))


def own_directory(path: Path, what: str, marker: str, adoptable: re.Pattern) -> Path:
    """`path` as a directory of dropbench's own (the run cache): created with `marker` in it, or
    one that has it. Refused in one line naming `what`: /, the home directory, the working
    directory or their parents, a kernel file system, anything but a directory, a symlink loop,
    a directory of other files. A directory whose every entry matches `adoptable` (written
    before markers were) gets the marker."""
    try:
        path = user_path(Path(path).expanduser(), what)
    except RuntimeError:  # ~user of no such user, or ~ without a home directory
        raise DropbenchError(f"{what}: {path}: '~' names no user with a home directory here; write the path out") from None
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):
        raise DropbenchError(f"{what}: {path} is a symbolic link loop; point it at a directory of its own") from None
    if _protected(resolved) or any(resolved == base or base in resolved.parents for base in KERNEL_FILE_SYSTEMS):
        raise DropbenchError(f"{what}: {path} is /, the home directory, the working directory, one of their parents or a kernel "
                             "file system; point it at a directory of its own, e.g. ~/.cache/dropbench/runs")
    if (path.exists() or path.is_symlink()) and not path.is_dir():
        raise DropbenchError(f"{what}: {path} exists and is not a directory; point it at a directory of its own")
    if path.is_dir() and not (path / marker).is_file():
        stray = next((entry.name for entry in path.iterdir() if not adoptable.match(entry.name)), None)
        if stray is not None:
            raise DropbenchError(f"{what}: {path} holds {stray!r} and no {marker}, so it is not dropbench's; "
                                 "point it at a new or empty directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
        (path / marker).touch()
    except OSError as e:
        raise DropbenchError(f"{what}: cannot create {path} ({e.strerror}); point it at a directory you can write") from None
    return path


def too_long(path: Path | str) -> str | None:
    """Why the system refuses `path` outright (so Path.exists() and is_dir() raise on it rather
    than answer), or None: a name over NAME_MAX bytes, or the whole over PATH_MAX."""
    name = next((part for part in Path(path).parts if len(os.fsencode(part)) > NAME_MAX), None)
    if name:
        return f"the name {name[:40]!r}... is longer than {NAME_MAX} bytes"
    size = len(os.fsencode(path))
    return f"the path is {size:,} bytes long, more than the {PATH_MAX:,} allowed" if size > PATH_MAX else None


def user_path(path: Path | str, what: str, error: type[DropbenchError] = DropbenchError) -> Path:
    """A path from an option, the environment or a data spec that Path.exists() and is_dir() answer
    about: one too long for the system is one line naming `what` (the option or variable)."""
    reason = too_long(path)
    if reason:
        raise error(f"{what}: {reason}; choose a shorter path")
    return Path(path)


def check_writable(path: Path, flag: str) -> None:
    """Fail now, before any long work, if `path` can never be created (a name too long, a file in a file, no permission)."""
    path = Path(path)
    reason = too_long(path)
    if reason:
        raise DropbenchError(f"{flag}: {reason}; choose a shorter path")
    ancestor = path.absolute().parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise DropbenchError(f"{flag} {path}: {ancestor} is a file, so nothing can be created under it; choose another path")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise DropbenchError(f"{flag} {path}: no permission to write in {ancestor}; choose another path")


def check_output_file(path: Path, flag: str) -> None:
    """An output file (--json, --html) that can be written, checked before the work starts."""
    check_writable(path, flag)
    if Path(path).is_dir():
        raise DropbenchError(f"{flag} {path} is a directory; give a file name")


def check_output_dir(path: Path, force: bool) -> None:
    """Refuse to overwrite a non-empty directory unless `force` and it is a dropbench output."""
    path = Path(path)
    check_writable(path, "--out")
    if _protected(path.resolve()):
        raise DropbenchError(f"--out {path} is /, the home directory, the working directory or one of its parents; dropbench never replaces those")
    if path.name in ("", ".", ".."):
        raise DropbenchError(f"--out {path} does not name a directory of its own; give its name, e.g. {path / 'run'}")
    if path.exists() and not path.is_dir():
        raise DropbenchError(f"--out {path} exists and is not a directory; choose another path")
    if path.is_dir() and any(path.iterdir()):
        if not force:
            raise DropbenchError(f"--out {path} already exists and is not empty; pass --force to replace it or choose another path")
        if not is_dropbench_output(path):
            raise DropbenchError(
                f"--out {path} is not a dropbench output (no {OUTPUT_MARKER} in it), so --force will not replace it; "
                "remove it yourself or choose another path"
            )


def target_lock(path: Path) -> FileLock:
    """The lock every writer of `path` holds (reentrant within a process).

    Lock files live in a private per-user directory, named after the resolved path, so output
    directories and the cache stay clean; processes on one machine take turns per path.
    """
    lock_dir = Path(tempfile.gettempdir()) / f"dropbench-locks-{os.getuid()}"
    lock_dir.mkdir(mode=0o700, exist_ok=True)
    key = hashlib.sha256(str(Path(path).resolve()).encode()).hexdigest()[:32]
    return FileLock(lock_dir / f"{key}.lock", is_singleton=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's live process
    return True


def recover_interrupted(parent: Path) -> None:
    """Clean up after writers that were killed: delete their partial directories, and put back
    an old output that was moved aside when its replacement never arrived."""
    if not Path(parent).is_dir():
        return
    for entry in Path(parent).iterdir():
        match = _STALE.match(entry.name)
        if not match or _pid_alive(int(match["pid"])) or entry.is_symlink():
            continue
        final = entry.with_name(match["name"])
        if entry.name.endswith(".old") and not final.exists():
            os.replace(entry, final)
        elif entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def _swap_in(new: Path, final: Path) -> None:
    """Move `new` to `final`; an existing `final` is moved aside first and put back on failure
    (or, after a kill, by recover_interrupted), so `final` is never lost."""
    if not final.exists():
        os.replace(new, final)
        return
    old = final.with_name(f".{final.name}.{os.getpid()}.old")
    os.replace(final, old)
    try:
        os.replace(new, final)
    except BaseException:
        os.replace(old, final)
        raise
    shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def staged_dir(final: Path, force: bool = False) -> Iterator[Path]:
    """Yield a temporary sibling directory; on success it replaces `final` in one rename.

    On any error the temporary directory is removed and `final` is left untouched. Writers of
    one `final` take turns (target_lock), and partial directories of killed writers are removed.
    """
    final = Path(final)
    check_output_dir(final, force)
    final.parent.mkdir(parents=True, exist_ok=True)
    with target_lock(final):
        recover_interrupted(final.parent)
        check_output_dir(final, force)  # again: another writer may have finished meanwhile
        tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.{os.getpid()}.", suffix=".partial"))
        os.chmod(tmp, DIR_MODE)
        try:
            yield tmp
            (tmp / OUTPUT_MARKER).touch()
            _swap_in(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
