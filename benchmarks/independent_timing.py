"""Does the harness's speedup agree with the plainest independent timing? For every compacted
checkpoint of a `dropbench reproduce` output against its dense baseline.

    .venv/bin/python benchmarks/independent_timing.py OUTPUT_DIR [--runtime onnxruntime|torch-eager] [--batch 64] [--calls N] [--processes K]

Each model is timed in a process of its own, a fresh `python -c` running a few lines of the
runtime's own API: onnxruntime.InferenceSession with default options but intra_op_num_threads =
the profile's threads; torch: the checkpoint's model in eval mode under torch.inference_mode with
torch.set_num_threads. It warms up, then times N calls one by one and prints their median. K
processes per model, alternating between the two (baseline first in even turns, candidate first
in odd ones). The independent ratio is the baseline's median of per-process medians over the
candidate's. The table beside it holds the harness's speedup from speedups.json (same runtime
and batch) and their difference in %.

Nothing of dropbench's timing is imported: the output's files are read as JSON, and the torch
snippet imports only dropbench.checkpoint to load the model. Run it with nothing else running.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

WARMUP_CALLS = 200  # as the issue's own timing; 20 left the dense net short of its steady state (s4 / dense 20.3x against 38.0x with 2,000 calls)
ROOT = Path(__file__).resolve().parents[1]

ORT_SNIPPET = """
import json, statistics, sys, time
import numpy as np
import onnxruntime as ort
path, threads, batch, warmup, calls = json.loads(sys.argv[1])
options = ort.SessionOptions()
options.intra_op_num_threads = threads
session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
rng = np.random.default_rng(0)
feed = {}
for i in session.get_inputs():
    shape = [batch, *i.shape[1:]]
    feed[i.name] = rng.random(shape, dtype=np.float32) if "float" in i.type else np.zeros(shape, np.int64)
for _ in range(warmup):
    session.run(None, feed)
times = []
for _ in range(calls):
    start = time.perf_counter()
    session.run(None, feed)
    times.append(time.perf_counter() - start)
print(statistics.median(times))
"""

TORCH_SNIPPET = """
import json, statistics, sys, time
import torch
from dropbench.checkpoint import load_checkpoint
path, threads, batch, warmup, calls = json.loads(sys.argv[1])
torch.set_num_threads(threads)
checkpoint = load_checkpoint(path)
model, arch = checkpoint.model.eval(), checkpoint.arch
x = torch.zeros(batch, arch["seq_len"], dtype=torch.long) if arch["kind"] == "lstm" else torch.rand(batch, *arch["input_shape"])
with torch.inference_mode():
    for _ in range(warmup):
        model(x)
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        model(x)
        times.append(time.perf_counter() - start)
print(statistics.median(times))
"""

SNIPPETS = {"onnxruntime": ORT_SNIPPET, "torch-eager": TORCH_SNIPPET}


class Refused(Exception):
    """Bad input: one `error:` line, exit 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise Refused(message)


def positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return int(text)


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise Refused(f"{path} cannot be read as JSON ({e})") from None


def checkpoint_dirs(output: Path) -> dict[str, Path]:
    """Each timed checkpoint by its manifest's name: runs/<run>/ and its variants
    runs/<run>/variants/<name>/ (runs/<run>.seed<N>/ hold the other seeds, never timed)."""
    runs = [run for run in output.glob("runs/*") if not re.search(r"\.seed\d+$", run.name)]
    found = [d for run in runs for d in (run, *run.glob("variants/*")) if (d / "manifest.json").is_file()]
    return {read_json(d / "manifest.json").get("name", d.name): d for d in found}


def shipped_profile(name: Any) -> dict[str, Any]:
    """hardware_profiles/NAME.json of this checkout, read as JSON ({} when there is none): the
    threads of a record written before records carried them, and the device."""
    path = ROOT / "hardware_profiles" / f"{name}.json"
    return read_json(path) if isinstance(name, str) and re.fullmatch(r"[A-Za-z0-9_-]{1,64}", name) and path.is_file() else {}


def pairs_of(output: Path, runtime: str, batch: int) -> list[dict[str, Any]]:
    """speedups.json's records of `runtime` at `batch`, A/A and skipped ones left out, with each
    model's directory and the profile's threads."""
    if not output.is_dir():
        raise Refused(f"{output} is not a directory; give the --out directory of `dropbench reproduce`")
    if not (output / "speedups.json").is_file():
        raise Refused(f"{output} has no speedups.json: it is not a `dropbench reproduce` output")
    records = read_json(output / "speedups.json")
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise Refused(f"{output / 'speedups.json'} is not a list of records as dropbench writes it")
    dirs = checkpoint_dirs(output)
    pairs = []
    for r in records:
        if r.get("runtime") != runtime or r.get("batch") != batch or "skipped" in r or r.get("baseline") == r.get("candidate"):
            continue
        profile = shipped_profile(r.get("profile"))
        if profile.get("device", "cpu") != "cpu":
            raise Refused(f"profile {r.get('profile')!r} is a {profile['device']} profile; this script times on the CPU")
        threads = r.get("threads", profile.get("threads"))
        missing = [name for name in (r.get("baseline"), r.get("candidate")) if name not in dirs]
        if missing or not isinstance(threads, int) or not isinstance(r.get("speedup"), (int, float)):
            raise Refused(f"{output / 'speedups.json'}: record {r.get('candidate')!r} names no checkpoint under runs/, no threads or no speedup")
        pairs.append({**r, "threads": threads, "baseline_dir": dirs[r["baseline"]], "candidate_dir": dirs[r["candidate"]]})
    if not pairs:
        raise Refused(f"{output / 'speedups.json'} has no {runtime} speedup at batch {batch}")
    return pairs


def median_in_a_process(runtime: str, directory: Path, threads: int, batch: int, calls: int) -> float:
    """Median seconds per call of one model, timed alone in a fresh interpreter."""
    target = str(directory / "model.onnx") if runtime == "onnxruntime" else str(directory)
    args = json.dumps([target, threads, batch, WARMUP_CALLS, calls])
    done = subprocess.run([sys.executable, "-c", SNIPPETS[runtime], args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"timing {directory} failed:\n{done.stderr}")
    return float(done.stdout.split()[-1])


def independent_ratio(pair: dict[str, Any], runtime: str, batch: int, calls: int, processes: int) -> float:
    """Baseline over candidate: the ratio of the medians of their per-process medians."""
    medians: dict[str, list[float]] = {"baseline_dir": [], "candidate_dir": []}
    for turn in range(processes):
        order = ["baseline_dir", "candidate_dir"] if turn % 2 == 0 else ["candidate_dir", "baseline_dir"]
        for side in order:
            medians[side].append(median_in_a_process(runtime, pair[side], pair["threads"], batch, calls))
    return statistics.median(medians["baseline_dir"]) / statistics.median(medians["candidate_dir"])


def main(argv: list[str] | None = None) -> int:
    parser = Parser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path, help="the --out directory of `dropbench reproduce`")
    parser.add_argument("--runtime", choices=sorted(SNIPPETS), default="onnxruntime")
    parser.add_argument("--batch", type=positive, default=64)
    parser.add_argument("--calls", type=positive, default=1000, help="timed calls per process, after %d warm-up calls (default 1000)" % WARMUP_CALLS)
    parser.add_argument("--processes", type=positive, default=3, help="processes per model (default 3)")
    try:
        args = parser.parse_args(argv)
        pairs = pairs_of(args.output, args.runtime, args.batch)
    except Refused as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    print(f"{args.runtime}, batch {args.batch}: {args.processes} processes per model, {args.calls} calls each\n")
    print("| pair | independent | harness | difference |")
    print("|---|---|---|---|")
    for pair in pairs:
        ratio = independent_ratio(pair, args.runtime, args.batch, args.calls, args.processes)
        difference = 100 * (pair["speedup"] / ratio - 1)
        print(f"| {pair['candidate']} / {pair['baseline']} ({pair['profile']}) | {ratio:.2f}x | {pair['speedup']:.2f}x | {difference:+.1f} % |", flush=True)
    print(f"\n{len(pairs)} pairs in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
