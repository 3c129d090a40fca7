"""`dropbench reproduce --cluster ...` from the command line: profiles side by side, and bad input.

Each test that needs Ray starts its own cluster (in-process for `local:N`, `ray start` for a
joined one) and stops it before the next.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import psutil
import pytest

from conftest import TINY_RUNS, assert_one_line_error, write_plan


@pytest.fixture
def previous_output(tmp_path):
    """An earlier dropbench output that a failed --force run must leave exactly as it was."""
    out = tmp_path / "out"
    out.mkdir()
    (out / ".dropbench-output").touch()
    (out / "claims.json").write_text("[]")
    return out


def free_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def assert_untouched(out) -> None:
    assert sorted(p.name for p in out.iterdir()) == [".dropbench-output", "claims.json"] and (out / "claims.json").read_text() == "[]"
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no staging leftovers


def test_reproduce_on_a_local_cluster_times_each_profile_and_reports_them_side_by_side(tmp_path, cli):
    bindings = {"gomez2019-pruning": {"targeted": "magnitude-unit", "dropout": "dense", "dense": "dense", "regulariser": "dense"}}
    plan = write_plan(tmp_path / "plan.toml", TINY_RUNS, min_seeds=1, claims=bindings)
    out = tmp_path / "repro"
    result = cli("reproduce", "--plan", plan, "--out", out, "--profiles", "cpu-1thread,cpu-2thread", "--cluster", "local:2", "--quiet")
    assert result.code == 0, result.err
    assert "timed on cpu-1thread, cpu-2thread" in result.out
    claims = json.loads((out / "claims.json").read_text())
    ids = {c["id"] for c in claims}
    assert len(ids) == 1 and sorted((c["id"], c["profile"]) for c in claims) == sorted((i, p) for i in ids for p in ("cpu-1thread", "cpu-2thread"))
    for name in ("bench", "speedups"):
        records = json.loads((out / f"{name}.json").read_text())
        assert {r["profile"] for r in records} == {"cpu-1thread", "cpu-2thread"}
    speedups = json.loads((out / "speedups.json").read_text())
    assert all(s["candidate_timing"]["median_s"] > 0 for s in speedups)
    assert sorted(p.name for p in (out / "runs").iterdir()) == ["dense", "dense.seed1", "magnitude-unit"]
    page = (out / "report.html").read_text()
    assert "Profiles side by side" in page and "Speedups on cpu-2thread" in page and page.count("<svg") >= 3


def test_ray_not_installed_is_one_line_naming_the_extra(tmp_path, cli, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    assert_one_line_error(cli("reproduce", "--quick", "--out", tmp_path / "out", "--cluster", "local:2"), 'pip install -e ".[cluster]"')
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("address, fragment", [
    ("local:0", "N in local:N must be a number of workers from 1"),
    ("nowhere", "is not a cluster address; expected local:N"),
    ("127.0.0.1:99999", "is not a cluster address"),
])
def test_a_malformed_cluster_address_is_one_line(previous_output, cli, address, fragment):
    assert_one_line_error(cli("reproduce", "--quick", "--out", previous_output, "--force", "--cluster", address), fragment)
    assert_untouched(previous_output)


def test_an_unreachable_cluster_is_one_line(previous_output, cli):
    port = free_port()
    result = cli("reproduce", "--quick", "--out", previous_output, "--force", "--cluster", f"127.0.0.1:{port}")
    assert_one_line_error(result, f"cannot reach the Ray cluster at 127.0.0.1:{port}")
    assert_untouched(previous_output)


@pytest.mark.parametrize("args, fragments", [
    (["--profiles", "cpu-2thread,nope"], ["unknown profile 'nope'"]),
    (["--profiles", "cpu-2thread,gpu-h100"], ["no node in the cluster advertises profile 'gpu-h100'", "dropbench cluster node --profile gpu-h100"]),
    (["--train-threads", "8"], ["a training task asks for 8 CPUs, but the largest node of the cluster has 2"]),
], ids=["unknown-profile", "profile-no-node-advertises", "training-task-no-node-can-hold"])
def test_what_the_local_cluster_cannot_do_is_one_line(previous_output, cli, args, fragments):
    result = cli("reproduce", "--quick", "--out", previous_output, "--force", "--cluster", "local:2", *args)
    assert_one_line_error(result, *fragments)
    assert_untouched(previous_output)


def test_a_joined_node_too_small_for_its_profile_is_one_line(previous_output, cli):
    """`dropbench cluster node --head` starts a real node; a profile it cannot time is refused before any work."""
    port = free_port()
    started = cli("cluster", "node", "--head", "--port", port, "--profile", "cpu-2thread", "--num-cpus", "1")
    try:
        assert started.code == 0, started.err
        result = cli("reproduce", "--quick", "--out", previous_output, "--force", "--cluster", f"127.0.0.1:{port}", "--profiles", "cpu-2thread")
        assert_one_line_error(result, "advertises profile 'cpu-2thread', which needs 2 CPUs, but has 1 CPUs")
        assert_untouched(previous_output)
    finally:
        subprocess.run([os.path.join(os.path.dirname(sys.executable), "ray"), "stop", "--force"], capture_output=True, timeout=60)


def test_ctrl_c_cancels_the_tasks_and_leaves_the_output_as_it_was(previous_output, tmp_path):
    env = {**os.environ, "DROPBENCH_CACHE": str(tmp_path / "cold-cache")}
    args = [sys.executable, "-m", "dropbench", "reproduce", "--quick", "--out", str(previous_output), "--force", "--cluster", "local:2"]
    # SIGINT at its default in the driver: a shell's background job inherits it ignored, and Python keeps it so
    restore_sigint = lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)  # noqa: E731
    driver = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=restore_sigint)
    training = lambda: [p for p in psutil.process_iter(["cmdline"]) if (p.info["cmdline"] or [""])[0].startswith("ray::train_")]  # noqa: E731
    deadline = time.monotonic() + 60
    while not training() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert training(), "no training task started"
    driver.send_signal(signal.SIGINT)
    _, err = driver.communicate(timeout=60)
    assert driver.returncode == 130 and "interrupted" in err and "Traceback" not in err
    assert_untouched(previous_output)
    deadline = time.monotonic() + 20
    while training() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not training(), "a training task outlived Ctrl-C"


def test_without_cluster_ray_is_never_imported(tmp_path):
    """A whole reproduce (a one-run plan) in a fresh interpreter, then a look at what it imported."""
    plan = write_plan(tmp_path / "plan.toml", TINY_RUNS[:1])
    code = (
        f"import sys; from dropbench.cli import main; code = main(['reproduce', '--plan', {str(plan)!r}, '--out', {str(tmp_path / 'out')!r}, "
        "'--profile', 'cpu-1thread', '--quiet']); "
        "print(code, 'ray' in sys.modules)"
    )
    env = {**os.environ, "DROPBENCH_CACHE": str(tmp_path / "cache")}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert result.stdout.split()[-2:] == ["0", "False"], result
    assert (tmp_path / "out" / "report.html").is_file()


def test_makespan_packs_longest_first():
    from dropbench.cluster.estimate import makespan

    assert makespan([10, 1, 1], 4) == 10  # the longest task bounds it
    assert makespan([1] * 8, 2) == 4
    assert makespan([3, 3, 2, 2, 2], 2) == 7  # LPT's textbook worst case on 2 workers (the best packing: 6)


def test_cluster_estimate_reads_a_reproduce_output(tmp_path, cli):
    for i, seconds in enumerate([40, 30, 20, 10]):
        (tmp_path / "runs" / f"r{i}").mkdir(parents=True)
        (tmp_path / "runs" / f"r{i}" / "manifest.json").write_text(json.dumps({"train": {"seconds": seconds}}))
    (tmp_path / "reproduce.json").write_text(json.dumps({"stages": {"train": 100, "export + copy": 6, "time + claims": 54}}))
    result = cli("cluster", "estimate", tmp_path, "--nodes", "1,2", "--cpus-per-node", "1")
    assert result.code == 0, result.err
    rows = [line.split("│")[1:-1] for line in result.out.splitlines() if line.startswith("│")]
    assert [[cell.strip() for cell in row] for row in rows[-2:]] == [
        ["1", "1", "1.7 min", "1.0 min", "2.7 min", "1.00x"],
        ["2", "2", "0.8 min", "1.0 min", "1.8 min", "1.45x"],
    ]
    (tmp_path / "reproduce.json").unlink()
    assert_one_line_error(cli("cluster", "estimate", tmp_path), "reproduce.json is missing", "--other-seconds")


def test_cluster_estimate_of_a_plan_times_a_few_steps_of_each_run(tmp_path, cli):
    plan = write_plan(tmp_path / "plan.toml", TINY_RUNS, min_seeds=1)
    result = cli("cluster", "estimate", "--plan", plan, "--nodes", "1,2", "--cpus-per-node", "1", "--steps", "2", "--other-seconds", "60")
    assert result.code == 0, result.err
    timed = [line for line in result.err.splitlines() if line.startswith("timed ")]
    assert [line.split(":")[0] for line in timed] == ["timed dense", "timed magnitude-unit"]
    assert "x 2 seed(s)" in timed[0] and "x 1 seed(s)" in timed[1]  # 1,257 digits / 64 = 20 steps x 2 epochs
    assert "x 40 steps" in timed[0]
    rows = [[cell.strip() for cell in line.split("│")[1:-1]] for line in result.out.splitlines() if line.startswith("│")]
    assert [row[:2] + row[3:4] for row in rows[-2:]] == [["1", "1", "1.0 min"], ["2", "2", "1.0 min"]]


def test_cluster_estimate_of_the_paper_plan_needs_no_data(monkeypatch):
    """idx:DIR that is not here is timed as the full MNIST's shape and size."""
    from dropbench.cluster.estimate import FULL_MNIST_IMAGES, timed_data

    data, note = timed_data("idx:/nonexistent/mnist")
    assert len(data.train) == FULL_MNIST_IMAGES * 9 // 10 and data.input_shape == (1, 28, 28) and "full MNIST (60,000" in note


@pytest.mark.parametrize("args, fragment", [
    (["--plan", "nope"], "nope does not exist"),
    (["--plan", "quick", "--nodes", "0"], "node counts from 1"),
    (["--plan", "quick", "out"], "give a reproduce output DIR or --plan"),
    ([], "give a reproduce output DIR or --plan"),
    (["--plan", "quick", "--slowdown", "2"], "--slowdown scales a reproduce output"),
])
def test_cluster_estimate_bad_input_is_one_line(cli, args, fragment):
    assert_one_line_error(cli("cluster", "estimate", *args), fragment)


def test_a_node_joining_an_unreachable_head_is_one_line(cli):
    port = free_port()
    assert_one_line_error(cli("cluster", "node", "--address", f"127.0.0.1:{port}", "--profile", "cpu-1thread"), "cannot reach the Ray cluster")
    assert_one_line_error(cli("cluster", "node", "--profile", "cpu-1thread"), "give either --head (start a cluster) or --address")
    assert_one_line_error(cli("cluster", "node", "--head", "--profile", "gpu-h100"), "needs CUDA")
