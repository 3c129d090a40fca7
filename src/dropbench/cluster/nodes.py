"""What the cluster's nodes offer, and which node times which profile.

A node times a profile only if it advertises the Ray custom resource `profile:NAME`
(`dropbench cluster node --profile NAME`). The timing task takes that resource and every CPU
and GPU of the node, so no training and no other timing shares the machine while it runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

from ..errors import ClusterError
from ..profiles import Profile, list_profiles

PREFIX = "profile:"


def profile_resource(name: str) -> str:
    return f"{PREFIX}{name}"


def local_profile_resources() -> dict[str, float]:
    """What a `local:N` cluster advertises: every profile that can run on this machine."""
    return {profile_resource(p.name): 1.0 for p in list_profiles() if p.unavailable_reason() is None}


@dataclass(frozen=True)
class Node:
    node_id: str
    host: str
    cpus: int
    gpus: int
    profiles: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.host} ({self.node_id[:6]})"


def alive_nodes(ray: ModuleType) -> list[Node]:
    nodes = []
    for info in ray.nodes():
        if not info.get("Alive"):
            continue
        resources = info.get("Resources", {})
        profiles = tuple(sorted(key.removeprefix(PREFIX) for key in resources if key.startswith(PREFIX)))
        nodes.append(Node(info["NodeID"], info.get("NodeManagerHostname", "?"), int(resources.get("CPU", 0)), int(resources.get("GPU", 0)), profiles))
    return nodes


def node_for(profile: Profile, nodes: list[Node]) -> Node:
    """The node that times `profile`: the first that advertises it and has what it needs."""
    advertising = [n for n in nodes if profile.name in n.profiles]
    if not advertising:
        raise ClusterError(
            f"no node in the cluster advertises profile {profile.name!r}; on a machine that matches it, run "
            f"`dropbench cluster node --profile {profile.name} --address HEAD:PORT`, or drop it from --profiles"
        )
    for node in advertising:
        if node.cpus >= profile.threads and (profile.device != "cuda" or node.gpus >= 1):
            return node
    node = advertising[0]
    needs = f"{profile.threads} CPUs" + (" and a GPU" if profile.device == "cuda" else "")
    raise ClusterError(f"node {node.label} advertises profile {profile.name!r}, which needs {needs}, but has {node.cpus} CPUs and {node.gpus} GPUs")


def check_training_fits(nodes: list[Node], threads: int) -> None:
    """A training task asks for `threads` CPUs: some node must have that many, or Ray would wait forever."""
    largest = max((n.cpus for n in nodes), default=0)
    if largest < threads:
        raise ClusterError(f"a training task asks for {threads} CPUs, but the largest node of the cluster has {largest}; lower --train-threads or add a node")


def timing_options(profile: Profile, node: Node) -> dict[str, Any]:
    """Ray options of a timing task: pinned to `node`, holding its profile resource and all of its CPUs and GPUs."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    return {
        "num_cpus": node.cpus, "num_gpus": node.gpus, "resources": {profile_resource(profile.name): 1},
        "scheduling_strategy": NodeAffinitySchedulingStrategy(node.node_id, soft=False),
    }


def pinned_options(node: Node) -> dict[str, Any]:
    """Ray options of a bookkeeping task (no CPU) that must run on `node`."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    return {"num_cpus": 0, "scheduling_strategy": NodeAffinitySchedulingStrategy(node.node_id, soft=False)}
