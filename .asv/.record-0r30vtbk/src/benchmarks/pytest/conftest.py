"""Quick speed checks of dropbench's own harness with pytest-benchmark, run apart from the test
suite (no __init__.py here, so asv does not import these):

    .venv/bin/python -m pytest benchmarks/pytest --benchmark-enable --dropbench-profile cpu-2thread
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dropbench.export import export_checkpoint
from dropbench.runs import RunSpec, train_run
from dropbench.train import TrainConfig


@pytest.fixture(scope="session")
def checkpoint_dir(tmp_path_factory) -> Path:
    """The dense 3x1024 MLP on digits (the quick plan's dense run), trained for one epoch and exported."""
    out = tmp_path_factory.mktemp("runs") / "dense"
    train_run(RunSpec("dense", "dense", hidden=(1024, 1024, 1024), train=TrainConfig(epochs=1)), out)
    export_checkpoint(out)
    return out
