"""Hostile or careless input, third round (issue 38): plans, the readers of JSON and TOML, paths
from options and the environment, asv results and configurations, `cluster estimate` and the
stability script end in success or one `error:` line, never hang, allocate without bound, read
outside files or lose what was written. One section per family of the issue; nothing trains."""

from __future__ import annotations

import pytest
from conftest import TINY_RUNS, assert_one_line_error, write_plan

from test_history import ROOT

from dropbench import suites
from dropbench.errors import ConfigError

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
