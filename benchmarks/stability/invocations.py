"""Variance between invocations: does an interval over one invocation's rounds cover the next one?

Times kubo's comparison (the dense net against dropout-compaction-s1 in onnxruntime at batch 64)
and song-LSTM's (a standard-dropout training step against an approximate-random one at p = 0.5,
batch 128) with ROUNDS rounds of 0.5 s (the claims' settings) in INVOCATIONS fresh interpreters,
one after another, and splits the spread of the log ratio into a part within an invocation and a
part between invocations (timing.levels.Levels). `--servers per-round` forks each round from a
server of its own, as `rounds.compare` does; `--servers one` forks every round from one server
(the design before); `both` alternates the two, invocation by invocation, so both see the same
stretch of the machine's time. Trains the runs it needs on first use (the run cache); nothing
else may run meanwhile.

    .venv/bin/python benchmarks/stability/invocations.py --out results/invocations.json [--invocations 6 --rounds 5 --servers both]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from cases import quick_plan_pairs
from dropbench.fsutil import atomic_write_json
from dropbench.profiles import fingerprint, load_profile
from dropbench.stats import geometric_mean
from dropbench.timing.levels import Levels
from dropbench.timing.rounds import compare

SERVERS = {"per-round": None, "one": 1}


def time_once(rounds: int, servers: int | None) -> dict[str, list[float]]:
    """One invocation: each comparison's per-round ratios (in this interpreter, rounds in fresh processes)."""
    profile = load_profile("cpu-2thread")
    cases = quick_plan_pairs(profile, "dropout-compaction-s1")
    return {name: compare(*pair, rounds=rounds, min_run_time=0.5, threads=profile.threads, device=profile.device, servers=servers).rounds
            for name, pair in cases.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path)
    parser.add_argument("--invocations", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--servers", choices=[*SERVERS, "both"], default="both")
    parser.add_argument("--child", choices=list(SERVERS), help=argparse.SUPPRESS)  # one invocation: print its ratios as JSON
    args = parser.parse_args()
    if args.child:
        print(json.dumps(time_once(args.rounds, SERVERS[args.child])))
        return
    if not args.out:
        parser.error("--out is required")
    if args.invocations < 2 or args.rounds < 2:
        parser.error("--invocations and --rounds must be at least 2: the spread is split between and within invocations")
    modes = list(SERVERS) if args.servers == "both" else [args.servers]
    ratios: dict[str, dict[str, list[list[float]]]] = {mode: {} for mode in modes}
    seconds: dict[str, list[float]] = {mode: [] for mode in modes}
    for i in range(args.invocations):
        for mode in modes:
            start = time.perf_counter()
            command = [sys.executable, __file__, "--child", mode, "--rounds", str(args.rounds)]
            result = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout.splitlines()[-1])
            seconds[mode].append(time.perf_counter() - start)
            for case, per_round in result.items():
                ratios[mode].setdefault(case, []).append(per_round)
            print(f"invocation {i + 1}, servers {mode}: " + ", ".join(f"{c} {geometric_mean(r):.3f}x" for c, r in result.items()), flush=True)
    summary = {mode: {case: _levels(rows) for case, rows in cases.items()} for mode, cases in ratios.items()}
    for mode, cases in summary.items():
        for case, figures in cases.items():
            print(f"servers {mode}, {case}: invocation means {figures['invocation_means']}; sd of the log ratio within an invocation "
                  f"{figures['within_sd_percent']:.1f} %, between invocations {figures['between_sd_percent']:.1f} %")
    atomic_write_json(args.out, {"cpu": fingerprint()["cpu"], "rounds": args.rounds, "invocations": args.invocations,
                                 "seconds": seconds, "ratios": ratios, "summary": summary})


def _levels(rows: list[list[float]]) -> dict:
    """Within and between invocations, as timing.levels splits within and between processes."""
    return {"invocation_means": [round(geometric_mean(r), 3) for r in rows], **Levels(rows, process_s=0.0, round_s=0.0).as_dict()}


if __name__ == "__main__":
    main()
