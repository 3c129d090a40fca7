"""The user's path through the CLI: train -> export -> onnxruntime parity -> bench, and reproduce."""

import json
import subprocess
import sys

from conftest import TINY_RUNS, assert_one_line_error, write_plan

from dropbench.checkpoint import load_checkpoint
from dropbench.plans.files import plan_sha256, read_plan


def test_train_export_bench(tmp_path, cli):
    run = tmp_path / "runs" / "mlp"
    trained = cli("train", "--method", "magnitude", "--set", "fraction=0.5", "--hidden", "32,16", "--epochs", "2", "--out", run, "--quiet")
    assert trained.code == 0, trained.err
    assert "saved" in trained.out and sorted(p.name for p in run.iterdir()) == [".dropbench-output", "manifest.json", "model.safetensors"]
    assert load_checkpoint(run).arch["widths"] == [64, 16, 8, 10]  # units physically removed

    exported = cli("export", run)
    assert exported.code == 0 and "max |diff|" in exported.out

    out_json = tmp_path / "bench.json"
    benched = cli("bench", run, "--profile", "cpu-1thread", "--min-time", "0.02", "--json", out_json)
    assert benched.code == 0, benched.err
    figures = json.loads(out_json.read_text())
    assert figures["profile"]["name"] == "cpu-1thread"
    combos = {(m["runtime"], m["batch"]) for m in figures["measurements"]}
    assert combos == {("torch-eager", 1), ("torch-eager", 64), ("onnxruntime", 1), ("onnxruntime", 64)}
    assert all(m["median_s"] > 0 for m in figures["measurements"])


def test_out_must_be_empty_unless_forced(tiny_run, tmp_path, cli):
    target = tmp_path / "taken"
    target.mkdir()
    (target / "precious.txt").write_text("mine")
    assert_one_line_error(cli("train", "--method", "dense", "--out", target, "--epochs", "1"), "--force")
    assert (target / "precious.txt").read_text() == "mine"
    assert_one_line_error(cli("train", "--method", "dense", "--out", target, "--epochs", "1", "--force"), "not a dropbench output")
    assert (target / "precious.txt").read_text() == "mine"
    (target / "precious.txt").unlink()
    assert cli("train", "--method", "dense", "--hidden", "8", "--out", target, "--epochs", "1", "--quiet").code == 0
    forced = cli("train", "--method", "dense", "--hidden", "8", "--out", target, "--epochs", "1", "--force", "--quiet")
    assert forced.code == 0 and (target / ".dropbench-output").is_file()


def test_unknown_names_are_one_line_errors(cli, tmp_path):
    out = tmp_path / "x"
    assert_one_line_error(cli("train", "--method", "nope", "--out", out), "unknown method 'nope'")
    assert_one_line_error(cli("train", "--method", "dense", "--model", "vgg", "--out", out), "unknown model 'vgg'")
    assert_one_line_error(cli("train", "--method", "dense", "--data", "imagenet", "--out", out), "unknown data set 'imagenet'")
    assert_one_line_error(cli("train", "--method", "dropout", "--set", "p=2", "--out", out), "p must be in")
    assert_one_line_error(cli("reproduce", "--out", out, "--profile", "nope"), "unknown profile 'nope'")
    assert not out.exists()


def test_console_script_has_no_traceback(tmp_path):
    result = subprocess.run([sys.executable, "-m", "dropbench", "bench", str(tmp_path / "missing")], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error:") and "Traceback" not in result.stderr


def test_reproduce_writes_runs_and_report(tmp_path, cli):
    # The real job with a two-run plan (the dense run with two seeds), so the test takes seconds.
    # the gomez claim bound to the tiny runs: a claim record goes through the whole path
    bindings = {"gomez2019-pruning": {"targeted": "magnitude-unit", "dropout": "dense", "dense": "dense", "regulariser": "dense"}}
    plan = write_plan(tmp_path / "plan.toml", TINY_RUNS, min_seeds=1, claims=bindings)
    out = tmp_path / "repro"
    result = cli("reproduce", "--plan", plan, "--out", out, "--profile", "cpu-1thread", "--quiet")
    assert result.code == 0, result.err
    for run in ("dense", "magnitude-unit"):
        assert {p.name for p in (out / "runs" / run).iterdir()} == {".dropbench-output", "manifest.json", "model.safetensors", "model.onnx"}
    assert {p.name for p in (out / "runs" / "dense.seed1").iterdir()} == {".dropbench-output", "manifest.json", "model.safetensors"}  # not timed, not exported
    speedups = json.loads((out / "speedups.json").read_text())
    assert {(s["runtime"], s["batch"]) for s in speedups} == {("torch-eager", 1), ("torch-eager", 64), ("onnxruntime", 1), ("onnxruntime", 64)}
    aa = [s for s in speedups if s["baseline"] == s["candidate"]]
    assert {(s["baseline"], s["runtime"], s["batch"]) for s in aa} == {("dense", r, b) for r in ("torch-eager", "onnxruntime") for b in (1, 64)}
    assert all(s["flop_ratio"] == 1 and len(s["rounds"]) == 3 for s in aa)  # the A/A calibration
    compared = [s for s in speedups if s not in aa]
    assert all(s["flop_ratio"] > 1 for s in compared)
    assert {(s["baseline"], s["candidate"]) for s in compared} == {("dense", "magnitude-unit")}
    assert all(s["candidate_timing"]["median_s"] > 0 for s in speedups)
    deployed = {"threads": 1, "ort_spinning": True, "one_model_per_process": True}  # every timing record says how it was timed
    bench = json.loads((out / "bench.json").read_text())
    assert all({k: r[k] for k in deployed} == deployed for r in speedups + bench)
    claims = json.loads((out / "claims.json").read_text())
    # pre-registration: the plan's hash in reproduce.json, the claim record and the report
    sha256 = plan_sha256(read_plan(str(plan)))
    record = json.loads((out / "reproduce.json").read_text())
    assert (record["plan"], record["plan_sha256"]) == ("tiny", sha256) and record["plan_spec"]["runs"][1]["name"] == "magnitude-unit"
    assert [(c["id"], c["setup"]["plan_sha256"]) for c in claims] == [("gomez2019-pruning", sha256)]
    html = (out / "report.html").read_text()
    assert sha256 in html
    assert "Timed with 1 thread, onnxruntime spinning on, each model alone in a process of its own." in html
    assert "magnitude-unit" in html and "Speedups" in html and "Timing calibration (A/A)" in html and "<script" not in html
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging leftovers
