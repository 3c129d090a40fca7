"""The intervals keep their word on a small version of benchmarks/coverage.py's simulation, and the script refuses bad input."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "coverage.py"
DRAWS = 400  # a 95 % interval covers below 90 % in 400 draws with a chance under 1e-4


def load_script():
    """benchmarks/coverage.py by path: `import benchmarks.coverage` would run benchmarks/__init__.py,
    which imports torch and loads the data sets for asv."""
    spec = importlib.util.spec_from_file_location("coverage_simulation", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


sim = load_script()
MIXED = next(case for case in sim.ACCURACY_CASES if case.name == "mixed")


def small_scenarios():
    gap = [s for s in sim.accuracy_scenarios([MIXED], ["digits"], ["normal"]) if s.procedure == "accuracy_gap_ci"]
    seed_mean = [s for s in sim.seed_mean_scenarios(["normal"]) if "+" in s.model]  # the additive model
    ratio = sim.ratio_scenarios(["normal"], sim.PERPLEXITY_CVS[:1])
    grouped = [s for s in sim.timing_scenarios(["normal"]) if s.procedure == "grouped_rounds_ci"]
    return gap + seed_mean + ratio + grouped


@pytest.mark.parametrize("scenario", small_scenarios(), ids=lambda s: s.procedure)
def test_a_procedure_covers_the_known_truth_at_two_seeds(scenario):
    tally = sim.measure(scenario, DRAWS, 0.95, seed_counts=(2,)).tallies[2]
    assert tally.draws == DRAWS
    assert tally.coverage >= 0.90, f"{scenario.procedure}, {scenario.model}: {tally.coverage:.1%} of {DRAWS} draws"


def test_the_adaptive_mode_rarely_decides_a_claim_on_its_margin():
    """Every decision is wrong when the true drop is the margin; the spending keeps them near 5 % at most."""
    row = sim.simulate_adaptive(sim.MarginClaim(MIXED, "digits", main_on_bound=False), 300)
    assert sum(row.spent.values()) == 300
    assert row.wrong(row.spent) <= 0.08  # 3.5 % expected: 4 standard errors of slack
    assert row.wrong(row.unspent) > row.wrong(row.spent)  # the simulation can see a wrong decision at all


@pytest.mark.parametrize("args", [["--draws", "0"], ["--confidence", "1.5"]])
def test_the_script_refuses_bad_input_in_one_line(tmp_path, args):
    out = tmp_path / "coverage.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    result = subprocess.run([sys.executable, SCRIPT, *args, "--json", out], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 2
    assert result.stderr.startswith("error:") and len(result.stderr.splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert not out.exists() and list(tmp_path.iterdir()) == []
