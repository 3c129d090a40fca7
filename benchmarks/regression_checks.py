"""Does the regression gate cry wolf, does it catch a real slowdown, and can `asv find` locate one?

    .venv/bin/python benchmarks/regression_checks.py gate [--runs 5] [--factor 1.15]
    .venv/bin/python benchmarks/regression_checks.py find [--commits 16] [--planted 11]

Both work in a throwaway clone of this repository (yours is not touched; the environments are
shared with this checkout's .asv/env) and plant the same slowdown: every training step 30 %
slower (train.train_step spins for 0.3x the time the step took). Nothing else may run meanwhile
(docs/asv.md, "The gate" and "Finding the commit").

`gate` makes two commits on top of HEAD: one that changes nothing dropbench runs (an A/A pair:
built and timed apart, the same code) and the planted one; it runs `dropbench gate` of HEAD
against each, alternately, `--runs` times, and prints each run's verdict and wall time. Wanted:
the A/A runs all pass, the planted runs all fail.

`find` adds `--commits` commits on top of HEAD, each changing only a text file, the slowdown
planted in commit `--planted`, runs plain `asv find` over them on one figure (a dense MLP
training step, the ci plan) and prints the commit it names, whether that is the planted one,
how many commits asv built and timed, and the wall time.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIGURE = r"training\.TrainingStep\.time_step\('dense', 'mlp'\)"  # what `find` follows

PLANTED = '''

_unplanted_train_step = train_step


def train_step(*args, **kwargs):  # planted by benchmarks/regression_checks.py: 30 % slower
    import time as _time

    start = _time.perf_counter()
    out = _unplanted_train_step(*args, **kwargs)
    end = start + 1.3 * (_time.perf_counter() - start)
    while _time.perf_counter() < end:
        pass
    return out
'''


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


def clone(tmp: Path) -> tuple[Path, str]:
    """A throwaway clone of this repository sharing its asv environments; (its path, HEAD)."""
    repo = tmp / "repo"
    subprocess.run(["git", "clone", "--quiet", "--shared", str(ROOT), str(repo)], check=True)
    (repo / ".asv").mkdir(exist_ok=True)
    (repo / ".asv" / "env").symlink_to(ROOT / ".asv" / "env")
    for key, value in (("user.name", "regression check"), ("user.email", "regression@check")):
        git(repo, "config", key, value)
    return repo, git(repo, "rev-parse", "HEAD")


def plant_slowdown(repo: Path) -> None:
    with open(repo / "src" / "dropbench" / "train.py", "a") as f:
        f.write(PLANTED)


def throwaway_clone(tmp: Path) -> tuple[Path, str, str, str]:
    """A clone with HEAD as `base`, an A/A commit and a planted-slowdown commit, each on base."""
    repo, base = clone(tmp)
    git(repo, "commit", "--quiet", "--allow-empty", "-m", "A/A: nothing changed")
    same = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "--quiet", base)
    plant_slowdown(repo)
    git(repo, "commit", "--quiet", "-am", "planted: every training step 30 % slower")
    planted = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "--quiet", base)
    return repo, base, same, planted


def clone_with_history(tmp: Path, commits: int, planted: int) -> tuple[Path, str, str]:
    """A clone with `commits` commits on HEAD, the slowdown planted in commit number `planted`."""
    repo, base = clone(tmp)
    slow = ""
    for i in range(1, commits + 1):
        with open(repo / "find-check.txt", "a") as f:
            f.write(f"commit {i}\n")
        if i == planted:
            plant_slowdown(repo)
        git(repo, "add", "-A")
        git(repo, "commit", "--quiet", "-m", f"find check: commit {i}" + (" (planted: training steps 30 % slower)" if i == planted else ""))
        slow = git(repo, "rev-parse", "HEAD") if i == planted else slow
    return repo, base, slow


def check_gate(args: argparse.Namespace) -> None:
    from dropbench.history import load_project
    from dropbench.recording import gate

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        repo, base, same, planted = throwaway_clone(Path(tmp))
        project = load_project(repo / "asv.conf.json")
        for i in range(args.runs):
            for kind, head in (("A/A", same), ("planted 30 %", planted)):
                start = time.perf_counter()
                status = gate(project, base, head, args.profile, factor=args.factor)
                rows.append((i + 1, kind, "fails" if status else "passes", time.perf_counter() - start))
                print(f"gate check: run {i + 1}, {kind}: {rows[-1][2]} in {rows[-1][3]:.0f} s", file=sys.stderr, flush=True)
    print(f"\nfactor {args.factor}, profile {args.profile}")
    print(f"{'run':>4} {'pair':<14} {'gate':<7} {'seconds':>8}")
    for run, kind, verdict, seconds in rows:
        print(f"{run:>4} {kind:<14} {verdict:<7} {seconds:>8.0f}")
    false_alarms = sum(kind == "A/A" and verdict == "fails" for _, kind, verdict, _ in rows)
    caught = sum(kind != "A/A" and verdict == "fails" for _, kind, verdict, _ in rows)
    print(f"A/A false alarms: {false_alarms}/{args.runs}; planted slowdown caught: {caught}/{args.runs}")


def check_find(args: argparse.Namespace) -> None:
    from dropbench.machines import register_machine

    if not 1 <= args.planted <= args.commits:
        sys.exit(f"error: --planted must be between 1 and --commits ({args.commits})")
    with tempfile.TemporaryDirectory() as tmp:
        repo, base, slow = clone_with_history(Path(tmp), args.commits, args.planted)
        machine, _ = register_machine(args.profile, repo / ".asv" / "results")
        env = {**os.environ, "DROPBENCH_PROFILE": args.profile, "DROPBENCH_PLAN": "ci"}
        command = [sys.executable, "-m", "asv", "find", "--config", str(repo / "asv.conf.json"), "--machine", machine,
                   f"{base}..HEAD", FIGURE]
        print("$", " ".join(command[1:]), file=sys.stderr, flush=True)
        start = time.perf_counter()
        out = subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True).stdout
        seconds = time.perf_counter() - start
    sys.stderr.write(out)
    found = re.search(r"Greatest regression found: (\w+)", out)
    named = found.group(1) if found else "none"
    print(f"\n{args.commits} commits, slowdown planted in commit {args.planted} ({slow[:8]})")
    print(f"asv find named {named}: {'the planted commit' if slow.startswith(named) else 'NOT the planted commit'}")
    print(f"commits built and timed: {len(re.findall(r'For dropbench commit', out))}; wall time {seconds:.0f} s")


def main() -> None:
    # dropbench is imported in the checks, not here: asv imports every module of benchmarks/
    # against each commit it times, and older commits have no dropbench.recording
    from dropbench.recording import GATE_FACTOR

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="check", required=True)
    p = sub.add_parser("gate", help="A/A and planted-slowdown runs of dropbench gate")
    p.add_argument("--runs", type=int, default=5, help="gate runs of each kind (default 5)")
    p.add_argument("--factor", type=float, default=GATE_FACTOR, help=f"the gate's factor (default {GATE_FACTOR})")
    p.set_defaults(func=check_gate)
    p = sub.add_parser("find", help="asv find over a history with a planted slowdown")
    p.add_argument("--commits", type=int, default=16)
    p.add_argument("--planted", type=int, default=11, help="which of the commits slows down (1 = the first)")
    p.set_defaults(func=check_find)
    for p in sub.choices.values():
        p.add_argument("--profile", default="cpu-2thread")
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
