"""`dropbench cluster node`: start a Ray node (head or worker) that advertises hardware profiles.

A node advertises a profile only if the profile can run on it (the same check `reproduce`
makes locally), so the timing of a profile always lands on a machine that matches it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from ..errors import ClusterError
from ..profiles import Profile
from .address import INSTALL_HINT, check_reachable, import_ray, parse_address
from .nodes import profile_resource


def node_command(profiles: list[Profile], head: bool, address: str | None, port: int, num_cpus: int | None, block: bool) -> list[str]:
    """The `ray start` command line of such a node."""
    ray_cli = shutil.which("ray", path=str(Path(sys.executable).parent)) or shutil.which("ray")
    if not ray_cli:
        raise ClusterError(f"the `ray` command is not installed next to this Python; install it with: {INSTALL_HINT}")
    resources = {profile_resource(p.name): 1 for p in profiles}
    command = [ray_cli, "start", f"--resources={json.dumps(resources)}", "--disable-usage-stats"]
    command += ["--head", f"--port={port}", "--include-dashboard=false"] if head else [f"--address={address}"]
    if num_cpus:
        command.append(f"--num-cpus={num_cpus}")
    if block:
        command.append("--block")
    return command


def start_node(profiles: list[Profile], head: bool, address: str | None, port: int = 6379, num_cpus: int | None = None, block: bool = False) -> int:
    """Start the node; returns `ray start`'s exit code."""
    import_ray()
    if head == bool(address):
        raise ClusterError("dropbench cluster node: give either --head (start a cluster) or --address HOST:PORT (join one)")
    for profile in profiles:
        profile.require_available()
    if address:
        check_reachable(parse_address(address))  # one line here, rather than ray start's minute of retries
    return subprocess.run(node_command(profiles, head, address, port, num_cpus, block)).returncode
