"""Hardware-aware widths: accuracy and speed of unit-removing compaction with each kept width
rounded up to a multiple (issue 23; methods' `width_multiple`, docs/unit-methods.md).

    .venv/bin/python benchmarks/width_multiples.py [--profile cpu-2thread] [--multiples 1,4,8,16,32]

Trains (through the run cache) the quick plan's 3 x 1024 MLP on digits with dropout-compaction
(strength 2), magnitude unit pruning (half the units) and structural dropout (its keep95 width),
once per multiple, and times each against the dense net in onnxruntime and torch eager at batch
64 (timing rounds in fresh processes). Prints a markdown table: kept widths, validation and
test accuracy, speedup with its interval, FLOP ratio. Run it with nothing else running.
"""

from __future__ import annotations

import argparse

from dropbench.checkpoint import load_checkpoint
from dropbench.data import load_dataset
from dropbench.export import ensure_exported
from dropbench.profiles import load_profile
from dropbench.runs import RunSpec, cached_run
from dropbench.timing.inference import speedup_record
from dropbench.train import TrainConfig, evaluate

SETUP = {"model": "mlp", "data": "digits", "hidden": (1024, 1024, 1024), "train": TrainConfig(epochs=20)}
METHODS = {  # name -> method and parameters (the quick plan's)
    "dropout-compaction": ("dropout-compaction", {"strength": 2.0}),
    "magnitude-unit": ("magnitude", {"mode": "unit", "fraction": 0.5, "finetune_epochs": 3}),
    "structural/keep95": ("structural", {"p": 0.5, "lower_bound": 8}),
}


def checkpoint_of(name: str, multiple: int):
    method, params = METHODS[name]
    spec = RunSpec(f"{name.split('/')[0]}-w{multiple}", method, {**params, "width_multiple": multiple}, **SETUP)
    directory = cached_run(spec)
    if "/" in name:
        directory = directory / "variants" / name.split("/")[1]
    ensure_exported(directory)
    return load_checkpoint(directory)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="cpu-2thread")
    parser.add_argument("--multiples", default="1,4,8,16,32")
    parser.add_argument("--min-time", type=float, default=0.3, help="seconds of samples per timing round")
    args = parser.parse_args()
    profile = load_profile(args.profile)
    dense_dir = cached_run(RunSpec("dense", "dense", **SETUP))
    ensure_exported(dense_dir)
    dense = load_checkpoint(dense_dir)
    print("| method | multiple | kept widths | val acc | test acc | runtime | speedup (95% CI) | FLOP ratio |\n|---|---|---|---|---|---|---|---|")
    for name in METHODS:
        for multiple in (int(m) for m in args.multiples.split(",")):
            candidate = checkpoint_of(name, multiple)
            data = load_dataset(SETUP["data"])
            val, test = (100 * evaluate(candidate.model, data, split)["accuracy"] for split in ("val", "test"))
            for runtime in ("onnxruntime", "torch-eager"):
                r = speedup_record(dense, candidate, profile, runtime, 64, args.min_time, rounds=5)
                print(f"| {name} | {multiple} | {candidate.model.hidden_sizes()} | {val:.2f} | {test:.2f} | {runtime} | "
                      f"{r['speedup']:.2f}x [{r['ci'][0]:.2f}, {r['ci'][1]:.2f}] | {r['flop_ratio']:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
