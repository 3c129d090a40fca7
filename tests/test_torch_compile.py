"""torch-compile: compiled once per checkpoint and batch size, compile time apart, skipped with a reason where it cannot compile.

Compiling takes seconds: these tests compile the tiny MLP only, twice in all.
"""

from __future__ import annotations

import json

import torch

from dropbench.checkpoint import load_checkpoint
from dropbench.profiles import load_profile
from dropbench.runtimes import make_runner


def test_compiled_runner_compiles_once_and_computes_what_eager_does(tiny_run):
    checkpoint, profile = load_checkpoint(tiny_run), load_profile("cpu-1thread")
    compiled = make_runner("torch-compile", checkpoint, 4, profile)
    assert compiled.compile_s > 0
    graphs = torch._dynamo.utils.counters["stats"]["unique_graphs"]
    outputs = [compiled() for _ in range(5)]
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] == graphs  # no recompilation while it runs
    eager = make_runner("torch-eager", checkpoint, 4, profile)()
    assert torch.allclose(outputs[-1], eager, atol=1e-5)


def test_bench_reports_compile_time_apart_from_run_time(tiny_run, cli, tmp_path):
    out = tmp_path / "bench.json"
    args = ("--profile", "cpu-1thread", "--runtimes", "torch-eager,torch-compile", "--batch-size", "2", "--min-time", "0.05", "--json", out)
    result = cli("bench", tiny_run, *args)
    assert result.code == 0, result.err
    eager, compiled = json.loads(out.read_text())["measurements"]
    assert "compile_s" not in eager and compiled["runtime"] == "torch-compile"
    assert compiled["compile_s"] > 0 and 0 < compiled["median_s"] < compiled["compile_s"]


def test_without_a_compiler_torch_compile_is_skipped_with_one_reason(tiny_run, cli, tmp_path, monkeypatch):
    from torch._inductor import config

    monkeypatch.setattr(config.cpp, "cxx", (None, "no-such-c++-compiler"))
    out = tmp_path / "speedup.json"
    result = cli("speedup", tiny_run, tiny_run, "--profile", "cpu-1thread", "--runtimes", "torch-compile,torch-eager", "--batch-size", "2",
                 "--min-time", "0.05", "--json", out)
    assert result.code == 0, result.err
    assert "Traceback" not in result.err
    skipped, eager = json.loads(out.read_text())
    assert skipped == {
        "candidate": "tiny", "baseline": "tiny", "runtime": "torch-compile", "batch": 2, "profile": "cpu-1thread",
        "skipped": "torch-compile needs a C++ compiler on CPU; none of no-such-c++-compiler is on PATH (set CXX or install g++)",
    }
    assert eager["runtime"] == "torch-eager" and eager["speedup"] > 0
    assert "skipped: torch-compile needs a C++ compiler" in " ".join(result.out.split())
