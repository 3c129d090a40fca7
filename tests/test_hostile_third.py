"""Hostile or careless input, third round (issue 38): plans, the readers of JSON and TOML, paths
from options and the environment, asv results and configurations, `cluster estimate` and the
stability script end in success or one `error:` line, never hang, allocate without bound, read
outside files or lose what was written. One section per family of the issue; nothing trains."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest
from conftest import TINY_RUNS, CliResult, assert_one_line_error, assert_one_line_error_process, run_limited, write_plan
from test_hostile_outputs import CLAIM, write_timed_output
from test_history import ROOT, TIME, commits, project, record_history, run_cli, write_result  # noqa: F401  (project is a fixture)

from dropbench import suites
from dropbench.errors import ConfigError

PY = sys.executable

# --- 1. a plan whose parameters have no canonical JSON (so no hash) or no TOML form


@pytest.mark.parametrize("param", ["finetune_lr = nan", "finetune_lr = inf", "finetune_lr = -inf", "finetune_epochs = 99999999999999999999"])
def test_a_parameter_without_a_hash_is_refused_by_the_schema(tmp_path, cli, monkeypatch, param):
    plan = write_plan(tmp_path / "plan.toml", TINY_RUNS)
    plan.write_text(plan.read_text().replace("params = {fraction = 0.5}", f"params = {{fraction = 0.5, {param}}}"))
    words = ("field runs[1] ('magnitude-unit').params", param.split()[0])
    for command in (["plan", "validate", plan], ["plan", "show", plan], ["claims", "--plan", plan], ["reproduce", "--plan", plan, "--out", tmp_path / "out"]):
        assert_one_line_error(cli(*command), *words)
    assert not (tmp_path / "out").exists()
    monkeypatch.setenv(suites.PLAN_ENV, str(plan))
    suites.suite_plan.cache_clear()
    try:
        with pytest.raises(ConfigError, match=r"params: finetune_\w+ is"):
            suites.suite_plan()
    finally:
        suites.suite_plan.cache_clear()


@pytest.mark.parametrize("text", ["emoji \U0001f600", "DEL \x7f", "controls \x01\t\n", 'quote " and \\ backslash', "€ and 中文"])
def test_plan_show_writes_any_text_as_toml_that_reads_back(tmp_path, cli, text):
    plan = write_plan(tmp_path / "plan.toml", TINY_RUNS, description=text)
    shown = cli("plan", "show", plan)
    assert shown.code == 0, shown.err
    (tmp_path / "shown.toml").write_text(shown.out, encoding="utf-8")
    again = cli("plan", "validate", tmp_path / "shown.toml")
    assert again.code == 0, again.err
    assert cli("plan", "show", tmp_path / "shown.toml").out == shown.out


def test_a_key_that_breaks_its_pattern_is_named_as_such(tmp_path, cli):
    plan = write_plan(tmp_path / "plan.toml", TINY_RUNS)
    plan.write_text(plan.read_text().replace("params = {fraction = 0.5}", 'params = {fraction = 0.5, "bad key!" = 1}'))
    assert_one_line_error(cli("plan", "validate", plan), "field runs[1] ('magnitude-unit').params.bad key!: String should match pattern")


# --- 2. an integer past Python's 4,300 digits, in every reader


@pytest.mark.parametrize(("name", "text", "command"), [
    ("plan.toml", "name = 'x'\nmin_seeds = " + "9" * 5000 + "\n", ["plan", "validate", "FILE"]),
    ("profile.json", '{"name": "p", "device": "cpu", "threads": ' + "1" * 5000 + "}", ["profile", "validate", "FILE"]),
    ("claims.json", '[{"measured": ' + "1" * 5000 + "}]", ["report", "DIR"]),
])
def test_an_integer_of_more_than_4300_digits_is_one_line(tmp_path, cli, name, text, command):
    (tmp_path / name).write_text(text)
    args = [tmp_path / name if a == "FILE" else tmp_path if a == "DIR" else a for a in command]
    assert_one_line_error(cli(*args), str(tmp_path / name), "an integer of more than 4,300 digits")


# --- 3. a path the system refuses outright: a name over 255 bytes, a path over 4,096, a ~user of nobody

LONG = "x" * 300


@pytest.mark.parametrize(("args", "env", "words"), [
    (["train", "--method", "dense", "--data", f"idx:/tmp/{LONG}", "--out", "OUT"], {}, "idx:DIR"),
    (["train", "--method", "dense", "--data", f"csv:/tmp/{LONG}#label", "--out", "OUT"], {}, "csv:PATH"),
    (["train", "--method", "dense", "--data", f"npz:/tmp/{'a/' * 2100}x.npz", "--out", "OUT"], {}, "npz:PATH"),
    (["reproduce", "--quick", "--profiles", LONG, "--out", "OUT"], {}, "unknown profile"),
    (["reproduce", "--quick", "--profiles", f"/tmp/{LONG}.json", "--out", "OUT"], {}, "profile file"),
    (["asv-machine", LONG, "--results", "OUT"], {}, "unknown profile"),
    (["asv-machine", "cpu-1thread", "--results", f"/tmp/{LONG}"], {}, "--results"),
    (["profile", "show", "cpu-1thread"], {"DROPBENCH_PROFILES": f"/tmp/{LONG}"}, "DROPBENCH_PROFILES"),
    (["profile", "detect"], {"DROPBENCH_PROFILE": LONG}, "unknown profile"),
    (["claims", "--quick"], {"DROPBENCH_CACHE": f"/tmp/{LONG}"}, "DROPBENCH_CACHE"),
    (["claims", "--quick"], {"DROPBENCH_CACHE": "~no-such-user-here/cache"}, "'~' names no user"),
    (["bench", f"/tmp/{LONG}"], {}, "model"),
    (["export", f"/tmp/{LONG}"], {}, "checkpoint"),
    (["report", f"/tmp/{LONG}"], {}, "output directory"),
    (["cluster", "estimate", f"/tmp/{LONG}"], {}, "output directory"),
    (["history", "--config", f"/tmp/{LONG}"], {}, "--config"),
    (["history", "--config", "asv.conf.json", "--results", f"/tmp/{LONG}"], {}, "--results"),
    (["report", "DIR", "--json", f"/tmp/{LONG}/x.json"], {}, "--json"),
    (["train", "--method", "dense", "--out", f"/tmp/{'a/' * 2100}x"], {}, "--out: the path is 4,206 bytes long"),
])
def test_a_path_too_long_for_the_system_is_one_line(tmp_path, cli, monkeypatch, args, env, words):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    args = [str(tmp_path / "out") if a == "OUT" else str(tmp_path) if a == "DIR" else str(ROOT / a) if a == "asv.conf.json" else a for a in args]
    assert_one_line_error(cli(*args), words)
    assert not (tmp_path / "out").exists()


# --- 4. asv results and configurations: read within limits, checked before asv's format is trusted


def results_file(repo: Path, machine: str = "cpu-2thread", i: int = 1) -> Path:
    return repo / ".asv" / "results" / machine / f"{commits(repo)[i][:8]}-virtualenv-py3.11.json"


def edited(path: Path, change) -> None:
    record = json.loads(path.read_text())
    change(record)
    path.write_text(json.dumps(record))


def row(record: dict) -> list:
    return record["results"][TIME]


@pytest.mark.parametrize(("change", "words"), [
    (lambda p: results_file(p).write_bytes(b'{"a": "\xff"}'), "is not valid JSON"),
    (lambda p: results_file(p).write_text('{"version": ' + "9" * 5000 + "}"), "an integer of more than 4,300 digits"),
    (lambda p: results_file(p).write_text("[" * 100_000 + "]" * 100_000), "nests deeper than 32 levels"),
    (lambda p: edited(results_file(p), lambda r: r.update(version="2")), "field 'version'"),
    (lambda p: edited(results_file(p), lambda r: r.update(params=[1])), "field 'params'"),
    (lambda p: edited(results_file(p), lambda r: r["params"].update(machine=["m"])), "field 'params.machine'"),
    (lambda p: edited(results_file(p), lambda r: r["params"].update(machine="other")), "not its folder's machine"),
    (lambda p: edited(results_file(p), lambda r: r["params"].update(cpu={"a": 1})), "field 'params.cpu'"),
    (lambda p: edited(results_file(p), lambda r: r.update(date="yesterday")), "field 'date'"),
    (lambda p: edited(results_file(p), lambda r: r.update(results=[1])), "field 'results'"),
    (lambda p: edited(results_file(p), lambda r: row(r).__setitem__(0, ["fast", "slow"])), f"field 'results.{TIME}.result"),
    (lambda p: edited(results_file(p), lambda r: row(r).__setitem__(1, 5)), f"field 'results.{TIME}.params'"),
    (lambda p: edited(results_file(p), lambda r: r.update(commit_hash=5)), "field 'commit_hash'"),
    (lambda p: edited(results_file(p), lambda r: r.update(env_name=5)), "field 'env_name'"),
    (lambda p: edited(results_file(p), lambda r: r.update(result_columns="result")), "field 'result_columns'"),
    (lambda p: (p / ".asv/results/benchmarks.json").write_bytes(b'{"version": 2, "x": "\xff"}'), "benchmarks.json is not valid JSON"),
    (lambda p: edited(p / ".asv/results/benchmarks.json", lambda r: r.update(version="2")), "field 'version'"),
    (lambda p: edited(p / ".asv/results/benchmarks.json", lambda r: r[TIME].update(param_names=3)), f"field 'benchmarks.{TIME}.param_names'"),
    (lambda p: (p / ".asv/results/cpu-2thread/machine.json").write_text("[1]"), "machine.json: the top level must be a JSON object"),
])
@pytest.mark.parametrize("command", [["history"], ["compare-profiles", "cpu-2thread", "cpu-1thread"]])
def test_a_crafted_asv_results_file_is_one_line_naming_it(project, capsys, change, words, command):  # noqa: F811
    record_history(project)
    write_result(project / ".asv" / "results", "cpu-1thread", commits(project)[0], 1, {TIME: [0.02, 0.02]})
    change(project)
    code, _, err = run_cli(*command, cwd=project, capsys=capsys)
    assert_one_line_error(CliResult(code, "", err), ".asv/results/", words)


@pytest.mark.parametrize("special", ["fifo", "/dev/zero", "outside", "machine folder outside", "sparse", "sparse index", "index fifo"])
def test_special_and_outside_asv_files_are_refused_unread(project, capsys, tmp_path, special):  # noqa: F811
    """A FIFO would block `history` forever, /dev/zero or a sparse file would be read whole, a link
    out of the folder would show what it points at."""
    record_history(project)
    target, outside = results_file(project), tmp_path / "outside"
    shutil.copytree(target.parent, outside)
    (outside / target.name).write_text(json.dumps({"SECRET": "outside"}))
    if special == "machine folder outside":
        shutil.rmtree(target.parent)
        target.parent.symlink_to(outside)
    elif special in ("sparse", "sparse index"):
        os.truncate(target if special == "sparse" else target.parents[1] / "benchmarks.json", 3 << 30)
    else:
        target = target.parents[1] / "benchmarks.json" if special == "index fifo" else target
        target.unlink()
        os.mkfifo(target) if "fifo" in special else target.symlink_to(special if special.startswith("/") else outside / target.name)
    result = run_limited([PY, "-m", "dropbench", "history"], cwd=project, timeout=60)
    assert_one_line_error_process(result, ".asv/results/")
    assert "SECRET" not in result.stderr and "outside" not in result.stderr.split("results/")[-1]


def test_a_path_among_the_machine_facts_is_never_opened_as_a_profile(project, capsys, tmp_path):  # noqa: F811
    """dropbench_profile must be a profile's plain name; a machine's name stands for its profile
    only as such a name, never as a file."""
    (project / "evil.json").write_text(json.dumps({"name": "evil", "device": "cpu", "threads": 1, "description": "OUTSIDE"}))
    record_history(project)
    edited(results_file(project), lambda r: r["params"].update(dropbench_profile=str(project / "evil.json")))
    code, _, err = run_cli("compare-profiles", "cpu-2thread", "cpu-2thread", cwd=project, capsys=capsys)
    assert_one_line_error(CliResult(code, "", err), "field 'params.dropbench_profile'")
    record_history(project)
    write_result(project / ".asv" / "results", "evil.json", commits(project)[0], 1, {TIME: [0.02, 0.02]})
    code, _, err = run_cli("compare-profiles", "cpu-2thread", "evil.json", cwd=project, capsys=capsys)
    assert_one_line_error(CliResult(code, "", err), "unknown profile 'evil.json'")
    assert "OUTSIDE" not in err


def test_asv_machine_refuses_a_machine_folder_linked_out_of_the_results(monkeypatch, tmp_path, cli):
    monkeypatch.setenv("HOME", str(tmp_path))
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "machine.json").write_text(json.dumps({"machine": "m", "cpu": "SECRET CPU", "version": 1}))
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "m").symlink_to(outside)
    result = cli("asv-machine", "cpu-1thread", "--name", "m", "--results", tmp_path / "results")
    assert_one_line_error(result, "is a symbolic link")
    assert "SECRET" not in result.err and not (tmp_path / ".asv-machine.json").exists()


@pytest.mark.parametrize(("config", "words"), [
    ({"regressions_thresholds": {".*": "big"}}, "field 'regressions_thresholds..*'"),
    ({"regressions_thresholds": [0.1]}, "field 'regressions_thresholds'"),
    ({"regressions_thresholds": {".*": float("nan")}}, "finite number"),
    ({"regressions_thresholds": {"(": 0.1}}, "'(' is not a regular expression"),
    ({"results_dir": 5}, "field 'results_dir'"),
    ({"benchmark_dir": ["benchmarks"]}, "field 'benchmark_dir'"),
    ({"version": "1"}, "field 'version'"),
    ({"results_dir": "x" * 300}, "field 'results_dir'"),
    ({"results_dir": "y" * 256}, "results_dir: the name 'yyyy"),
])
def test_a_wrong_asv_configuration_is_one_line_naming_the_field(project, capsys, config, words):  # noqa: F811
    record_history(project)
    (project / "asv.conf.json").write_text(json.dumps({"version": 1, "repo": ".", "results_dir": ".asv/results", **config}))
    for command in (["history"], ["compare-profiles", "cpu-2thread", "cpu-2thread"]):
        code, _, err = run_cli(*command, cwd=project, capsys=capsys)
        assert_one_line_error(CliResult(code, "", err), "asv.conf.json", words)


@pytest.mark.parametrize("text", ["[" * 100_000 + "]" * 100_000, '{"version": 1, "x": ' + "9" * 5000 + "}", "{"])
def test_an_unreadable_asv_configuration_is_one_line(project, capsys, text):  # noqa: F811
    (project / "asv.conf.json").write_text(text)
    code, _, err = run_cli("history", cwd=project, capsys=capsys)
    assert_one_line_error(CliResult(code, "", err), "asv.conf.json")


@pytest.mark.parametrize("kind", ["not json", "a list", "a fifo", "a directory", "a link"])
def test_asv_machine_reads_its_machine_file_within_limits_and_replaces_it_whole(monkeypatch, tmp_path, cli, kind):
    """asv's own save blocked on a FIFO, wrote through a link and raised on anything but a JSON object."""
    monkeypatch.setenv("HOME", str(tmp_path))
    path, target = tmp_path / ".asv-machine.json", tmp_path / "target.json"
    target.write_text("{}")
    {"not json": lambda: path.write_text("{"), "a list": lambda: path.write_text("[1]"), "a fifo": lambda: os.mkfifo(path),
     "a directory": path.mkdir, "a link": lambda: path.symlink_to(target)}[kind]()
    assert_one_line_error(cli("asv-machine", "cpu-1thread", "--results", tmp_path / "results"), str(path))
    assert target.read_text() == "{}"
    path.unlink() if not path.is_dir() or path.is_symlink() else path.rmdir()
    path.write_text(json.dumps({"other": {"machine": "other"}, "version": 1}))
    assert cli("asv-machine", "cpu-1thread", "--results", tmp_path / "results").code == 0
    assert "other" in json.loads(path.read_text()) and len(json.loads(path.read_text())) == 3


# --- 5. cluster estimate: node counts bounded, and no slot made for a worker without a task


@pytest.mark.parametrize("nodes", [",".join(["100000"] * 100), ",".join(map(str, range(1, 66))), "10001", "0"])
def test_cluster_estimate_refuses_node_counts_past_its_bounds(tmp_path, cli, nodes):
    out = write_timed_output(tmp_path / "out")
    assert_one_line_error(cli("cluster", "estimate", out, "--nodes", nodes), "argument --nodes", "1 to 64", "from 1 to 10000")


def test_the_largest_estimate_allowed_answers_at_once(tmp_path, cli):
    """64 counts of 10,000 nodes x 1,024 workers: ten billion slots each, were they all made."""
    result = cli("cluster", "estimate", write_timed_output(tmp_path / "out"), "--nodes", ",".join(["10000"] * 64), "--cpus-per-node", "1024")
    assert result.code == 0, result.err
    assert result.out.count("1.00x") == 64  # one row per count, each as fast as the first


# --- 6. the stability script's --compare reads claims files as `dropbench report` does


@pytest.mark.parametrize(("bad", "words"), [
    ("missing", "does not exist"),
    ("not json", "cannot be read as JSON"),
    ("an object", "is not a list of records"),
    ("a record without its verdict", "record 0: field 'verdict': Field required"),
    ("a record of the wrong shape", "record 0: field 'ci'"),
    ("a fifo", "not a regular file"),
    ("a directory", "not a regular file"),
    ("/dev/zero", "symbolic link"),
    ("--out is a file", "--out"),
])
def test_the_stability_script_compares_only_claims_files(tmp_path, bad, words):
    good = tmp_path / "good.json"
    good.write_text(json.dumps([CLAIM]))
    path, out = tmp_path / "bad.json", tmp_path / "out"
    out.mkdir()
    (out / "stability.json").write_text("earlier")
    if bad == "not json":
        path.write_text("[{")
    elif bad == "an object":
        path.write_text(json.dumps(CLAIM))
    elif bad.startswith("a record"):
        path.write_text(json.dumps([{k: v for k, v in CLAIM.items() if k != "verdict"} if "verdict" in bad else {**CLAIM, "ci": "wide"}]))
    elif bad == "a fifo":
        os.mkfifo(path)
    elif bad == "a directory":
        path.mkdir()
    elif bad == "/dev/zero":
        path.symlink_to(bad)
    elif bad == "--out is a file":
        path, out = good, good
    script = ROOT / "benchmarks" / "stability" / "run.py"
    result = run_limited([PY, str(script), "--out", str(out), "--compare", str(good), str(path)], timeout=60)
    assert_one_line_error_process(result, words)
    assert (tmp_path / "out" / "stability.json").read_text() == "earlier" and json.loads(good.read_text()) == [CLAIM]


@pytest.mark.parametrize(("args", "words"), [
    (["--threads", "two"], "argument --threads"),
    (["--seed-lists", "0,0"], "argument --seed-lists: seeds must be distinct"),
    (["--profile", "nope"], "unknown profile 'nope'"),
    (["--bogus"], "unrecognized arguments"),
])
def test_the_stability_script_checks_its_options_before_any_run(tmp_path, args, words):
    script = ROOT / "benchmarks" / "stability" / "run.py"
    assert_one_line_error_process(run_limited([PY, str(script), "--out", str(tmp_path / "out"), *args], timeout=60), words)
    assert not (tmp_path / "out").exists()
