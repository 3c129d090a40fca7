"""The parser itself: options shared between commands, profile_from, and a start-up that imports no heavy module."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest
from conftest import assert_one_line_error

from dropbench.cli.options import profile_from
from dropbench.cli.parser import build_parser
from dropbench.plans.files import overridden, read_plan
from dropbench.plans.specs import run_specs
from dropbench.profiles import default_profile, load_profile

# the smallest valid arguments of each command that takes one --profile (cluster node takes several)
PROFILE_COMMANDS = {
    "bench": ["bench", "run"],
    "speedup": ["speedup", "a", "b"],
    "calibrate": ["calibrate", "run"],
    "train-speed": ["train-speed"],
    "claims": ["claims"],
    "reproduce": ["reproduce", "--out", "out"],
    "record-history": ["record-history"],
    "gate": ["gate", "HEAD~1"],
}


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return sub.choices


def test_every_command_with_one_profile_accepts_it():
    takes_profile = {name for name, p in _subcommands(build_parser()).items() if "--profile" in p._option_string_actions}
    assert takes_profile == set(PROFILE_COMMANDS)
    for argv in PROFILE_COMMANDS.values():
        assert build_parser().parse_args(argv).profile is None
        assert build_parser().parse_args([*argv, "--profile", "cpu-1thread"]).profile == "cpu-1thread"


def test_profile_from():
    assert profile_from(argparse.Namespace(profile=None)) == default_profile()
    assert profile_from(argparse.Namespace(profile="cpu-1thread")) == load_profile("cpu-1thread")


@pytest.mark.parametrize(
    "argv, min_time",
    [(["bench", "r"], 0.5), (["speedup", "a", "b"], 0.5), (["calibrate", "r"], 0.5), (["train-speed"], 2.0), (["claims"], 1.0)],
)
def test_shared_options_keep_each_commands_default(argv, min_time):
    args = build_parser().parse_args(argv)
    assert args.min_time == min_time
    assert args.json is None


def test_start_up_imports_no_heavy_module():
    code = (
        "import sys; from dropbench.cli.parser import build_parser; build_parser(); "
        "print(sorted({'torch', 'numpy', 'dropbench.profiles'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("command", [["claims"], ["reproduce", "--out", "out"]])
def test_seeds_parse_as_a_list(command):
    assert build_parser().parse_args([*command, "--seeds", "0,1,2,3,4"]).seeds == (0, 1, 2, 3, 4)
    assert build_parser().parse_args(command).seeds is None


@pytest.mark.parametrize(("seeds", "words"), [
    ("0,1,1", "seeds must be distinct"),
    ("-1,2", "seeds from 0 to"),
    (",".join(map(str, range(101))), "1 to 100 seeds"),
    ("a,b", "comma-separated seeds"),
    ("", "expected a value, got ''"),  # empty: an error, never the default
])
def test_bad_seeds_are_one_line_errors(cli, tmp_path, seeds, words):
    out = tmp_path / "out"
    assert_one_line_error(cli("reproduce", "--quick", f"--seeds={seeds}", "--out", out), words)
    assert not out.exists()  # nothing written


def test_seeds_give_every_verdict_run_the_seeds_and_timed_runs_the_first():
    quick = read_plan("quick")
    specs = {s.name: s for s in run_specs(overridden(quick, (3, 4, 5)))}
    assert specs["dense"].all_seeds() == (3, 4, 5) and specs["dropout-compaction-s1"].all_seeds() == (3, 4, 5)
    assert specs["magnitude-unit"].all_seeds() == (3,)  # timed only
    assert overridden(quick, None) == quick
    # seed 3 of a 3-seed plan is the same training (cache entry) as seed 3 of any other plan
    assert specs["dense"].per_seed()[0].key() == run_specs(overridden(quick, (3, 7)))[0].per_seed()[0].key()
