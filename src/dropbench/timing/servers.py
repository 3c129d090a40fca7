"""Fresh processes for timing rounds, forked from several preloaded servers.

A round runs in a process of its own, forked from a server that imported torch, onnxruntime and
the timing code once, so a round costs a fork and a model load, not an interpreter start. But a
forked process inherits its server's address-space layout, which ASLR chose when the server
started: rounds forked from one server share it. Measured on a 2-core AMD EPYC (docs/claims.md,
"Variance between processes and within one"): six invocations of kubo's onnxruntime comparison,
4 rounds each from one server, had means from 2.29x to 2.74x (sd 5.5 % between invocations beside
6.2 % within one), so an interval over one server's rounds missed the next invocation. Round r of
a comparison therefore forks from server r: every round of a comparison has a layout of its own,
and the interval over rounds spans what differs between invocations. The servers are started
together (before anything is timed, so no round shares the machine with their start-up) and kept
for the life of this process.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from typing import Any, Callable, TypeVar

from ..processes import main_not_rerun

# imported once by every server (a failed import is only slower); torch._dynamo is what the first
# torch.optim optimiser of a process imports (with sympy): 1.3 s that every training round paid
SERVER_PRELOAD = ("torch", "torch._dynamo", "onnxruntime", "dropbench.timing.inference", "dropbench.timing.training")
T = TypeVar("T")


class Server:
    """A fresh interpreter that preloads SERVER_PRELOAD, then forks one process per call."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child_conn = context.Pipe()
        self._process = context.Process(target=_serve, args=(child_conn, SERVER_PRELOAD), daemon=True)
        with main_not_rerun():
            self._process.start()
        child_conn.close()
        self._ready = False

    def wait_ready(self) -> None:
        if not self._ready:
            self._receive()  # the server's "ready", after its imports
            self._ready = True

    def call(self, fn: Callable[..., T], args: tuple) -> T:
        """`fn(*args)` in a process forked from this server; its exception is raised here."""
        self.wait_ready()
        self._conn.send((fn, args))
        ok, value = self._receive()
        if not ok:
            raise value
        return value

    def _receive(self) -> Any:
        try:
            return self._conn.recv()
        except EOFError:
            raise RuntimeError(f"a timing server stopped (exit code {self._process.exitcode})") from None


_servers: list[Server] = []


def in_fresh_process(fn: Callable[..., T], *args: Any, server: int = 0) -> T:
    """`fn(*args)` in a new process forked from server number `server` (servers up to it are
    started first, together); its exception is raised here. `fn`, `args` and the result travel
    pickled, so they must be importable by module name."""
    start_servers(server + 1)
    return _servers[server].call(fn, args)


def start_servers(count: int) -> None:
    """Have at least `count` servers running and ready; the missing ones start at once, side by side."""
    new = [Server() for _ in range(count - len(_servers))]
    _servers.extend(new)
    for one in new:
        one.wait_ready()


def _serve(conn: Any, preload: tuple[str, ...]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the parent and the running round, not the server
    for module in preload:
        try:
            __import__(module)
        except ImportError:
            pass
    conn.send("ready")
    while True:
        try:
            fn, args = conn.recv()
        except EOFError:  # the parent has gone
            return
        pid = os.fork()
        if pid == 0:
            _run_forked(conn, fn, args)
        _, status = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            conn.send((False, RuntimeError(f"a timing process ended without a result (exit code {os.waitstatus_to_exitcode(status)})")))


def _run_forked(conn: Any, fn: Callable[..., Any], args: tuple) -> None:
    """In the forked process: run, send the result to the parent through the server's pipe, exit
    with 0 only when it was sent."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    code = 1
    try:
        try:
            result = (True, fn(*args))
        except BaseException as e:  # raised again in the parent
            result = (False, e)
        try:
            conn.send(result)
        except Exception as e:  # an exception or result that does not pickle
            conn.send((False, RuntimeError(f"{type(e).__name__}: {e}")))
        code = 0
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
