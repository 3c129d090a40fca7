"""Child processes started from dropbench: they must not run the parent's main script again, nor take Ctrl-C."""

from __future__ import annotations

import signal
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


@contextmanager
def ctrl_c_ignored_by_children() -> Iterator[None]:
    """Processes started inside the block ignore SIGINT from their first instruction on (a child
    inherits an ignored signal across exec, and Python then installs no KeyboardInterrupt handler):
    a terminal's Ctrl-C reaches every process of the group, and the parent alone stops them, with
    no traceback from a child still importing. The parent ignores it only for the block."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
