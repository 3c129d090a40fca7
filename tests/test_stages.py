"""reproduce's training stage: seeds trained side by side in processes of their own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest
import torch

from dropbench import stages
from dropbench.checkpoint import load_checkpoint
from dropbench.errors import TrainingDiverged
from dropbench.runs import RunSpec, cached_runs
from dropbench.runtimes import torch_threads
from dropbench.train import TrainConfig


def test_trainings_run_side_by_side_one_thread_each_unless_told():
    processes, threads = stages.training_slots()
    assert threads == 1 and processes >= 1
    assert stages.training_slots(processes) == (1, processes)  # every core for one training: one at a time
    assert stages.training_slots(10_000) == (1, 10_000)


def test_seeds_trained_side_by_side_equal_those_trained_here(tmp_path, monkeypatch):
    spec = RunSpec("dense", "dense", hidden=(16,), train=TrainConfig(epochs=2), seeds=(0, 1))
    monkeypatch.setattr(stages, "training_slots", lambda threads=None: (2, 1))  # two processes, whatever the cores
    monkeypatch.setenv("DROPBENCH_CACHE", str(tmp_path / "side-by-side"))
    progress = Recorder()
    side_by_side = stages.train_all([spec], progress)["dense"]
    assert "train (2 at a time, 1 thread(s) each)" in progress.tasks and progress.done == {"dense seed 0 done", "dense seed 1 done"}
    monkeypatch.setenv("DROPBENCH_CACHE", str(tmp_path / "here"))
    with torch_threads(1):
        here = cached_runs(spec)
    for a, b in zip(side_by_side, here, strict=True):
        assert all(torch.equal(x, y) for x, y in zip(load_checkpoint(a).model.state_dict().values(), load_checkpoint(b).model.state_dict().values()))


def test_an_error_in_a_training_process_is_raised_here(tmp_path, monkeypatch):
    boom = RunSpec("boom", "dense", hidden=(16,), train=TrainConfig(epochs=3, lr=1e12, optimizer="sgd"), seeds=(0, 1))
    monkeypatch.setattr(stages, "training_slots", lambda threads=None: (2, 1))
    monkeypatch.setenv("DROPBENCH_CACHE", str(tmp_path / "cache"))
    with pytest.raises(TrainingDiverged, match="diverged"):
        stages.train_all([boom])


def test_ctrl_c_stops_the_training_processes_without_a_traceback_and_leaves_the_output_as_it_was(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / ".dropbench-output").touch()
    (out / "claims.json").write_text("[]")
    env = {**os.environ, "DROPBENCH_CACHE": str(tmp_path / "cold-cache")}
    args = [sys.executable, "-m", "dropbench", "reproduce", "--quick", "--out", str(out), "--force"]
    # a session of its own, so that the test can press Ctrl-C as a terminal does: SIGINT to every process
    # of the group; SIGINT at its default in the driver (a shell's background job inherits it ignored)
    driver = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                              preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    training = lambda: [p for p in psutil.Process(driver.pid).children() if "spawn_main" in " ".join(p.cmdline())]  # noqa: E731
    busy = lambda p: sum(p.cpu_times()[:2]) > 4  # noqa: E731  (torch imported, the initializer run: training)
    deadline = time.monotonic() + 90
    while not (len(training()) == 2 and all(map(busy, training()))) and time.monotonic() < deadline:
        time.sleep(0.2)
    workers = training()
    assert len(workers) == 2, "the trainings did not start side by side"
    os.killpg(driver.pid, signal.SIGINT)
    _, err = driver.communicate(timeout=60)
    assert driver.returncode == 130 and "interrupted" in err and "Traceback" not in err, err
    assert sorted(p.name for p in out.iterdir()) == [".dropbench-output", "claims.json"] and (out / "claims.json").read_text() == "[]"
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no staging leftovers
    assert not [p for p in workers if p.is_running() and p.status() != psutil.STATUS_ZOMBIE], "a training process outlived Ctrl-C"


class Recorder:
    """A progress display that keeps what it was told."""

    def __init__(self) -> None:
        self.tasks: list[str] = []
        self.done: set[str] = set()

    def add_task(self, text: str, **_) -> int:
        self.tasks.append(text)
        return len(self.tasks)

    def update(self, task: int, status: str = "", **_) -> None:
        if status.endswith(" done"):
            self.done.add(status)

    def advance(self, task: int) -> None:
        pass
