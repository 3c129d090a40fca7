"""dropbench record-history and gate around asv (asv itself replaced by a stand-in that writes what
asv writes; tests/test_asv_suites.py runs the real one)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_history import BENCHMARKS, ERROR, XEON, commits, run_cli, write_index, write_result
from test_history import project as project  # noqa: F401  (the fixture: a git repository with dropbench's suites)

from dropbench import recording
from dropbench.history import load_project
from dropbench.machines import machine_name
from dropbench.profiles import hardware

MACHINE = machine_name("cpu-2thread", hardware())
HERE = {"cpu": hardware().cpu, "cpu_id": hardware().cpu_id, "cores_physical": str(hardware().cores), "ram_gb": str(hardware().ram_gib)}


@pytest.fixture(autouse=True)
def home(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # ~/.asv-machine.json


@pytest.fixture
def fake_asv(monkeypatch):
    """asv run replaced: writes the commit's results, the index and the machine file into the
    configuration's results folder, as asv does. Returns the argument lists it was called with."""
    calls = []

    def run(args, config, env):
        calls.append(args)
        results = Path(json.loads(Path(config).read_text())["results_dir"])
        commit = next(a[:-2] for a in args if a.endswith("^!"))
        write_index(results, BENCHMARKS)
        write_result(results, MACHINE, commit, 1_000 + len(calls), {ERROR: [2.0]}, HERE)
        return 0

    monkeypatch.setattr(recording, "_asv", run)
    return calls


def history_files(repo: Path) -> dict[str, str]:
    results = repo / ".asv" / "results"
    return {str(p.relative_to(results)): p.read_text() for p in sorted(results.rglob("*")) if p.is_file()} if results.exists() else {}


def test_spread_takes_the_first_and_the_last():
    assert recording.spread(list("abcdefghi"), 3) == ["a", "e", "i"]
    assert recording.spread(list("abc"), 5) == list("abc")
    assert recording.spread(list("abc"), 1) == ["c"]


def test_records_each_commit_once_with_its_own_suites(project: Path, fake_asv, capsys):
    code, out, _ = run_cli("record-history", f"{commits(project)[1]}..HEAD", "--spread", "3", cwd=project, capsys=capsys)
    assert code == 0 and "recorded 3 commit(s)" in out
    recorded = sorted(p.name[:8] for p in (project / ".asv" / "results" / MACHINE).glob("*-virtualenv*.json"))
    assert recorded == sorted(c[:8] for c in (commits(project)[2], commits(project)[4], commits(project)[5]))
    assert all("DROPBENCH" not in " ".join(a) for a in fake_asv)
    before = history_files(project)
    code, out, _ = run_cli("record-history", f"{commits(project)[1]}..HEAD", "--spread", "3", cwd=project, capsys=capsys)
    assert code == 0 and "0 commit(s) to record" in out and history_files(project) == before and len(fake_asv) == 3


def test_only_heads_results_keep_their_benchmark_versions(project: Path, fake_asv, capsys):
    run_cli("record-history", f"{commits(project)[3]}..HEAD", cwd=project, capsys=capsys)
    folder = project / ".asv" / "results" / MACHINE
    versions = {p.name[:8]: json.loads(p.read_text())["results"][ERROR][2] for p in folder.glob("*-virtualenv*.json")}
    assert versions == {commits(project)[4][:8]: None, commits(project)[5][:8]: "v1"}


def test_an_interrupted_record_leaves_the_history_as_it_was(project: Path, fake_asv, monkeypatch, capsys):
    run_cli("record-history", commits(project)[2], cwd=project, capsys=capsys)
    before = history_files(project)

    def interrupted(args, config, env):
        results = Path(json.loads(Path(config).read_text())["results_dir"])
        write_index(results, {})
        raise KeyboardInterrupt

    monkeypatch.setattr(recording, "_asv", interrupted)
    with pytest.raises(KeyboardInterrupt):
        recording.record(load_project(project / "asv.conf.json"), "HEAD", "cpu-2thread", progress=lambda _: None)
    assert history_files(project) == before
    assert not list((project / ".asv").glob(".record-*"))


@pytest.mark.parametrize("args, message", [
    (["record-history", "no-such-commit..HEAD"], "commit range 'no-such-commit..HEAD' is not in the repository"),
    (["record-history", "--profile", "gpu-h100"], "needs CUDA"),
    (["record-history", "--profile", "no-such-profile"], "unknown profile 'no-such-profile'"),
    (["record-history", "--spread", "0", "HEAD~3..HEAD"], "--spread must be at least 1"),
    (["gate", "no-such-commit"], "is not in the repository"),
    (["gate", "HEAD~1", "--factor", "0.9"], "--factor must be above 1"),
])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(project: Path, fake_asv, capsys, args, message):
    code, _, err = run_cli(*args, cwd=project, capsys=capsys)
    assert code == 2 and message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert history_files(project) == {} and fake_asv == []


def test_results_of_another_project_or_other_hardware_are_refused(project: Path, fake_asv, capsys):
    results = project / ".asv" / "results"
    (results).mkdir(parents=True)
    (results / "benchmarks.json").write_text(json.dumps({"bench_io.IOSuite.time_read": {"name": "bench_io.IOSuite.time_read"}, "version": 2}))
    code, _, err = run_cli("record-history", cwd=project, capsys=capsys)
    assert code == 2 and "holds asv results of another project" in err
    write_index(results, BENCHMARKS)
    write_result(results, MACHINE, commits(project)[0], 1, {ERROR: [2.0]}, XEON)
    before = history_files(project)
    code, _, err = run_cli("record-history", cwd=project, capsys=capsys)
    assert code == 2 and f"asv machine {MACHINE!r} was recorded on" in err
    assert history_files(project) == before and fake_asv == []
