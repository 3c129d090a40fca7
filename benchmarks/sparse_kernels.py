"""Sparse formats and kernels side by side on sparse checkpoints (issue 23: a sparse runtime that pays).

    .venv/bin/python benchmarks/sparse_kernels.py CHECKPOINT... [--profile cpu-2thread] [--batch-sizes 1,64]

For each checkpoint (e.g. results/quick/runs/variational-lenet-300-100-kl0.3) and batch size, the
latency of the net run densely in torch eager, and of its sparse layers in each of
runtimes/csr.FORMATS (torch CSR, COO and BSR with 4 x 4 and 16 x 16 blocks, scipy CSR), and of its
`structural` variant (dead units removed) dense and in torch CSR. Rounds alternate the order of
the forms; each figure is the median over rounds of the median latency, and the speedup is over
the dense net in the same round. Run it with nothing else running: a shared machine measures its
neighbours. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import torch

from dropbench.checkpoint import load_checkpoint
from dropbench.profiles import load_profile
from dropbench.runtimes.base import example_batch, torch_threads
from dropbench.runtimes.csr import FORMATS, csr_model
from dropbench.timing.measurement import format_seconds, timeit


def forms(directory: Path) -> dict[str, torch.nn.Module]:
    """Every way of running the checkpoint: dense, each sparse format, the structural variant."""
    checkpoint = load_checkpoint(directory)
    found = {"dense (torch eager)": checkpoint.model}
    found |= {f"sparse layers as {name}": csr_model(checkpoint.model, "cpu", name) for name in FORMATS if name != "dense"}
    structural = directory / "variants" / "structural"
    if structural.is_dir():
        narrow = load_checkpoint(structural).model
        found |= {"structural variant, dense": narrow, "structural variant, torch-csr": csr_model(narrow, "cpu", "torch-csr")}
    return found


def latencies(models: dict[str, torch.nn.Module], x: torch.Tensor, rounds: int, min_run_time: float) -> dict[str, list[float]]:
    """Per form, the median latency of each round; the order of the forms rotates between rounds."""
    names = list(models)
    seconds: dict[str, list[float]] = {name: [] for name in names}
    with torch.inference_mode():
        for r in range(rounds):
            for name in names[r % len(names):] + names[: r % len(names)]:
                model = models[name]
                seconds[name].append(timeit(lambda model=model: model(x), name, min_run_time=min_run_time).median)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+", type=Path)
    parser.add_argument("--profile", default="cpu-2thread")
    parser.add_argument("--batch-sizes", default="1,64")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--min-time", type=float, default=0.2, help="seconds of samples per form and round")
    args = parser.parse_args()
    profile = load_profile(args.profile)
    print("| checkpoint | batch | form | latency | speedup over dense |\n|---|---|---|---|---|")
    with torch_threads(profile.threads):
        for directory in args.checkpoints:
            models = forms(directory)
            checkpoint = load_checkpoint(directory)
            for batch in (int(b) for b in args.batch_sizes.split(",")):
                seconds = latencies(models, example_batch(checkpoint, batch), args.rounds, args.min_time)
                dense = seconds["dense (torch eager)"]
                for name, times in seconds.items():
                    speedup = statistics.median(d / t for d, t in zip(dense, times))
                    print(f"| {checkpoint.name} | {batch} | {name} | {format_seconds(statistics.median(times))} | {speedup:.2f}x |")


if __name__ == "__main__":
    main()
