"""What `--cluster` names, and the one place Ray is imported."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from types import ModuleType

from ..errors import ClusterError

INSTALL_HINT = 'pip install -e ".[cluster]"'
MAX_LOCAL_WORKERS = 256
CONNECT_TIMEOUT_S = 5.0  # a cluster that does not answer a TCP connect in this long is reported unreachable
EXPECTED = "local:N (a cluster of N workers on this machine), auto, HOST:PORT or ray://HOST:PORT"


def import_ray() -> ModuleType:
    try:
        import ray
    except ImportError:
        raise ClusterError(f"--cluster needs Ray, which is not installed; install it with: {INSTALL_HINT}") from None
    return ray


@dataclass(frozen=True)
class ClusterAddress:
    """A cluster to start here (`local_workers` > 0) or to join (`address`)."""

    local_workers: int = 0
    address: str = ""

    def __str__(self) -> str:
        return f"local:{self.local_workers}" if self.local_workers else self.address

    def host_port(self) -> tuple[str, int] | None:
        """The host and port to check before joining (None for `auto`, which Ray resolves itself)."""
        if self.local_workers or self.address == "auto":
            return None
        host, _, port = self.address.removeprefix("ray://").rpartition(":")
        return host.strip("[]"), int(port)


def parse_address(text: str) -> ClusterAddress:
    """`local:N`, `auto` (or $RAY_ADDRESS), `HOST:PORT`, `ray://HOST:PORT`; anything else is one clear error."""
    text = text.strip()
    if text.startswith("local:"):
        count = text.removeprefix("local:")
        if not count.isdigit() or not 1 <= int(count) <= MAX_LOCAL_WORKERS:
            raise ClusterError(f"--cluster {text}: N in local:N must be a number of workers from 1 to {MAX_LOCAL_WORKERS}")
        return ClusterAddress(local_workers=int(count))
    if text == "auto":
        text = os.environ.get("RAY_ADDRESS") or "auto"
        if text == "auto":
            return ClusterAddress(address="auto")
    host, sep, port = text.removeprefix("ray://").rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ClusterError(f"--cluster {text!r} is not a cluster address; expected {EXPECTED}")
    return ClusterAddress(address=text)


def check_reachable(address: ClusterAddress) -> None:
    """Fail fast, in one line, where Ray itself would retry for a minute before giving up."""
    target = address.host_port()
    if target is None:
        return
    try:
        socket.create_connection(target, timeout=CONNECT_TIMEOUT_S).close()
    except OSError as e:
        raise ClusterError(
            f"cannot reach the Ray cluster at {address} ({e.strerror or e}); start its head with "
            "`dropbench cluster node --head --profile NAME`, or check the address"
        ) from None
