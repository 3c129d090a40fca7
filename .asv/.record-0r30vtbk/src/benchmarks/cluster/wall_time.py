"""Wall time of `dropbench reproduce` on this machine, without `--cluster` and with it.

Each reproduce starts from an empty run cache (every training happens) and owns the machine:
they run one after the other, never side by side, and nothing else may run meanwhile. The
figures (total and per stage, from each output's reproduce.json) go to OUT/wall_time.json.

    .venv/bin/python benchmarks/cluster/wall_time.py --out results/wall-time [--full] [--cluster local:2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path


def reproduce(out: Path, quick: bool, profile: str, cluster: str | None) -> dict:
    env = {**os.environ, "DROPBENCH_CACHE": str(out.with_name(f"{out.name}-cache"))}  # empty: every run trains
    command = [sys.executable, "-m", "dropbench", "reproduce", "--out", str(out), "--force", "--profile", profile, "--quiet"]
    command += ["--quick"] * quick + (["--cluster", cluster] if cluster else [])
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True)
    wall = time.perf_counter() - start
    return {"command": " ".join(command[2:]), "wall_s": wall, **json.loads((out / "reproduce.json").read_text())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--full", action="store_true", help="the full plan (default: --quick)")
    parser.add_argument("--cluster", default="local:2")
    parser.add_argument("--profile", default="cpu-2thread")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    records = [reproduce(args.out / label, not args.full, args.profile, cluster) for label, cluster in (("local", None), ("cluster", args.cluster))]
    local, cluster = records
    summary = {"runs": records, "cluster_over_local": cluster["wall_s"] / local["wall_s"]}
    (args.out / "wall_time.json").write_text(json.dumps(summary, indent=2))
    for r in records:
        stages = ", ".join(f"{k} {v:.0f} s" for k, v in r["stages"].items())
        print(f"{r['cluster'] or 'no cluster':>10}: {r['wall_s']:.0f} s wall ({stages})")
    print(f"with / without cluster: {summary['cluster_over_local']:.2f}")


if __name__ == "__main__":
    main()
