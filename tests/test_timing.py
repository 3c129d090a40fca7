import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from dropbench.timing.measurement import CONTENDED_CORES, Comparison, Measurement, OtherProcesses, timeit
from dropbench.timing.levels import Levels, variance_levels
from dropbench.timing import rounds
from dropbench.timing.rounds import MAX_RETIMES, Round, RoundResult, compare, compare_pairs
from dropbench.timing.servers import in_fresh_process
from dropbench.timing.training import train_step_runner
from dropbench.suites import training_spec
from dropbench.errors import ConfigError
from dropbench.stats import accuracy_ci, geometric_mean, grouped_rounds_ci, rounds_ci


def test_measurement_warns_about_few_and_noisy_samples():
    steady = Measurement("steady", [1.0, 1.01, 0.99, 1.0, 1.0, 1.02])
    assert steady.warnings == []
    assert any("only 3 samples" in w for w in Measurement("few", [1.0, 1.0, 1.0]).warnings)
    assert any("noisy" in w for w in Measurement("noisy", [1.0, 2.0, 1.0, 3.0, 1.0, 2.5]).warnings)


def _simulated_rounds(rng, true_ratio, rounds, round_sd=0.03, sample_sd=0.02, samples=40):
    """Per-round ratios of medians when each round has its own placement effect (round_sd)."""
    ratios = []
    for _ in range(rounds):
        effect = np.exp(round_sd * rng.standard_normal())
        a = true_ratio * effect * (1 + sample_sd * rng.standard_normal(samples))
        b = 1 + sample_sd * rng.standard_normal(samples)
        ratios.append(np.median(a) / np.median(b))
    return ratios


def test_interval_over_rounds_has_its_nominal_coverage_when_rounds_differ():
    rng = np.random.default_rng(0)
    covered = [low <= 2.0 <= high for low, high in (rounds_ci(_simulated_rounds(rng, 2.0, 3)) for _ in range(2000))]
    assert 0.93 <= np.mean(covered) <= 0.97


def test_two_rounds_warn_and_one_round_is_refused():
    with pytest.raises(ValueError, match="at least 2 rounds"):
        rounds_ci([1.2])
    with pytest.raises(ValueError, match="rounds must be >= 2"):
        compare(lambda: (lambda: None), lambda: (lambda: None), rounds=1, fresh_processes=False)
    m = Measurement("x", [1.0] * 6)
    assert any("only 2 timing rounds" in w for w in Comparison(m, m, 1.2, rounds_ci([1.1, 1.3]), [1.1, 1.3]).warnings)


def test_comparison_flags_an_interval_that_includes_one():
    m = Measurement("x", [1.0] * 6)
    assert any("includes 1" in w for w in Comparison(m, m, 1.0, (0.9, 1.1), [1.0, 0.9, 1.1]).warnings)
    assert Comparison(m, m, 2.0, (1.9, 2.1), [2.0, 1.9, 2.1]).warnings == []


def test_compare_builds_fresh_runners_each_round_and_alternates_order():
    built, order = [], []

    def factory(name):
        def make():
            built.append(name)
            return lambda: order.append(name)

        return make

    result = compare(factory("a"), factory("b"), ("a", "b"), rounds=4, min_run_time=0.01, fresh_processes=False)
    assert built == ["a", "b", "b", "a", "a", "b", "b", "a"]
    assert len(result.rounds) == 4 and len(result.baseline.times) == len(result.candidate.times) >= 4 * 5
    assert abs(result.speedup - geometric_mean(result.rounds)) < 1e-12
    m = timeit(lambda: None, "noop", min_run_time=0.02)
    assert m.number >= 1 and len(m.times) >= 5 and m.median > 0


def test_compare_pairs_gives_every_pair_as_many_rounds_each_in_alternating_order():
    built = []

    def factory(name):
        def make():
            built.append(name)
            return lambda: None

        return make

    pairs = [(factory("a0"), factory("b0")), (factory("a1"), factory("b1"))]
    result = compare_pairs(pairs, rounds=3, min_run_time=0.01, fresh_processes=False)
    assert result.round_pairs == [0, 1, 0, 1]  # 3 rounds asked, 2 each: every pair weighs the same
    assert built == ["a0", "b0", "a1", "b1", "b0", "a0", "b1", "a1"]  # each pair in both orders
    assert len(result.rounds) == 4


def test_a_grouped_interval_spans_the_spread_between_groups():
    rng = np.random.default_rng(0)
    noisy = lambda ratio: list(ratio * np.exp(0.01 * rng.standard_normal(3)))  # noqa: E731  3 rounds of one pair
    apart = grouped_rounds_ci([noisy(2.0), noisy(2.4)])  # two seeds' nets that differ by 20 %
    alike = grouped_rounds_ci([noisy(2.0), noisy(2.0)])
    one_seed = rounds_ci(noisy(2.0))
    assert apart[0] < 2.05 and apart[1] > 2.35, apart  # reaches both seeds' ratios
    assert not one_seed[0] <= 2.4 <= one_seed[1]  # what timing the first seed alone missed
    assert alike[1] - alike[0] < (apart[1] - apart[0]) / 5
    with pytest.raises(ValueError, match="at least 2 seeds"):
        grouped_rounds_ci([[1.0, 1.1]])


def test_accuracy_interval_widens_with_seed_spread():
    rng = np.random.default_rng(0)
    examples = rng.random(500) < 0.9  # a net right on 90 % of the examples

    def seeds_of(spread):  # each seed flips a different share of examples
        return np.stack([examples ^ (rng.random(500) < s) for s in spread]).astype(float)

    alike = accuracy_ci(seeds_of([0.01, 0.01, 0.01]))
    apart = accuracy_ci(seeds_of([0.0, 0.1, 0.2]))
    assert apart[1] - apart[0] > alike[1] - alike[0]


def test_a_timing_that_shared_the_machine_says_so():
    """A process burning one core while two runners are compared: every round, and a timeit, are flagged."""
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)  # let it start
        c = compare(lambda: lambda: sum(range(200)), lambda: lambda: sum(range(100)), rounds=2, min_run_time=0.3, fresh_processes=False)
        m = timeit(lambda: sum(range(200)), "busy", min_run_time=0.3)
    finally:
        busy.kill()
        busy.wait()
    assert len(c.contention) == 2 and min(c.contention) > CONTENDED_CORES, c.contention
    assert len(c.contended) == 2 and any("shared the machine" in w for w in c.warnings)
    assert c.as_dict()["contention"] == c.contention and c.retimed == MAX_RETIMES  # it never went away
    assert m.contention > CONTENDED_CORES and any("shared the machine" in w for w in m.warnings)


def test_a_round_another_process_disturbed_is_timed_again(monkeypatch):
    """A blip of contention in one round: that round is timed again, the comparison counts it and is not flagged."""
    shares = iter([0.0, 0.9, 0.0, 0.0])  # the second round's first try shared the machine

    def time_round(plan, run):
        return RoundResult([2.0] * 5, [1.0] * 5, (1, 1), next(shares), (None, None))

    monkeypatch.setattr(rounds, "time_round", time_round)
    c = compare(lambda: lambda: None, lambda: lambda: None, rounds=3, fresh_processes=False)
    assert c.retimed == 1 and c.contention == [0.0, 0.0, 0.0] and not c.contended and c.as_dict()["retimed"] == 1


def test_a_round_is_timed_again_when_either_process_shared_the_machine(monkeypatch):
    """The candidate's process of the first round shared the machine, the baseline's did not: the round is timed again."""
    shares = iter([0.0, 0.9] + [0.0] * 10)

    def time_side(side):
        return Measurement("", [1.0] * 5, contention=next(shares))

    monkeypatch.setattr(rounds, "time_side", time_side)
    c = compare(lambda: lambda: None, lambda: lambda: None, rounds=2, fresh_processes=False)
    assert c.retimed == 1 and c.contention == [0.0, 0.0]


def test_contention_counts_other_processes_not_this_one():
    """This process keeping one core busy is not contention: it is what is timed."""
    idle = OtherProcesses()
    time.sleep(0.3)
    background = idle.cores()  # what the rest of the machine does anyway
    if background > 0.3:
        pytest.skip(f"the machine is busy ({background:.2f} cores): no quiet baseline")
    others = OtherProcesses()
    end = time.perf_counter() + 0.5
    while time.perf_counter() < end:
        pass
    assert others.cores() < background + 0.6  # counting this process's own busy core would add about 1


@dataclass(frozen=True)
class RecordingFactory:
    """Builds a no-op runner and notes where it was built: process id, torch threads, the parent
    process it was forked from and its name (picklable)."""

    notes: Path
    name: str = "-"

    def __call__(self):
        import torch

        with self.notes.open("a") as f:
            f.write(f"{os.getpid()} {torch.get_num_threads()} {os.getppid()} {self.name}\n")
        return lambda: None


@dataclass(frozen=True)
class FailingFactory:
    def __call__(self):
        raise ConfigError("this runner cannot be built")


def test_each_model_of_a_round_runs_alone_in_a_fresh_process_with_the_profile_threads(tmp_path):
    notes = tmp_path / "built.txt"
    c = compare(RecordingFactory(notes, "base"), RecordingFactory(notes, "cand"), rounds=3, min_run_time=0.01, threads=1)
    built = [line.split() for line in notes.read_text().splitlines()]
    pids, servers, names = ([row[i] for row in built] for i in (0, 2, 3))
    assert len(built) == 6 and {row[1] for row in built} == {"1"}
    assert len(set(pids)) == 6  # baseline and candidate never share a process
    assert names == ["base", "cand", "cand", "base", "base", "cand"]  # the baseline first in even rounds, the candidate in odd ones
    assert servers[0] == servers[1] and servers[2] == servers[3] and servers[4] == servers[5]  # a round's two processes share its server
    assert len({servers[0], servers[2], servers[4]}) == 3  # each round forked from a server (an address layout) of its own
    assert str(os.getpid()) not in pids + servers
    assert c.fresh_processes and c.as_dict()["fresh_processes"] and len(c.rounds) == 3


def test_rounds_can_share_servers_when_asked(tmp_path):
    notes = tmp_path / "built.txt"
    compare(RecordingFactory(notes), RecordingFactory(notes), rounds=3, min_run_time=0.01, servers=1)
    built = [line.split() for line in notes.read_text().splitlines()]
    assert len({row[0] for row in built}) == 6 and len({row[2] for row in built}) == 1


def test_an_error_in_a_round_process_is_raised_here():
    with pytest.raises(ConfigError, match="cannot be built"):
        compare(FailingFactory(), FailingFactory(), rounds=2, min_run_time=0.01)


def test_variance_levels_split_within_and_between_processes():
    steady = Levels([[1.0, 1.02, 0.98], [1.0, 1.02, 0.98]], process_s=0.5, round_s=1.0)
    assert steady.within > 0 and steady.between == 0 and steady.best_rounds_per_process == float("inf")
    apart = Levels([[1.0, 1.01, 0.99], [1.3, 1.31, 1.29]], process_s=0.5, round_s=1.0)
    assert apart.between > 10 * apart.within  # the processes differ far more than their rounds
    assert apart.best_rounds_per_process < 1  # then a process per round is the better use of time
    assert apart.as_dict()["between_sd_percent"] > 10


def test_variance_levels_times_rounds_in_fresh_processes(tmp_path):
    notes = tmp_path / "built.txt"
    plan = Round(RecordingFactory(notes), RecordingFactory(notes), False, 0.01, 200, 0.0, 1, "cpu")
    levels = variance_levels(plan, processes=2, rounds=2)
    built = [line.split() for line in notes.read_text().splitlines()]
    pids, servers = [row[0] for row in built], [row[2] for row in built]
    assert [len(r) for r in levels.ratios] == [2, 2] and len(set(pids)) == 2 and pids.count(pids[0]) == 4
    assert len(set(servers)) == 2  # each process forked from a server of its own
    with pytest.raises(ValueError, match="at least 2 processes"):
        variance_levels(plan, processes=1)


def test_a_script_without_a_main_guard_can_time_in_fresh_processes(tmp_path):
    """multiprocessing would run the script again in every round's process (and fail without a guard)."""
    script = tmp_path / "unguarded.py"
    script.write_text("from dropbench.timing.servers import in_fresh_process\nprint('ran')\nprint(in_fresh_process(len, [1, 2, 3]))\n")
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["ran", "3"]  # the script ran once, here


def test_a_round_process_that_dies_is_an_error_here_and_the_server_serves_on():
    with pytest.raises(RuntimeError, match="ended without a result \\(exit code 3\\)"):
        in_fresh_process(os._exit, 3)
    assert in_fresh_process(len, [1, 2]) == 2


def test_each_build_of_a_training_step_draws_its_own_dropout_patterns():
    # Seeded as the run is, every round would time the same stream of approximate-random patterns.
    spec = training_spec("approximate-random-p0.5", "mlp")
    draws = []
    for _ in range(2):
        train_step_runner(spec)
        draws.append(torch.rand(8))
    assert not torch.equal(*draws)


def modules_a_training_build_imports(spec) -> list[str]:
    from dropbench.data import load_dataset
    load_dataset(spec.data)
    before = set(sys.modules)
    train_step_runner(spec)
    return sorted(set(sys.modules) - before)


def test_a_round_process_finds_what_a_training_step_imports_preloaded():
    # torch.optim's first optimiser imports torch._dynamo and sympy: 1.3 s per round when not preloaded
    new = in_fresh_process(modules_a_training_build_imports, training_spec("dropout-p0.5", "mlp"))
    assert len(new) < 20, new[:20]


def test_an_interval_over_two_noisy_rounds_at_a_strict_level_stays_finite():
    """t with 1 df at 99.2 % is 76: a noisy pair of rounds would overflow e^x; records hold finite figures within 1e12."""
    low, high = rounds_ci([0.01, 50.0], confidence=0.9917)
    assert 0 < low < 1e-8 and 1e8 < high < 1e12
    assert 1 - 1 / low > -1e12  # a training saving's lower bound, as timing.training writes it
