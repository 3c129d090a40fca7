"""Variance between processes and within one, for the quick plan's kubo and song-LSTM timings.

kubo: the dense net against a dropout-compaction net in onnxruntime at batch 64 (as the claim
times it); song-LSTM: a standard-dropout training step against an approximate-random one at
p = 0.5, batch 128. Each is timed in PROCESSES fresh processes of ROUNDS rounds each
(dropbench.timing.levels); the script prints the standard deviation of the log ratio within a
process and between processes, what a fresh process costs beside a round, and writes OUT.
Trains the runs it needs on first use (the run cache); nothing else may run meanwhile.

    .venv/bin/python benchmarks/stability/levels.py --out results/levels.json [--processes 6 --rounds 4]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cases import quick_plan_pairs
from dropbench.claims.context import TIMING_BATCH
from dropbench.fsutil import atomic_write_json
from dropbench.profiles import fingerprint, load_profile
from dropbench.timing.levels import variance_levels
from dropbench.timing.rounds import Round


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--processes", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--profile", default="cpu-2thread")
    parser.add_argument("--compaction-run", default="dropout-compaction-s2", help="the kubo sweep point to time (default dropout-compaction-s2)")
    args = parser.parse_args()
    profile = load_profile(args.profile)
    pairs = quick_plan_pairs(profile, args.compaction_run)
    cases = {
        f"kubo: dense / {args.compaction_run}, onnxruntime, batch {TIMING_BATCH}": Round(
            *pairs["kubo"], False, 1.0, 200, 0.05, profile.threads, profile.device,
        ),
        "song-LSTM: lstm-dropout / lstm-approximate-random step, p=0.5, batch 128": Round(
            *pairs["song-LSTM"], False, 2.0, 200, 0.05, profile.threads, profile.device,
        ),
    }
    results = {}
    for name, round_plan in cases.items():
        levels = variance_levels(round_plan, args.processes, args.rounds)
        results[name] = levels.as_dict()
        print(
            f"{name}: sd of the log ratio within a process {results[name]['within_sd_percent']:.2f} %, between processes "
            f"{results[name]['between_sd_percent']:.2f} %; a fresh process costs {levels.process_s:.2f} s beside a {levels.round_s:.2f} s round",
            flush=True,
        )
    atomic_write_json(args.out, {"cpu": fingerprint()["cpu"], "profile": profile.name, "processes": args.processes,
                                 "rounds": args.rounds, "cases": results})


if __name__ == "__main__":
    main()
