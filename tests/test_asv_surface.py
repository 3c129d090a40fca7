"""The suites' stable surface (benchmarks/common.py): every name they use is kept in
dropbench.suites, and a commit that lacks one skips the benchmarks that need it, never crashes."""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path

import pytest

from dropbench import suites

ROOT = Path(__file__).resolve().parents[1]
SUITES = ("training", "inference", "compaction", "claims")


@pytest.fixture
def bench(monkeypatch):
    """benchmarks/ importable as asv imports it (a package), reloaded afresh for each test."""
    monkeypatch.syspath_prepend(str(ROOT))
    monkeypatch.setenv("DROPBENCH_PROFILE", "cpu-2thread")
    monkeypatch.setattr(suites, "warm_up", lambda: None)
    for name in [m for m in sys.modules if m == "benchmarks" or m.startswith("benchmarks.")]:
        monkeypatch.delitem(sys.modules, name)
    yield lambda name: importlib.import_module(f"benchmarks.{name}")
    for name in [m for m in sys.modules if m == "benchmarks" or m.startswith("benchmarks.")]:
        del sys.modules[name]


def used_names() -> set[str]:
    """Every `api.NAME` of the suites' source."""
    names = set()
    for path in [ROOT / "benchmarks" / f"{s}.py" for s in (*SUITES, "common", "__init__")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "api":
                names.add(node.attr)
    return names


def test_every_name_of_the_surface_is_in_dropbench_suites(bench):
    surface = bench("common").SURFACE
    assert [n for n in surface if not hasattr(suites, n)] == []


def test_the_suites_use_only_the_surface_and_only_through_api(bench):
    assert used_names() - set(bench("common").SURFACE) == set()
    for name in SUITES:
        imports = [n for n in ast.walk(ast.parse((ROOT / "benchmarks" / f"{name}.py").read_text()))
                   if isinstance(n, (ast.Import, ast.ImportFrom))]
        assert all(isinstance(n, ast.ImportFrom) and n.level == 1 for n in imports), f"benchmarks/{name}.py imports dropbench directly"


def test_every_suite_has_an_explicit_version(bench):
    """asv's default version is a hash of the source: any edit would start a new graph."""
    for name in SUITES:
        module = bench(name)
        classes = [c for c in vars(module).values() if isinstance(c, type) and c.__module__ == module.__name__]
        assert classes and all("version" in vars(c) for c in classes), name


def test_a_commit_without_a_name_skips_what_needs_it(bench, monkeypatch):
    for name in ("INFERENCE_RUNTIMES", "training_cases", "compaction_figures"):
        monkeypatch.delattr(suites, name)
    inference, training, compaction = bench("inference"), bench("training"), bench("compaction")
    runtimes = inference.Inference.params[1]
    assert runtimes == ["this commit's dropbench has no suites.INFERENCE_RUNTIMES"]
    with pytest.raises(NotImplementedError, match="INFERENCE_RUNTIMES"):
        inference.Inference().setup({}, "dense", runtimes[0], 1, "cpu")
    case = training.TrainingStep.params[0][0]
    with pytest.raises(NotImplementedError, match="training_cases"):
        training.TrainingStep().setup(case, "mlp")
    with pytest.raises(NotImplementedError, match="compaction_figures"):
        compaction.Compaction().setup({}, "dense")


def test_a_name_outside_the_surface_is_a_clear_error(bench):
    with pytest.raises(AttributeError, match="SURFACE"):
        getattr(bench("common").api, "suite_plan")  # noqa: B009  (the access is the test)
