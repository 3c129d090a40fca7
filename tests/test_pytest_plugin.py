"""The pytest plugin, as a user meets it: a test file of their own, run by pytest in a subprocess
(so the plugin comes from dropbench's installed `pytest11` entry point)."""

from __future__ import annotations

import json
import textwrap

pytest_plugins = ["pytester"]

USER_TESTS = """
def test_small_is_fast(benchmark, dropbench_runner):
    benchmark(dropbench_runner({run!r}, runtime="onnxruntime", batch=8))


def test_eager(benchmark, dropbench_runner):
    benchmark(dropbench_runner({run!r}, runtime="torch-eager", batch=1))


def test_compiled(benchmark, dropbench_runner):
    benchmark(dropbench_runner({run!r}, runtime="torch-compile", batch=1))


def test_missing_model(benchmark, dropbench_runner):
    benchmark(dropbench_runner("no/such/model.onnx"))
"""


def test_user_benchmarks_carry_the_profile_and_the_machine(pytester, tiny_run, monkeypatch):
    monkeypatch.setenv("CXX", "no-such-c++-compiler")  # torch-compile cannot compile: its test is skipped with the reason
    pytester.makepyfile(test_user=textwrap.dedent(USER_TESTS.format(run=str(tiny_run))))
    result = pytester.runpytest_subprocess(
        "--dropbench-profile=cpu-1thread", "--benchmark-json=out.json", "--benchmark-min-rounds=3", "--benchmark-max-time=0.05",
        "-rs", "-p", "no:cacheprovider",
    )
    result.assert_outcomes(passed=2, skipped=1, failed=1)
    result.stdout.fnmatch_lines(["*dropbench: no/such/model.onnx does not exist*", "*SKIPPED*torch-compile needs a C++ compiler on CPU*"])
    assert "During handling" not in result.stdout.str()
    report = json.loads((pytester.path / "out.json").read_text())
    assert report["machine_info"]["dropbench"]["profile"]["name"] == "cpu-1thread"
    assert report["machine_info"]["dropbench"]["fingerprint"]["torch"].startswith("2.")
    extra = {b["name"]: b["extra_info"] for b in report["benchmarks"]}
    assert extra["test_small_is_fast"] == {"dropbench_profile": "cpu-1thread", "model": str(tiny_run), "runtime": "onnxruntime", "batch": 8, "compile_s": None}
    assert extra["test_eager"]["runtime"] == "torch-eager" and extra["test_eager"]["batch"] == 1


def test_another_profile_in_the_saved_run_is_said_in_one_line(pytester):
    """pytest-benchmark's own warning is both machine infos in full (kilobytes): one line instead."""
    pytester.makepyfile(test_user="def test_nothing(benchmark):\n    benchmark(lambda: None)\n")
    common = ["--benchmark-min-rounds=3", "--benchmark-max-time=0.01", "-p", "no:cacheprovider"]
    pytester.runpytest_subprocess("--dropbench-profile=cpu-1thread", "--benchmark-autosave", *common).assert_outcomes(passed=1)
    result = pytester.runpytest_subprocess("--dropbench-profile=cpu-2thread", "--benchmark-compare", *common)
    result.assert_outcomes(passed=1)
    out = result.stdout.str() + result.stderr.str()
    [line] = [line for line in out.splitlines() if "the saved run was timed on another machine or profile" in line]
    assert "profile: dropbench.profile.name: cpu-1thread -> cpu-2thread; " in line
    assert "dropbench.profile.threads: 1 -> 2" in line and len(line) < 600
    assert "machine_info is different" not in out


def test_machine_differences_lead_with_the_profile_and_count_the_rest():
    from dropbench.pytest_plugin import machine_differences

    saved = {"node": "a", "cpu": {"flags": ["x"] * 500}, "dropbench": {"profile": {"name": "cpu-1thread"}, "fingerprint": {"cpu": "AMD EPYC"}}}
    now = {"node": "b", "cpu": {"flags": ("y",)}, "dropbench": {"profile": {"name": "cpu-2thread"}, "fingerprint": {"cpu": "Intel Xeon"}}, "new": 1}
    line = machine_differences(saved, now)
    assert line.startswith("dropbench.profile.name: cpu-1thread -> cpu-2thread; dropbench.fingerprint.cpu: AMD EPYC -> Intel Xeon; cpu.flags: ")
    assert line.endswith("; and 1 more") and len(line) < 300
    assert machine_differences(saved, saved) == ""
