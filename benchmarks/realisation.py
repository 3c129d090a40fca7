"""Realisation on every checkpoint against issue 23's targets (item 4), from a reproduce output.

    .venv/bin/python benchmarks/realisation.py --out-dir results/quick [--profile cpu-2thread] [--before] [--markdown FILE]

Reads OUT/speedups.json (what `dropbench reproduce` measured) at batch 64 on the profile and
prints a markdown table of every compacted checkpoint x runtime: FLOP ratio, measured speedup with
its interval, realisation, realisation against the roofline, the cause of a realisation below
0.8, and the targets' flags (timing.explain.against_targets; a record whose dense baseline takes
under 100 µs is no target and says so). With --before it also times each sparse checkpoint in
the previous default sparse format (torch CSR: runtime torch-sparse-torch-csr) and in the current
one (torch-sparse) side by side, over timing rounds in fresh processes: run it with nothing else
running. --markdown FILE writes what it prints.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from dropbench.checkpoint import load_checkpoint
from dropbench.outputs import checkpoint_paths, load_output
from dropbench.profiles import Profile, load_profile
from dropbench.runtimes.csr import DEFAULT_FORMAT
from dropbench.timing.explain import REALISATION_GOAL, Breakdowns, against_targets
from dropbench.timing.inference import EXPLAINED_BATCH, speedup_records

BEFORE = "torch-sparse-torch-csr"  # the CPU sparse runtime's format until issue 23, item 3


def speedup_words(r: dict) -> str:
    return f"{r['speedup']:.2f}x [{r['ci'][0]:.2f}, {r['ci'][1]:.2f}]"


def roofline_words(r: dict) -> str:
    if r.get("roofline_realisation"):
        return f"{r['roofline_realisation']:.2f}"
    return "unknown peaks" if "breakdown" in r else "-"


def targets_table(records: list[dict], profile: str) -> str:
    rows = [
        f"| {r['candidate']} | {r['runtime']} | {r['flop_ratio']:.2f}x | {speedup_words(r)} | {r['realisation']:.2f} | "
        f"{roofline_words(r)} | {r.get('cause') or ''} | {'; '.join(flags)} |"
        for r, flags in against_targets(records, profile, EXPLAINED_BATCH)
    ]
    head = (f"| checkpoint | runtime | FLOP ratio | measured speedup [95% CI] | realisation | vs roofline | why below {REALISATION_GOAL} | flags |\n"
            "|---|---|---|---|---|---|---|---|")
    return "\n".join([head, *rows])


def before_table(out_dir: Path, records: list[dict], profile: Profile, min_time: float, rounds: int) -> str:
    """Each sparse checkpoint in the previous and the current sparse format, timed now, side by side."""
    paths, breakdowns = checkpoint_paths(out_dir), Breakdowns()
    pairs = dict.fromkeys((r["baseline"], r["candidate"]) for r in records
                          if r["runtime"] == "torch-sparse" and r.get("profile") == profile.name and r.get("batch") == EXPLAINED_BATCH and "skipped" not in r)
    now = f"torch-sparse ({DEFAULT_FORMAT[profile.device]})"
    head = "| checkpoint | sparse runtime | measured speedup [95% CI] | sparse FLOP ratio | realisation | warnings |\n|---|---|---|---|---|---|"
    rows = []
    for baseline, candidate in pairs:
        base, cand = (load_checkpoint(paths[name]) for name in (baseline, candidate))
        for r in speedup_records(base, cand, profile, min_time, [BEFORE, "torch-sparse"], [EXPLAINED_BATCH], rounds, breakdowns):
            name = "before: torch-csr" if r["runtime"] == BEFORE else f"now: {now}"
            words = r.get("skipped") or "; ".join(r["warnings"])
            figures = f"{speedup_words(r)} | {r['flop_ratio']:.1f}x | {r['realisation']:.2f}" if "skipped" not in r else "- | - | -"
            rows.append(f"| {candidate} | {name} | {figures} | {words} |")
    return "\n".join([head, *rows])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, required=True, help="a `dropbench reproduce` output, e.g. results/quick")
    parser.add_argument("--profile", default="cpu-2thread")
    parser.add_argument("--before", action="store_true", help="also time the sparse checkpoints in the previous and the current sparse format")
    parser.add_argument("--min-time", type=float, default=0.3, help="seconds of samples per timing round (--before)")
    parser.add_argument("--rounds", type=int, default=5, help="timing rounds per figure (--before)")
    parser.add_argument("--markdown", type=Path, help="also write the tables to this file")
    args = parser.parse_args()
    records = load_output(args.out_dir)["speedups"]
    text = f"Realisation at batch {EXPLAINED_BATCH} on {args.profile}, from {args.out_dir / 'speedups.json'}:\n\n{targets_table(records, args.profile)}\n"
    print(text, flush=True)
    if args.before:
        before = before_table(args.out_dir, records, load_profile(args.profile), args.min_time, args.rounds)
        before = f"\nThe sparse checkpoints in the previous and the current sparse format, timed side by side now:\n\n{before}\n"
        print(before)
        text += before
    if args.markdown:
        args.markdown.write_text(text)


if __name__ == "__main__":
    main()
