"""Attainable peak FLOP/s and memory bandwidth of this machine on a profile's threads, the figures
a roofline needs (timing/peaks.py; timing/explain.py uses them when the profile names them).

    .venv/bin/python benchmarks/peaks.py --profile cpu-2thread [--write]

Prints both with their timings; `--write` stores them in the profile's file (`peak_flops`,
`bandwidth`). Run it with nothing else running: a shared machine measures its neighbours.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from dropbench.fsutil import atomic_write_text
from dropbench.profiles import load_profile
from dropbench.timing.peaks import bandwidth, peak_flops


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="cpu-2thread")
    parser.add_argument("--write", action="store_true", help="store the figures in the profile's JSON file")
    args = parser.parse_args()
    profile = load_profile(args.profile)
    flops, flops_timing = peak_flops(profile)
    bytes_per_s, copy_timing = bandwidth(profile)
    print(flops_timing, copy_timing, sep="\n")
    figures = {"peak_flops": float(f"{flops:.3g}"), "bandwidth": float(f"{bytes_per_s:.3g}")}
    print(json.dumps(figures))
    if args.write:
        path = Path(profile.source)
        stored = {**json.loads(path.read_text()), **figures}
        atomic_write_text(path, "{\n" + ",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in stored.items()) + "\n}\n")
        print(f"stored in {profile.source}")


if __name__ == "__main__":
    main()
