"""Do the verdicts come out the same when the same plan runs again? The quick plan's claims are
checked several times, each in a fresh process with nothing else running: on disjoint seed lists
and with one and two training threads. Prints, per claim, the verdict of every run, the hard
flips (holds <-> fails), the soft flips (to or from inconclusive) and how often each speed
estimate lies inside the other runs' intervals; writes OUT/stability.json.

Every run trains its seeds (cached per seed and per thread count: `claims --train-threads` sets
each training's threads, one thread trains two seeds side by side on 2 cores; timing takes the
profile's own), so a first run takes as long as the quick plan's training per seed list.
Nothing else may run meanwhile.

    .venv/bin/python benchmarks/stability/run.py --out results/stability [--seed-lists 0,1/2,3/4,5] [--threads 1,2]
    .venv/bin/python benchmarks/stability/run.py --out results/stability --compare a/claims.json b/claims.json
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from dropbench.claims.stability import compare_runs, table_rows
from dropbench.cli.options import EXIT_USER_ERROR, THREADS, Parser, seed_list
from dropbench.console import error
from dropbench.errors import DropbenchError
from dropbench.fsutil import atomic_write_json, check_output_file
from dropbench.outputs import read_claims
from dropbench.profiles import load_profile


def check_claims(out: Path, seed_list: tuple[int, ...], threads: int, profile: str) -> Path:
    """`dropbench claims --quick` in a fresh process; its records go to OUT/claims-s<seeds>-t<threads>.json."""
    seeds = ",".join(map(str, seed_list))
    path = out / f"claims-s{seeds.replace(',', '_')}-t{threads}.json"
    env = {**os.environ, "DROPBENCH_CACHE": str(out / f"cache-t{threads}")}
    command = [sys.executable, "-m", "dropbench", "claims", "--quick", "--seeds", seeds, "--train-threads", str(threads), "--profile", profile,
               "--json", str(path), "--quiet"]
    start = time.perf_counter()
    if subprocess.run(command, env=env, stdout=subprocess.DEVNULL).returncode:  # its own error line is above
        raise DropbenchError(f"`dropbench claims` with seeds {seeds} and {threads} training thread(s) failed; no stability table")
    print(f"seeds {seeds}, {threads} training thread(s): {time.perf_counter() - start:.0f} s", flush=True)
    return path


def main() -> int:
    parser = Parser(description=__doc__.splitlines()[0])  # dropbench's: a usage error is one line too
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed-lists", type=lambda text: [seed_list(one) for one in text.split("/")], default="0,1/2,3/4,5",
                        help="seed lists separated by '/' (default 0,1/2,3/4,5)")
    parser.add_argument("--threads", type=lambda text: [THREADS(one) for one in text.split(",")], default="1,2",
                        help="training thread counts (default 1,2)")
    parser.add_argument("--profile", default="cpu-2thread")
    parser.add_argument("--compare", nargs="+", type=Path, help="compare these claims.json files instead of running anything")
    try:
        stability(parser.parse_args())
    except DropbenchError as e:  # a claims file that is missing, not JSON or not records, an --out that cannot be written
        error(e)
        return EXIT_USER_ERROR
    return 0


def stability(args: argparse.Namespace) -> None:
    """Check the claims on every seed list and thread count (or read the claims files given), print the table, write OUT/stability.json."""
    check_output_file(args.out / "stability.json", "--out")  # the output and the profile before any claim is checked
    if not args.compare:
        load_profile(args.profile).require_available()
    args.out.mkdir(parents=True, exist_ok=True)
    files = args.compare or [check_claims(args.out, seeds, threads, args.profile) for threads in args.threads for seeds in args.seed_lists]
    runs = {str(path): read_claims(path) for path in files}  # bounded, each record checked against its schema
    rows = compare_runs(runs)
    print("runs: " + ", ".join(runs))
    header = ["claim", "verdicts", "hard flips", "soft flips", "timing estimates inside the others' intervals (a calibrated interval's share)"]
    for row in [header, *table_rows(rows)]:
        print(" | ".join(row))
    atomic_write_json(args.out / "stability.json", {"runs": list(runs), "claims": [r.as_dict() for r in rows]})


if __name__ == "__main__":
    sys.exit(main())
