"""Shared fixtures: tiny real runs (trained for real, in seconds) and a CLI runner."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from dropbench.cli import main
from dropbench.export import export_checkpoint
from dropbench.runs import RunSpec, train_run
from dropbench.train import TrainConfig

TINY = TrainConfig(epochs=2, batch_size=64)


def tiny_plan_run(name: str, method: str, params: dict | None = None, seeds: tuple[int, ...] = (0,)) -> dict:
    """One run of a plan file, trained in seconds."""
    return {"name": name, "method": method, "params": params or {}, "hidden": [16],
            "train": {"epochs": TINY.epochs, "batch_size": TINY.batch_size}, "seeds": list(seeds)}


# a two-run plan: the dense run with two seeds, a compacted one timed against it
TINY_RUNS = [tiny_plan_run("dense", "dense", seeds=(0, 1)), tiny_plan_run("magnitude-unit", "magnitude", {"fraction": 0.5})]


def write_plan(path: Path, runs: list[dict], **fields) -> Path:
    """A plan file as `dropbench plan show` writes it."""
    from dropbench.plans.files import plan_toml, validated

    path.write_text(plan_toml(validated({"name": "tiny", "runs": runs, **fields}, "test plan")))
    return path


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys):
    """Run `dropbench ARGS...` in-process; returns exit code, stdout and stderr."""

    def run(*args: str) -> CliResult:
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


def assert_one_line_error(result: CliResult, *fragments: str) -> None:
    """A user error: exit 2, exactly one line on stderr, no traceback, the expected words."""
    assert result.code == 2, result
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1, result.err
    assert lines[0].startswith("error:"), lines
    assert "Traceback" not in result.err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """A dense 64-32-10 MLP on digits, trained and exported (shared, read-only)."""
    out = tmp_path_factory.mktemp("runs") / "tiny"
    train_run(RunSpec("tiny", "dense", hidden=(32,), train=TINY), out)
    export_checkpoint(out)
    return out


@pytest.fixture
def tiny_copy(tiny_run, tmp_path) -> Path:
    """A private copy of the tiny run that a test may damage."""
    copy = tmp_path / "tiny"
    shutil.copytree(tiny_run, copy)
    return copy


@pytest.fixture(scope="session", autouse=True)
def private_run_cache(tmp_path_factory):
    """Cached checkpoints go to a per-session temporary directory, never to ~/.cache
    (session-scoped, so it is in place before any module-scoped fixture trains)."""
    previous = os.environ.get("DROPBENCH_CACHE")
    os.environ["DROPBENCH_CACHE"] = str(tmp_path_factory.getbasetemp() / "run-cache")
    yield
    if previous is None:
        os.environ.pop("DROPBENCH_CACHE")
    else:
        os.environ["DROPBENCH_CACHE"] = previous


MEMORY_LIMIT = 3 << 30  # enough for torch + onnxruntime; a hostile input that allocates more fails


def run_limited(args: list[str], timeout: float = 120, memory: int = MEMORY_LIMIT, **kwargs) -> subprocess.CompletedProcess:
    """Run a command in a subprocess with an address-space limit and a time limit: a hostile
    input that would exhaust memory or hang fails this process, not the test session."""

    def limit_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    return subprocess.run(args, preexec_fn=limit_memory, capture_output=True, text=True, timeout=timeout, **kwargs)


def assert_one_line_error_process(result: subprocess.CompletedProcess, *fragments: str) -> None:
    """assert_one_line_error for a finished subprocess."""
    assert_one_line_error(CliResult(result.returncode, result.stdout, result.stderr), *fragments)


# The fuzz suite's example budget: small and fixed in CI, larger on demand
# (HYPOTHESIS_PROFILE=thorough .venv/bin/python -m pytest tests/test_fuzz.py).
settings.register_profile("ci", max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
