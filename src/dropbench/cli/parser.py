"""`build_parser`: each command family adds its subcommands, in the order --help lists them."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..limits import MAX_RECORDED_SECONDS, MAX_SEED
from .commands import (
    cmd_asv_machine,
    cmd_bench,
    cmd_calibrate,
    cmd_claims,
    cmd_cluster_estimate,
    cmd_cluster_node,
    cmd_compare_profiles,
    cmd_data,
    cmd_export,
    cmd_gate,
    cmd_history,
    cmd_record_history,
    cmd_methods,
    cmd_plan,
    cmd_profile,
    cmd_report,
    cmd_reproduce,
    cmd_speedup,
    cmd_train,
    cmd_train_speed,
)
from .options import (
    bounded,
    EPOCHS,
    Parser,
    THREADS,
    csv_ints,
    csv_names,
    csv_rates,
    node_counts,
    add_asv_location_options,
    add_asv_results_options,
    add_batch_size_option,
    add_force_option,
    add_json_option,
    add_min_time_option,
    add_model_options,
    add_out_option,
    add_profile_option,
    add_plan_options,
    add_quiet_option,
    add_rounds_option,
    add_train_threads_option,
    add_until_decided_options,
    add_set_option,
)


# Each command family adds its subcommands; build_parser adds the families in the order --help lists them.


def add_train_commands(sub) -> None:
    """train, export."""
    p = sub.add_parser("train", help="train a method, compact it, write a checkpoint directory")
    p.add_argument("--method", required=True, help="dense, dropout, magnitude, ... (dropbench methods)")
    p.add_argument("--model", default="mlp", help="mlp, lenet-300-100, lenet5, lstm")
    p.add_argument("--data", default="digits", help="digits, mnist-5k, mnist, fashion-mnist, idx:DIR, npz:PATH, ... (dropbench data list)")
    p.add_argument("--hidden", type=csv_ints, help="hidden widths, e.g. 1024,1024,1024 (model default otherwise)")
    add_out_option(p, "checkpoint directory to write")
    add_set_option(p)
    p.add_argument("--epochs", type=EPOCHS, default=20)
    add_batch_size_option(p, 64)
    p.add_argument("--lr", type=bounded(float, 1e-12, 100.0), default=1e-3)
    p.add_argument("--optimizer", default="adam", help="adam or sgd")
    p.add_argument("--schedule", default="constant", help="constant, cosine, step or linear (to 0)")
    p.add_argument("--weight-decay", type=bounded(float, 0.0, 100.0), default=0.0)
    p.add_argument("--grad-clip", type=bounded(float, 0.0, 1e6), default=0.0, help="max gradient norm (0 = off)")
    p.add_argument("--seed", type=bounded(int, 0, MAX_SEED), default=0)
    add_force_option(p)
    add_quiet_option(p, "no progress bar")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("export", help="export a checkpoint to ONNX and check onnxruntime parity")
    p.add_argument("run", type=Path)
    p.add_argument("--tolerance", type=bounded(float, 0.0, 1.0), default=1e-4, help="largest allowed |onnxruntime - torch|")
    p.set_defaults(func=cmd_export)


def add_timing_commands(sub) -> None:
    """bench, speedup, calibrate, train-speed."""
    p = sub.add_parser("bench", help="time inference of a checkpoint or any ONNX file in each runtime")
    p.add_argument("run", type=Path, help="a checkpoint directory or an ONNX file")
    add_model_options(p)
    add_min_time_option(p, 0.5, "seconds of samples per measurement")
    add_json_option(p, "also write the figures to this JSON file")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("speedup", help="inference speedup of a compacted model over a baseline (each model alone in a process), beside the FLOP ratio")
    p.add_argument("baseline", type=Path, help="a checkpoint directory or an ONNX file")
    p.add_argument("candidate", type=Path, help="a checkpoint directory or an ONNX file (ONNX files are compared in onnxruntime)")
    add_model_options(p)
    add_min_time_option(p, 0.5, "seconds of samples per timing round, half in each model's process")
    add_rounds_option(p, 3, "timing rounds (fresh runners, alternating order); the interval is over rounds")
    add_json_option(p, "also write the records to this JSON file")
    p.set_defaults(func=cmd_speedup)

    p = sub.add_parser("calibrate", help="A/A: time a checkpoint against itself N times; the intervals must cover 1.0")
    p.add_argument("run", type=Path, help="a checkpoint directory or an ONNX file")
    p.add_argument("--comparisons", type=bounded(int, 1, 1000), default=20)
    p.add_argument("--runtime", default="onnxruntime", help="torch-eager or onnxruntime")
    add_batch_size_option(p, 64)
    add_rounds_option(p, 5, "timing rounds per comparison (fresh runners, alternating order)")
    add_min_time_option(p, 0.5, "seconds of samples per round, half in each model's process")
    add_profile_option(p)
    add_json_option(p, "also write the comparisons to this JSON file")
    add_quiet_option(p, "no progress bar")
    p.set_defaults(func=cmd_calibrate)

    p = sub.add_parser("train-speed", help="training-step time of a method vs standard dropout at the same rates (each step alone in a process per round)")
    p.add_argument("--method", default="approximate-random", help="a method with a dropout rate parameter p")
    p.add_argument("--p", type=csv_rates, default=(0.3, 0.5, 0.7), help="dropout rates, e.g. 0.3,0.5,0.7")
    p.add_argument("--model", default="mlp", help="mlp, lenet-300-100, lstm")
    p.add_argument("--data", default="mnist-5k", help="data set (pydoc-text for the lstm)")
    p.add_argument("--hidden", type=csv_ints, help="hidden widths, e.g. 2048,2048,2048")
    add_batch_size_option(p, 128)
    add_set_option(p)
    add_profile_option(p)
    add_min_time_option(p, 2.0, "seconds of samples per timing round of a rate, half in each step's process")
    add_json_option(p, "also write the records to this JSON file")
    p.set_defaults(func=cmd_train_speed)


def add_listing_commands(sub) -> None:
    """profile, data, methods: what this machine and this version offer."""
    p = sub.add_parser("profile", help="hardware profiles: detect | list | show NAME | validate FILE")
    p.add_argument("action", choices=["detect", "list", "show", "validate"])
    p.add_argument("target", nargs="?")
    p.set_defaults(func=cmd_profile)

    p = sub.add_parser("data", help="data sets: list")
    p.add_argument("action", choices=["list"])
    p.set_defaults(func=cmd_data)

    p = sub.add_parser("methods", help="list the methods and their hyper-parameters")
    p.set_defaults(func=cmd_methods)

    p = sub.add_parser("plan", help="plans: show NAME_OR_FILE (as TOML, to edit and run with --plan) | validate FILE")
    p.add_argument("action", choices=["show", "validate"])
    p.add_argument("target", help="a built-in plan (quick, full, paper, ci) or a plan file")
    p.set_defaults(func=cmd_plan)


def add_claims_commands(sub) -> None:
    """claims, reproduce."""
    p = sub.add_parser("claims", help="check the papers' claims on this machine: holds / fails / inconclusive / not-run")
    add_plan_options(p)
    add_until_decided_options(p)
    add_profile_option(p, "hardware profile (default: detected)")
    p.add_argument("--only", nargs="+", metavar="ID", help="check only these claims")
    add_json_option(p, "write the records to this JSON file")
    p.add_argument("--strict", action="store_true", help="exit 1 when a claim fails, not only when one errors")
    add_min_time_option(p, 1.0, "seconds of samples per timing round of a speed ratio, half in each model's process")
    add_train_threads_option(p, " of a run not yet in the run cache")
    add_quiet_option(p)
    p.set_defaults(func=cmd_claims)

    p = sub.add_parser("reproduce", help="the main job: every method trained, compacted, exported, benched, reported")
    add_plan_options(p)
    add_out_option(p, "output directory")
    add_profile_option(p, "hardware profile (default: detected)")
    p.add_argument("--profiles", type=csv_names, help="time and check the claims on each of these profiles (comma-separated)")
    p.add_argument("--cluster", metavar="ADDRESS", help='run on Ray: local:N (N workers), auto, HOST:PORT or ray://HOST:PORT (pip install -e ".[cluster]")')
    add_train_threads_option(p, ", here or on the cluster")
    add_force_option(p)
    add_quiet_option(p)
    p.set_defaults(func=cmd_reproduce)


def add_cluster_commands(sub) -> None:
    """cluster node, cluster estimate."""
    p = sub.add_parser("cluster", help="Ray cluster nodes for `reproduce --cluster`")
    cluster = p.add_subparsers(dest="cluster_command", required=True, parser_class=Parser)
    p = cluster.add_parser("node", help="start a Ray node (head or worker) that advertises hardware profiles for timing")
    # not add_profile_option: a node advertises any number of profiles
    p.add_argument("--profile", action="append", default=[], help="a profile this machine matches (repeatable); timing of it runs here")
    p.add_argument("--head", action="store_true", help="start a new cluster with this node as its head")
    p.add_argument("--address", help="HOST:PORT of the head to join")
    p.add_argument("--port", type=bounded(int, 1, 65535), default=6379, help="the head's port (default 6379)")
    p.add_argument("--num-cpus", type=THREADS, help="CPUs the node offers (default: all)")
    p.add_argument("--block", action="store_true", help="stay in the foreground until the node stops")
    p.set_defaults(func=cmd_cluster_node)

    p = cluster.add_parser("estimate", help="how long a plan would take on N nodes: from a reproduce output's recorded training times, "
                                            "or with --plan before it runs, from a few timed training steps of each run")
    p.add_argument("dir", type=Path, nargs="?", help="a reproduce output (runs/*/manifest.json, reproduce.json); or give --plan")
    p.add_argument("--plan", metavar="NAME_OR_FILE", help="a plan not yet run: time a few training steps of each run and extrapolate")
    p.add_argument("--steps", type=bounded(int, 1, 1000), default=10, help="--plan: training steps timed per run, after 2 warm-up steps (default 10)")
    p.add_argument("--nodes", type=node_counts, default=(1, 2, 4, 8), help="node counts (default 1,2,4,8)")
    p.add_argument("--cpus-per-node", type=THREADS, default=2, help="one-CPU training workers per node (default 2)")
    p.add_argument("--slowdown", type=bounded(float, 0.01, 100), default=1.0,
                   help="DIR: training time with one thread over the recorded one (default 1: recorded with one thread)")
    p.add_argument("--other-seconds", type=bounded(float, 0, MAX_RECORDED_SECONDS),
                   help="export, copy and timing seconds (default: from DIR/reproduce.json; with --plan, the full plan's 252 s measured on a 2-core AMD EPYC)")
    p.set_defaults(func=cmd_cluster_estimate)


def add_results_commands(sub) -> None:
    """report, asv-machine, history, compare-profiles: what was recorded, re-read without re-running it."""
    p = sub.add_parser("report", help="re-render DIR/report.html from a reproduce or claims output, without re-running anything")
    p.add_argument("dir", type=Path, help="a reproduce output, or a directory holding claims.json")
    p.add_argument("--compare", type=Path, metavar="DIR2", help="a second output to put side by side (e.g. another profile or commit)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("asv-machine", help="register the asv machine of a hardware profile on this machine's CPU (e.g. cpu-2thread-amd-epyc-7b13-2c)")
    p.add_argument("profile", help="hardware profile name (dropbench profile list)")
    p.add_argument("--name", help="the machine's name (default: the profile, the CPU and its cores); refused if recorded on other hardware")
    add_quiet_option(p, "print only the machine's name (for scripts)")
    add_asv_location_options(p)
    p.set_defaults(func=cmd_asv_machine)

    p = sub.add_parser("history", help="which figures regressed at which commit, from the recorded asv results")
    p.add_argument("range", nargs="?", help="git commit range to look at, e.g. main..HEAD (default: every recorded commit)")
    p.add_argument("--machine", help="only this asv machine, or every machine of this hardware profile")
    add_asv_results_options(p)
    p.set_defaults(func=cmd_history)

    p = sub.add_parser("record-history", help="record, with asv, the commits of a range not yet in this machine's history (each commit's own suites)")
    p.add_argument("range", nargs="?", default="HEAD", help="git commit range, e.g. main~20..main (default: HEAD)")
    add_profile_option(p, "hardware profile name to time on (default: detected, e.g. cpu-2thread)")
    p.add_argument("--spread", type=int, metavar="N", help="record N commits spread evenly over the range (first and last included), not all")
    add_asv_location_options(p)
    p.set_defaults(func=cmd_record_history)

    p = sub.add_parser("gate", help="the regression gate of a branch: asv continuous of BASE against HEAD on the ci plan; exit 1 on a significant slowdown")
    p.add_argument("base", help="the commit to compare against, e.g. origin/main")
    p.add_argument("head", nargs="?", default="HEAD", help="the commit under test (default: HEAD)")
    add_profile_option(p, "hardware profile name to time on (default: detected, e.g. cpu-2thread)")
    p.add_argument("--factor", type=float, help="slowdown that fails the gate when significant (default: chosen from the measured A/A noise, docs/asv.md)")
    p.add_argument("--config", default="asv.conf.json", help="the asv configuration (default: ./asv.conf.json)")
    p.set_defaults(func=cmd_gate)

    p = sub.add_parser("compare-profiles", help="every recorded figure of two hardware profiles side by side, on the same CPU where both were recorded")
    p.add_argument("a", help="profile A, or an asv machine")
    p.add_argument("b", help="profile B, or an asv machine")
    p.add_argument("--html", help="also write the comparison as a self-contained HTML page")
    add_asv_results_options(p)
    p.set_defaults(func=cmd_compare_profiles)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="dropbench", description="Benchmark harness for dropout-based network compaction.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    add_train_commands(sub)
    add_timing_commands(sub)
    add_listing_commands(sub)
    add_claims_commands(sub)
    add_cluster_commands(sub)
    add_results_commands(sub)
    return parser
