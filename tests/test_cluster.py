"""The plan on a real local Ray cluster of two workers (started here, stopped at the end)."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from dataclasses import replace
from pathlib import Path

import psutil
import pytest

from dropbench.cluster import connect, parse_address
from dropbench.errors import ClusterError
from dropbench.plans.specs import load_plan, run_specs
from dropbench.runs import RunSpec, train_run, valid_entry
from dropbench.runtimes import torch_threads

# When and how long a training took, and where: the only bytes two identical trainings differ in.
VOLATILE = {"created": None, "fingerprint": None}


@pytest.fixture(scope="module")
def cluster():
    with connect(parse_address("local:2")) as connected:
        yield connected


def smallest_quick_runs() -> list[RunSpec]:
    """The quick plan's three fastest trainings (an MLP, an LSTM, a LeNet), every seed."""
    names = ("dense-lenet-300-100", "approximate-random-p0.7", "lstm-approximate-random-p0.7")
    return [spec for spec in run_specs(load_plan("quick")) if spec.name in names]


def comparable(directory: Path) -> dict[str, object]:
    """Every file's bytes, the manifest without its record of when, how long and where."""
    files = {p.relative_to(directory).as_posix(): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file() and p.name != "manifest.json"}
    manifest = {**json.loads((directory / "manifest.json").read_text()), **VOLATILE}
    manifest["train"] = {**manifest["train"], "seconds": None}
    return {"files": files, "manifest": manifest}


def test_the_smallest_quick_runs_fan_out_and_land_byte_identical_to_local_training(cluster, tmp_path):
    specs = smallest_quick_runs()
    assert len(specs) == 3 and all(len(spec.all_seeds()) == 2 for spec in specs)
    entries = cluster.train_all(specs)
    with torch_threads(1):  # each task held one CPU and ran one torch thread
        for spec in specs:
            assert len(entries[spec.name]) == 2
            for one, entry in zip(spec.per_seed(), entries[spec.name]):
                assert valid_entry(entry) and entry.name == f"{one.name}-{one.key()}"
                local = train_run(one, tmp_path / entry.name)
                assert comparable(entry) == comparable(local), entry.name
    again = cluster.train_all(specs)  # all cached now: nothing is submitted
    assert again == entries


def _kill_when_running(label: str, killed: list[int], timeout: float = 60) -> None:
    """SIGKILL the Ray worker running the task `label` as soon as it appears."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not killed:
        for process in psutil.process_iter(["pid", "cmdline"]):
            if (process.info["cmdline"] or [""])[0].startswith(f"ray::{label}"):
                time.sleep(1.0)  # mid-task: the training has begun
                os.kill(process.info["pid"], signal.SIGKILL)
                killed.append(process.info["pid"])
                return
        time.sleep(0.05)


def test_a_worker_killed_mid_task_is_retried(cluster, capsys):
    spec = next(s for s in run_specs(load_plan("quick")) if s.name == "dense").with_seed(7)  # a seed no other test trains
    killed: list[int] = []
    killer = threading.Thread(target=_kill_when_running, args=(f"train_dense_seed_{spec.train.seed}", killed))
    killer.start()
    entries = cluster.train_all([spec])
    killer.join()
    assert killed, "the task's worker was never seen"
    assert "train dense seed 7 was lost" in capsys.readouterr().err and valid_entry(entries["dense"][0])


def test_a_task_whose_own_code_fails_is_reported_with_its_error_not_retried(cluster, capsys):
    broken = RunSpec("broken", "dense", model="lenet5", data="pydoc-text")  # a conv net on text: the task raises
    with pytest.raises(ClusterError, match="train broken seed 0 failed on .*: "):
        cluster.train_all([broken])
    assert "retrying" not in capsys.readouterr().err


def test_a_node_that_computes_another_cache_key_is_refused(cluster, monkeypatch, tmp_path):
    """A node with other code would put its checkpoint under the wrong key: the driver refuses it."""
    from dropbench.cluster import tasks

    spec = replace(smallest_quick_runs()[0], seeds=(11,))
    monkeypatch.setattr(tasks, "train_seed", lambda one, threads: tasks.TrainedSeed("other-key", b"", 0.0))
    with pytest.raises(ClusterError, match="dropbench code or torch version differs"):
        cluster.train_all([spec])
