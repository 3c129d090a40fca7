"""`Cluster`: reproduce's two stages as Ray tasks, driven from this machine (an execution.Executor).

Training: every seed of every run missing from the local run cache is a task asking for
`train_threads` CPUs; its packed checkpoint comes back and is written into the cache here.
Timing: each profile is one task on the node that advertises it, holding the whole node.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Any, Iterator

from ..claims.context import PlanChecks
from ..errors import ClusterError
from ..profiles import Profile
from ..runs import RunSpec, cache_entry, cache_root, valid_entry
from ..stages import ProfileFigures, TimingBudget, seed_dir_name
from . import tasks
from .address import ClusterAddress, check_reachable, import_ray
from .executor import Executor, Job
from .nodes import Node, alive_nodes, check_training_fits, local_profile_resources, node_for, pinned_options, timing_options
from .transfer import pack_dir, unpack_entry


class Cluster:
    def __init__(self, ray: Any, address: ClusterAddress, progress: Any = None, train_threads: int = 1) -> None:
        self.ray = ray
        self.address = address
        self.train_threads = train_threads
        self.executor = Executor(ray, progress)
        self.timing_nodes: dict[str, Node] = {}

    def check(self, profiles: list[Profile]) -> None:
        """Before any work: some node fits a training task, and every profile has its timing node."""
        nodes = alive_nodes(self.ray)
        check_training_fits(nodes, self.train_threads)
        self.timing_nodes = {p.name: node_for(p, nodes) for p in profiles}

    def train_all(self, specs: list[RunSpec]) -> dict[str, list[Path]]:
        """Every seed of every run in the local cache, the missing ones trained as Ray tasks: run name -> cache entries."""
        entries = {spec.name: [cache_entry(one) for one in spec.per_seed()] for spec in specs}
        missing = {  # job label -> the cache entry its checkpoint goes to
            f"train {one.name} seed {one.train.seed}": (one, entry)
            for spec in specs for one, entry in zip(spec.per_seed(), entries[spec.name]) if not valid_entry(entry)
        }
        jobs = [Job(label, tasks.train_seed, (one, self.train_threads), {"num_cpus": self.train_threads}) for label, (one, _) in missing.items()]

        def store(job: Job, trained: tasks.TrainedSeed) -> None:
            expected = missing[job.label][1]
            if trained.entry != expected.name:
                raise ClusterError(
                    f"{job.label}: the node computed cache entry {trained.entry}, this machine {expected.name}: "
                    "its dropbench code or torch version differs; install the same commit on every node"
                )
            unpack_entry(expected, trained.payload)

        self.executor.run("train on the cluster", jobs, store)
        return entries

    def measure_all(
        self, specs: list[RunSpec], cached: dict[str, list[Path]], runs_dir: Path, profiles: list[Profile], checks: PlanChecks, budget: TimingBudget,
    ) -> list[ProfileFigures]:
        """Each profile's timing stage as one task on its node; the entries a node lacks are sent to it first.

        The nodes lay the cache entries out as `runs_dir` is laid out here, so the records name the same paths."""
        layout = {seed_dir_name(spec, i): entry.name for spec in specs for i, entry in enumerate(cached[spec.name])}
        names = sorted(set(layout.values()))
        jobs = []
        for profile in profiles:
            node = self.timing_nodes[profile.name]
            missing = self.ray.get(self.ray.remote(tasks.missing_entries).options(**pinned_options(node)).remote(names))
            payloads = {name: self.ray.put(pack_dir(cache_root() / name)) for name in missing}
            args = (specs, profile, checks, budget, layout, payloads)
            jobs.append(Job(f"time {profile.name}", tasks.time_profile, args, timing_options(profile, node)))
        figures: dict[str, ProfileFigures] = {}
        self.executor.run("time on the profiles' nodes", jobs, lambda job, value: figures.__setitem__(value.profile, value))
        return [figures[p.name] for p in profiles]


@contextlib.contextmanager
def connect(address: ClusterAddress, progress: Any = None, train_threads: int = 1) -> Iterator[Cluster]:
    """Start the local cluster or join the named one; shut the connection (and a local cluster) down after."""
    ray = import_ray()
    check_reachable(address)
    quiet = {"logging_level": logging.ERROR, "log_to_driver": False, "namespace": "dropbench"}
    try:
        if address.local_workers:
            ray.init(num_cpus=address.local_workers, resources=local_profile_resources(), include_dashboard=False, **quiet)
        else:
            ray.init(address=address.address, **quiet)
    except (ConnectionError, RuntimeError, ValueError) as e:
        raise ClusterError(f"cannot join the Ray cluster at {address}: {str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    try:
        yield Cluster(ray, address, progress, train_threads)
    finally:
        ray.shutdown()
