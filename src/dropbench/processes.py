"""Child processes started from dropbench: they must not run the parent's main script again."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from importlib.machinery import ModuleSpec
from typing import Iterator


@contextmanager
def main_not_rerun() -> Iterator[None]:
    """multiprocessing runs the parent's main script again in every new forkserver or spawn process
    (to find what was defined there) unless it ran as a module. A child needs nothing from it, and
    running it again costs time (a script importing matplotlib: 0.5 s a process) and breaks a script
    without a `__main__` guard; a main module named `__main__` is one multiprocessing leaves alone."""
    main = sys.modules["__main__"]
    spec = getattr(main, "__spec__", None)
    main.__spec__ = ModuleSpec("__main__", None)
    try:
        yield
    finally:
        main.__spec__ = spec
