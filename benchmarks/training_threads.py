"""Why reproduce trains side by side: one training step of each distinct run of a plan, timed with
one and with two torch threads (stages.train_all, docs/claims.md "Budgets").

    .venv/bin/python benchmarks/training_threads.py [--plan quick] [--min-time 0.5]

Prints a markdown table: the step time on 1 and on 2 threads, their ratio, and the throughput of
two one-thread trainings side by side over one two-thread training (2 x t2 / t1; above 1: side by
side is faster, if the two do not slow each other down: compare the measured wall times of
reproduce's training stage). Run it with nothing else running.
"""

from __future__ import annotations

import argparse

from dropbench.plans.specs import load_plan, run_specs
from dropbench.runtimes import torch_threads
from dropbench.timing.measurement import format_seconds, timeit
from dropbench.timing.training import train_step_runner


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plan", default="quick", help="a built-in plan name or a plan file (default quick)")
    parser.add_argument("--min-time", type=float, default=0.5, help="seconds of samples per step time (default 0.5)")
    args = parser.parse_args()
    print("| run | step, 1 thread | step, 2 threads | 1 thread / 2 threads | two side by side / one on 2 threads |")
    print("|---|---|---|---|---|")
    for spec in run_specs(load_plan(args.plan)):
        times = {}
        for threads in (1, 2):
            with torch_threads(threads):
                times[threads] = timeit(train_step_runner(spec), spec.name, min_run_time=args.min_time).median
        one, two = times[1], times[2]
        print(f"| {spec.name} | {format_seconds(one)} | {format_seconds(two)} | {one / two:.2f} | {2 * two / one:.2f} |", flush=True)


if __name__ == "__main__":
    main()
