import numpy as np

from dropbench.measure import Comparison, Measurement, compare, timeit
from dropbench.stats import ratio_of_medians_ci


def test_measurement_warns_about_few_and_noisy_samples():
    steady = Measurement("steady", [1.0, 1.01, 0.99, 1.0, 1.0, 1.02])
    assert steady.warnings == []
    assert any("only 3 samples" in w for w in Measurement("few", [1.0, 1.0, 1.0]).warnings)
    assert any("noisy" in w for w in Measurement("noisy", [1.0, 2.0, 1.0, 3.0, 1.0, 2.5]).warnings)


def test_bootstrap_interval_covers_the_true_ratio():
    rng = np.random.default_rng(1)
    a = 2.0 * (1 + 0.05 * rng.standard_normal(60))
    b = 1.0 * (1 + 0.05 * rng.standard_normal(60))
    low, high = ratio_of_medians_ci(a, b)
    assert low < 2.0 < high and high - low < 0.2


def test_comparison_flags_an_interval_that_includes_one():
    m = Measurement("x", [1.0] * 6)
    assert any("includes 1" in w for w in Comparison(m, m, 1.0, (0.9, 1.1)).warnings)
    assert Comparison(m, m, 2.0, (1.9, 2.1)).warnings == []


def test_timers_interleave_and_count_calls():
    calls = {"a": 0, "b": 0}

    def a():
        calls["a"] += 1

    def b():
        calls["b"] += 1

    result = compare(a, b, ("a", "b"), min_run_time=0.05)
    assert len(result.baseline.times) == len(result.candidate.times) >= 5
    assert calls["a"] >= result.baseline.number * len(result.baseline.times)
    m = timeit(a, "a", min_run_time=0.02)
    assert m.number >= 1 and len(m.times) >= 5 and m.median > 0
