"""dropbench history / compare-profiles over asv results written in asv's own format."""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from dropbench.cli import main
from dropbench.history import (
    compare_profiles,
    load_project,
    load_results,
    regressions,
    scratch_config,
    threshold_for,
)

ROOT = Path(__file__).resolve().parents[1]
TIME = "training.TrainingStep.time_step"
ERROR = "compaction.Compaction.track_test_error"
INFERENCE = "inference.Inference.time_inference"
BENCHMARKS = {
    TIME: {
        "param_names": ["case", "model"],
        "params": [["'dense'", "'dropout-p0.5'"], ["'mlp'"]],
        "type": "time",
        "unit": "seconds",
    },
    ERROR: {"param_names": ["checkpoint"], "params": [["'dense'"]], "type": "track", "unit": "%"},
    INFERENCE: {
        "param_names": ["checkpoint", "runtime", "batch", "device"],
        "params": [["'dense'"], ["'onnxruntime'"], ["64"], ["'cpu'", "'cuda'"]],
        "type": "time",
        "unit": "seconds",
    },
}
COLUMNS = [
    "result",
    "params",
    "version",
    "started_at",
    "duration",
    "stats_ci_99_a",
    "stats_ci_99_b",
    "stats_q_25",
    "stats_q_75",
    "stats_number",
    "stats_repeat",
    "samples",
    "profile",
]


EPYC = {"cpu": "AMD EPYC 7B13", "cores_physical": "2", "ram_gb": "23.5"}  # machine facts as asv stores them
XEON = {"cpu": "Intel(R) Xeon(R) CPU @ 2.20GHz", "cores_physical": "2", "ram_gb": "23.5"}


def write_result(results: Path, machine: str, commit: str, date: int, values: dict[str, list], facts: dict | None = None) -> None:
    """One asv results file (format version 2) holding `values` (benchmark -> flat values over its grid),
    recorded on a machine with these facts (none: a machine asv knows nothing of)."""
    facts = {"machine": machine, **(facts or {})}
    (results / machine).mkdir(parents=True, exist_ok=True)
    (results / machine / "machine.json").write_text(json.dumps({**facts, "version": 1}))
    rows = {name: [vals, BENCHMARKS[name]["params"], "v1", date, 1.0] + [None] * (len(COLUMNS) - 5) for name, vals in values.items()}
    record = {
        "commit_hash": commit, "env_name": "virtualenv-py3.11", "date": date, "params": {**facts, "python": "3.11"},
        "python": "3.11", "requirements": {}, "env_vars": {}, "result_columns": COLUMNS, "results": rows, "durations": {}, "version": 2,
    }
    (results / machine / f"{commit[:8]}-virtualenv-py3.11.json").write_text(json.dumps(record))


def write_index(results: Path, benchmarks: dict) -> None:
    results.mkdir(parents=True, exist_ok=True)
    index = {name: {**b, "name": name, "version": "v1"} for name, b in benchmarks.items()}
    (results / "benchmarks.json").write_text(json.dumps({**index, "version": 2}))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A git repository of six commits with dropbench's asv configuration and suites, no results yet."""
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "benchmarks", repo / "benchmarks", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "asv.conf.json", repo)
    git = lambda *a: subprocess.run(["git", *a], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()  # noqa: E731
    git("init", "-q")
    for i in range(6):
        (repo / "n").write_text(str(i))
        git("add", "-A")
        git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", f"c{i}")
    (repo / "commits").write_text(git("rev-list", "--reverse", "HEAD"))
    return repo


def commits(repo: Path) -> list[str]:
    return (repo / "commits").read_text().split()


def record_history(repo: Path) -> None:
    """cpu-2thread: the dropout step jumps by half at commit 3; test error improves at commit 4."""
    results = repo / ".asv" / "results"
    write_index(results, BENCHMARKS)
    for i, commit in enumerate(commits(repo)):
        dropout = 0.015 if i >= 3 else 0.010
        write_result(results, "cpu-2thread", commit, 1_000_000 + i, {
            TIME: [0.010, dropout], ERROR: [2.0 if i < 4 else 1.5], INFERENCE: [0.002, float("nan")],
        })


def run_cli(*args: str, cwd: Path, capsys) -> tuple[int, str, str]:
    import os

    old = os.getcwd()
    os.chdir(cwd)
    try:
        code = main(list(args))
    finally:
        os.chdir(old)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_regression_found_at_the_commit_that_made_it(project: Path):
    record_history(project)
    config = load_project(project / "asv.conf.json")
    found = regressions(load_results(config), config.thresholds)
    assert [(r.figure, r.commit, r.last_good) for r in found] == [(f"{TIME}(dropout-p0.5, mlp)", commits(project)[3], commits(project)[2])]
    assert found[0].ratio == pytest.approx(1.5)
    assert found[0].threshold == threshold_for(f"{TIME}(dropout-p0.5, mlp)", config.thresholds) == 0.25


def test_thresholds_are_per_kind_of_figure(project: Path):
    thresholds = load_project(project / "asv.conf.json").thresholds
    timing, error = threshold_for(f"{TIME}(dense, mlp)", thresholds), threshold_for(f"{ERROR}(dense)", thresholds)
    params = threshold_for("compaction.Compaction.track_params(dense)", thresholds)
    assert timing > error > params
    assert threshold_for("unknown.figure", thresholds) == 0.05


def test_history_cli_table_json_and_range(project: Path, tmp_path: Path, capsys):
    record_history(project)
    code, out, _ = run_cli("history", "--json", str(tmp_path / "h.json"), cwd=project, capsys=capsys)
    assert code == 0 and "dropout-p0.5" in out and commits(project)[3][:8] in out
    records = json.loads((tmp_path / "h.json").read_text())
    assert [r["commit"] for r in records] == [commits(project)[3]]
    code, out, _ = run_cli("history", f"{commits(project)[3]}..HEAD", cwd=project, capsys=capsys)
    assert code == 0 and "no regressions in 2 recorded commits" in out


def test_compare_profiles_matches_each_profile_at_its_own_device(project: Path, tmp_path: Path, capsys):
    results = project / ".asv" / "results"
    write_index(results, BENCHMARKS)
    first, last = commits(project)[0], commits(project)[-1]
    write_result(results, "cpu-2thread", last, 2, {TIME: [0.010, 0.012], INFERENCE: [0.002, float("nan")]})
    write_result(results, "gpu-h100", first, 1, {TIME: [0.001, 0.001], INFERENCE: [0.004, 0.0005]})
    comparison = compare_profiles(load_results(load_project(project / "asv.conf.json")), "cpu-2thread", "gpu-h100")
    by_figure = {p.figure: p for p in comparison.pairs}
    assert (comparison.a.commit, comparison.b.commit) == (last, first)
    inference = by_figure[f"{INFERENCE}(dense, onnxruntime, 64)"]  # cpu row of A against cuda row of B
    assert (inference.a, inference.b, inference.better) == (0.002, 0.0005, "B")
    assert by_figure[f"{TIME}(dropout-p0.5, mlp)"].ratio == pytest.approx(1 / 12)
    code, out, _ = run_cli(
        "compare-profiles",
        "cpu-2thread",
        "gpu-h100",
        "--html",
        str(tmp_path / "c.html"),
        "--json",
        str(tmp_path / "c.json"),
        cwd=project,
        capsys=capsys,
    )
    assert code == 0 and "gpu-h100" in out
    assert "<table>" in (tmp_path / "c.html").read_text()
    assert len(json.loads((tmp_path / "c.json").read_text())["figures"]) == 3


@pytest.mark.parametrize("args, message", [
    (["history", "--machine", "cpu-9thread"], "no recorded results for machine or profile 'cpu-9thread'; recorded machines: cpu-2thread"),
    (["compare-profiles", "cpu-2thread", "no-such-profile"], "no recorded results for machine or profile 'no-such-profile'"),
    (["compare-profiles", "cpu-2thread", "cpu-1thread"], "no recorded results for machine or profile 'cpu-1thread'"),
    (["history", "no-such-commit..HEAD"], "commit range 'no-such-commit..HEAD' is not in the repository"),
    (["history", "--results", "elsewhere"], "no asv results at"),
    (["history", "--config", "missing.json"], "no asv configuration at missing.json"),
])
def test_bad_input_is_one_line_and_exit_2(project: Path, capsys, args, message):
    record_history(project)
    code, _, err = run_cli(*args, cwd=project, capsys=capsys)
    assert code == 2
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_results_of_another_project_are_refused(project: Path, capsys):
    other = project / "other"
    write_index(other, {})
    (other / "benchmarks.json").write_text(json.dumps({"bench_io.IOSuite.time_read": {"name": "bench_io.IOSuite.time_read"}, "version": 2}))
    code, _, err = run_cli("history", "--results", str(other), cwd=project, capsys=capsys)
    assert code == 2 and "holds asv results of another project" in err and "bench_io.IOSuite.time_read" in err


def test_range_without_recorded_results(project: Path, capsys):
    results = project / ".asv" / "results"
    write_index(results, BENCHMARKS)
    write_result(results, "cpu-2thread", commits(project)[0], 1, {ERROR: [2.0]})
    code, _, err = run_cli("history", f"{commits(project)[2]}..HEAD", cwd=project, capsys=capsys)
    assert code == 2 and "no recorded results for the 3 commits" in err


def test_scratch_config_keeps_the_recorded_results(project: Path, tmp_path: Path):
    conf = json.loads(scratch_config(project / "asv.conf.json", tmp_path / "scratch").read_text())
    assert conf["results_dir"] == str(tmp_path / "scratch" / "results")
    assert Path(conf["benchmark_dir"]) == project / "benchmarks"
    assert conf["regressions_thresholds"] == load_project(project / "asv.conf.json").thresholds


def test_every_recorded_value_is_read(project: Path):
    record_history(project)
    recorded = load_results(load_project(project / "asv.conf.json"))
    grid = list(itertools.product(["dense", "dropout-p0.5"], ["mlp"]))
    last = recorded[-1]
    assert [v.params for v in last.values if v.benchmark == TIME] == [(("case", c), ("model", m)) for c, m in grid]
    assert all(v.benchmark != INFERENCE or dict(v.params)["device"] == "cpu" for v in last.values)  # NaN = skipped, left out


def record_two_cpus(repo: Path, machine_of: dict[str, str]) -> None:
    """cpu-2thread: commits 0-2 on an AMD EPYC, 3-5 on an Intel Xeon where every step takes 1.75x
    as long (the same code: no regression), recorded as machine_of["epyc"] and machine_of["xeon"]."""
    results = repo / ".asv" / "results"
    write_index(results, BENCHMARKS)
    for i, commit in enumerate(commits(repo)):
        cpu, facts, slower = ("epyc", EPYC, 1.0) if i < 3 else ("xeon", XEON, 1.75)
        facts = {**facts, "dropbench_profile": "cpu-2thread"}
        write_result(results, machine_of[cpu], commit, 1_000_000 + i, {TIME: [0.010 * slower, 0.012 * slower], ERROR: [2.0]}, facts)


def test_a_machine_name_recorded_on_two_cpus_is_two_histories(project: Path, capsys):
    """An old machine named after the profile, recorded on an EPYC and then on a Xeon."""
    record_two_cpus(project, {"epyc": "cpu-2thread", "xeon": "cpu-2thread"})
    config = load_project(project / "asv.conf.json")
    assert regressions(load_results(config), config.thresholds) == []
    code, out, _ = run_cli("history", cwd=project, capsys=capsys)
    notes = [line for line in out.splitlines() if line.startswith("note:")]
    assert code == 0 and "no regressions in 6 recorded commits" in out
    assert notes == [
        f"note: machine 'cpu-2thread' holds results of 2 machines: the hardware changed at {commits(project)[3][:8]} "
        "(AMD EPYC 7B13, 2 cores, 24 GiB -> Intel(R) Xeon(R) CPU @ 2.20GHz, 2 cores, 24 GiB); figures are compared only on the same hardware"
    ]


def test_a_profile_recorded_on_two_cpus_is_two_machines(project: Path, capsys):
    machine_of = {"epyc": "cpu-2thread-amd-epyc-7b13-2c", "xeon": "cpu-2thread-intel-xeon-2c"}
    record_two_cpus(project, machine_of)
    # a real regression on the Xeon still shows, and only there
    results = project / ".asv" / "results"
    xeon = {**XEON, "dropbench_profile": "cpu-2thread"}
    write_result(results, machine_of["xeon"], commits(project)[5], 1_000_005, {TIME: [0.035, 0.021], ERROR: [2.0]}, xeon)
    code, out, _ = run_cli("history", "--machine", "cpu-2thread", "--json", str(project / "h.json"), cwd=project, capsys=capsys)
    assert code == 0
    [regression] = json.loads((project / "h.json").read_text())
    assert (regression["machine"], regression["commit"], regression["figure"]) == (machine_of["xeon"], commits(project)[5], f"{TIME}(dense, mlp)")
    assert regression["hardware"] == "Intel(R) Xeon(R) CPU @ 2.20GHz, 2 cores, 24 GiB"
    [note] = [line for line in out.splitlines() if line.startswith("note:")]
    assert note.startswith("note: profile 'cpu-2thread' was recorded on 2 kinds of hardware (AMD EPYC 7B13, 2 cores, 24 GiB as cpu-2thread-amd-epyc-7b13-2c;")


def test_compare_profiles_takes_both_on_the_same_cpu(project: Path, capsys):
    """cpu-1thread was recorded on both CPUs, cpu-2thread on the EPYC only: A is taken on the EPYC."""
    record_two_cpus(project, {"epyc": "cpu-2thread-amd-epyc-7b13-2c", "xeon": "cpu-2thread-intel-xeon-2c"})
    results = project / ".asv" / "results"
    for i, (machine, facts, step) in enumerate([("cpu-1thread-amd-epyc-7b13-2c", EPYC, 0.020), ("cpu-1thread-intel-xeon-2c", XEON, 0.035)]):
        write_result(results, machine, commits(project)[4 + i], 2_000_000 + i, {TIME: [step, step]}, {**facts, "dropbench_profile": "cpu-1thread"})
    for path in results.glob("cpu-2thread-intel-xeon-2c/*.json"):  # cpu-2thread now only on the EPYC
        path.unlink()
    comparison = compare_profiles(load_results(load_project(project / "asv.conf.json")), "cpu-1thread", "cpu-2thread")
    assert (comparison.a.machine, comparison.b.machine) == ("cpu-1thread-amd-epyc-7b13-2c", "cpu-2thread-amd-epyc-7b13-2c")
    assert {p.figure: p.ratio for p in comparison.pairs}[f"{TIME}(dense, mlp)"] == pytest.approx(0.5)
    assert comparison.notes == [
        "'cpu-1thread' was recorded on 2 kinds of hardware (AMD EPYC 7B13, 2 cores, 24 GiB; Intel(R) Xeon(R) CPU @ 2.20GHz, 2 cores, 24 GiB): "
        "comparing its figures on AMD EPYC 7B13, 2 cores, 24 GiB"
    ]


def test_compare_profiles_says_when_the_cpus_differ(project: Path, capsys):
    record_two_cpus(project, {"epyc": "cpu-2thread-amd-epyc-7b13-2c", "xeon": "cpu-2thread-intel-xeon-2c"})
    code, out, _ = run_cli(
        "compare-profiles", "cpu-2thread-amd-epyc-7b13-2c", "cpu-2thread-intel-xeon-2c", "--json", str(project / "c.json"), cwd=project, capsys=capsys
    )
    assert code == 0
    [note] = [line for line in out.splitlines() if line.startswith("note:")]
    assert note == (
        "note: A and B were recorded on different hardware (AMD EPYC 7B13, 2 cores, 24 GiB vs Intel(R) Xeon(R) CPU @ 2.20GHz, 2 cores, 24 GiB): "
        "B / A mixes the profiles and the machines"
    )
    written = json.loads((project / "c.json").read_text())
    assert written["b"]["machine"] == "cpu-2thread-intel-xeon-2c" and written["notes"] == [note.removeprefix("note: ")]
