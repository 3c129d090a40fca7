"""The stability comparison counts flips and timing coverage between runs, without training."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from dropbench.claims.record import Calibration, ClaimRecord
from dropbench.claims.stability import compare_runs
from dropbench.stats import geometric_mean, replication_coverage, rounds_ci

ROOT = Path(__file__).resolve().parents[1]


def record(claim: str, verdict: str, measured: float | None = None, ci=(None, None), timed: bool = False) -> ClaimRecord:
    calibration = Calibration("a/a", 1.0, (0.99, 1.01), [1.0, 1.0], True, True, 0.03) if timed else None
    return ClaimRecord(id=claim, paper="-", claim="-", metric="-", claimed=1.0, bound=1.0, tolerance="-", applies_to=["cpu"], unit="x",
                       profile="cpu-2thread", fingerprint={}, setup={}, verdict=verdict, measured=measured, ci=ci, calibration=calibration)


RUN_A = [record("speed", "holds", 2.0, (1.9, 2.1), timed=True), record("accuracy", "holds", 3.0, (2.0, 4.0)), record("width", "fails", 0.1, (0.0, 0.2))]
RUN_B = [record("speed", "holds", 2.3, (2.2, 2.4), timed=True), record("accuracy", "fails", 0.5, (0.1, 0.9)), record("width", "inconclusive", 0.4, (0.1, 0.6))]


def test_a_hard_flip_a_soft_flip_and_timing_coverage_are_counted():
    rows = {r.claim: r for r in compare_runs({"a": RUN_A, "b": RUN_B})}
    assert rows["accuracy"].verdicts == ["holds", "fails"] and rows["accuracy"].hard_flips == 1 and rows["accuracy"].soft_flips == 0
    assert rows["width"].hard_flips == 0 and rows["width"].soft_flips == 1
    assert rows["speed"].hard_flips == rows["speed"].soft_flips == 0
    # 2.0 is outside [2.2, 2.4] and 2.3 outside [1.9, 2.1]: neither interval covers the other run's estimate
    assert (rows["speed"].estimates_inside, rows["speed"].estimate_pairs) == (0, 2)
    assert rows["accuracy"].estimate_pairs is None  # not a speed claim
    assert abs(rows["speed"].expected_inside - replication_coverage(2)) < 1e-12  # the A/A's 2 rounds
    same = {r.claim: r for r in compare_runs({"a": RUN_A, "a again": RUN_A})}
    assert all(r.hard_flips == r.soft_flips == 0 for r in same.values()) and same["speed"].estimates_inside == 2


def test_the_script_compares_two_claim_files(tmp_path):
    files = []
    for name, records in (("a", RUN_A), ("b", RUN_B)):
        files.append(tmp_path / f"{name}.json")
        files[-1].write_text(json.dumps([r.as_dict() for r in records]))
    script = ROOT / "benchmarks" / "stability" / "run.py"
    result = subprocess.run([sys.executable, script, "--out", tmp_path / "out", "--compare", *files], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "accuracy | holds / fails | 1 | 0 | -" in result.stdout
    assert "speed | holds / holds | 0 | 0 | 0/2 (calibrated: " in result.stdout
    summary = json.loads((tmp_path / "out" / "stability.json").read_text())
    assert [c["hard_flips"] for c in summary["claims"]] == [0, 1, 0]


def test_a_calibrated_interval_covers_the_next_runs_estimate_less_often_than_its_confidence():
    """Simulated replications agree with the formula: two runs of 5 rounds, same distribution."""
    rng = np.random.default_rng(0)
    first, second = rng.lognormal(0.0, 0.05, (4000, 5)), rng.lognormal(0.0, 0.05, (4000, 5))
    inside = [lo <= geometric_mean(b) <= hi for a, b in zip(first, second) for lo, hi in [rounds_ci(a, 0.95)]]
    assert abs(np.mean(inside) - replication_coverage(5, 0.95)) < 0.02
    assert 0.87 < replication_coverage(5, 0.95) < 0.885 and replication_coverage(3, 0.95) > replication_coverage(30, 0.95) > 0.83
