"""`dropbench ...`: a thin command line over the library.

Each command parses its arguments, calls one library function and prints the result. Errors the
user can fix (DropbenchError) become one red line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from .console import console, error, make_progress, one_line, stdout
from .errors import ConfigError, DropbenchError
from .fsutil import atomic_write_json, check_output_dir, check_output_file
from .limits import MAX_BATCH, MAX_EPOCHS, MAX_LAYERS, MAX_SECONDS, MAX_SEED, MAX_THREADS, MAX_WIDTH

if TYPE_CHECKING:  # the library loads lazily, inside the commands: `dropbench --help` stays fast
    from .claims.record import ClaimRecord
    from .profiles import Profile

EXIT_USER_ERROR = 2


class Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line like every other error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise DropbenchError(f"{message} (see `{self.prog} --help`)")


def _number(kind: type, low: float, high: float):
    """An argparse type: an int or a finite float within [low, high] (no NaN, no silent clipping)."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}, got {text!r}") from None
        if not (math.isfinite(value) and low <= value <= high):
            raise argparse.ArgumentTypeError(f"expected a value from {low:g} to {high:g}, got {text!r}")
        return value

    return parse


def _csv_ints(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated positive integers, got {text!r}") from None
    if not values or len(values) > MAX_LAYERS or not all(1 <= v <= MAX_WIDTH for v in values):
        raise argparse.ArgumentTypeError(f"expected 1 to {MAX_LAYERS} widths from 1 to {MAX_WIDTH}, got {text!r}")
    return values


def _csv_rates(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(",") if v)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated dropout rates, got {text!r}") from None
    if not values or not all(0.0 <= v < 1.0 for v in values):
        raise argparse.ArgumentTypeError(f"expected dropout rates in [0, 1), got {text!r}")
    return values


def _node_counts(text: str) -> tuple[int, ...]:
    try:
        counts = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        counts = ()
    if not counts or not all(1 <= n <= 100_000 for n in counts):
        raise argparse.ArgumentTypeError(f"expected comma-separated node counts from 1 to 100000, got {text!r}")
    return counts


def _csv_names(text: str) -> list[str]:
    names = list(dict.fromkeys(name.strip() for name in text.split(",") if name.strip()))
    if not names:
        raise argparse.ArgumentTypeError(f"expected comma-separated profile names, got {text!r}")
    return names


def _key_values(pairs: Sequence[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set expects KEY=VALUE, got {pair!r}")
        out[key] = value
    return out


def profile_from(args: argparse.Namespace) -> Profile:
    """The hardware profile named by --profile (a name or a JSON file), or the one detected on this machine."""
    from .profiles import default_profile, load_profile

    return load_profile(args.profile) if args.profile else default_profile()


# --- commands ------------------------------------------------------------------------------------


def cmd_train(args: argparse.Namespace) -> int:
    from .runs import RunSpec, train_run
    from .train import TrainConfig

    try:
        config = TrainConfig(
            epochs=args.epochs,
            batch_size=args.batch_size,
            lr=args.lr,
            optimizer=args.optimizer,
            schedule=args.schedule,
            seed=args.seed,
            weight_decay=args.weight_decay,
            grad_clip=args.grad_clip,
        )
    except ValueError as e:
        raise ConfigError(str(e)) from None
    spec = RunSpec(Path(args.out).name, args.method, _key_values(args.set), args.model, args.data, args.hidden, config)
    with make_progress(args.quiet) as progress:
        out = train_run(spec, Path(args.out), force=args.force, progress=progress)
    from .checkpoint import load_checkpoint

    metrics = load_checkpoint(out).metrics
    stdout.print(
        f"[green]saved[/] {one_line(out)}: test accuracy {100 * metrics['accuracy']:.2f}%, {metrics['params']:,} params "
        f"({metrics['nonzero_params']:,} non-zero), {metrics['flops']:,} FLOPs/sample"
    )
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from .export import export_checkpoint

    result = export_checkpoint(args.run, tolerance=args.tolerance)
    stdout.print(f"[green]exported[/] {one_line(result.path)}: onnxruntime vs torch max |diff| = {result.max_abs_diff:.2e} on {result.inputs}")
    return 0


def _runtime_list(text: str) -> list[str]:
    from .runtimes import parse_runtimes

    return parse_runtimes(text)


def cmd_bench(args: argparse.Namespace) -> int:
    from .measure import format_seconds
    from .onnx_model import parse_shapes
    from .report.terminal import rich_table
    from .runtimes.bench import bench_checkpoint, load_model

    profile = profile_from(args)
    model = load_model(args.run, parse_shapes(args.shape))
    results = [r.as_dict() for r in bench_checkpoint(model, profile, args.runtimes, args.batch_size, args.min_time)]
    rows = [
        [r["runtime"], r["batch"], *(["-"] * 5), f"skipped: {r['skipped']}"] if "skipped" in r else [
            r["runtime"], r["batch"], format_seconds(r["median_s"]), format_seconds(r["iqr_s"]), f"{r['samples_per_s']:,.0f}", r["samples"],
            f"{r['compile_s']:.1f} s" if "compile_s" in r else "-", "; ".join(r["warnings"]),
        ]
        for r in results
    ]
    headers = ["runtime", "batch", "median", "IQR", "samples/s", "samples", "compile", "warnings"]
    stdout.print(rich_table(one_line(f"{model.name} on {profile.name}"), headers, rows))
    if args.json:
        atomic_write_json(Path(args.json), {"checkpoint": str(model.path), "profile": profile.as_dict(), "measurements": results})
    return 0


def cmd_speedup(args: argparse.Namespace) -> int:
    from .onnx_model import parse_shapes
    from .report.terminal import rich_table
    from .runtimes.bench import load_pair
    from .speed import speedup_records

    profile = profile_from(args)
    baseline, candidate = load_pair(args.baseline, args.candidate, parse_shapes(args.shape))
    records = speedup_records(baseline, candidate, profile, args.min_time, args.runtimes, args.batch_size, args.rounds)
    rows = [
        [r["runtime"], r["batch"], *(["-"] * 5), f"skipped: {r['skipped']}"] if "skipped" in r else [
            r["runtime"],
            r["batch"],
            f"{r['speedup']:.2f}x",
            f"[{r['ci'][0]:.2f}, {r['ci'][1]:.2f}]",
            f"{r['flop_ratio']:.2f}x",
            f"{r['realisation']:.2f}",
            _compile_times(r),
            "; ".join(r["warnings"]),
        ]
        for r in records
    ]
    title = one_line(f"{candidate.name} over {baseline.name} on {profile.name} ({args.rounds} timing rounds; interval over rounds)")
    headers = ["runtime", "batch", "measured speedup", "95% CI", "FLOP ratio", "realisation", "compile (base / cand.)", "warnings"]
    stdout.print(rich_table(title, headers, rows))
    if args.json:
        atomic_write_json(Path(args.json), records)
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from .runtimes.bench import load_model
    from .speed import aa_calibration

    profile = profile_from(args)
    model = load_model(args.run)
    with make_progress(args.quiet) as progress:
        result = aa_calibration(model, profile, args.comparisons, args.runtime, args.batch_size, args.min_time, args.rounds, progress)
    for i, r in enumerate(result["comparisons"], 1):
        mark = "" if r["ci"][0] <= 1.0 <= r["ci"][1] else "  <- interval misses 1"
        stdout.print(f"A/A {i:2d}: {r['ratio']:.4f}  95% CI [{r['ci'][0]:.4f}, {r['ci'][1]:.4f}]{mark}")
    n = len(result["comparisons"])
    stdout.print(
        f"{model.name} against itself, {args.runtime} batch {args.batch_size}, {args.rounds} rounds x {args.min_time:g} s on {profile.name}: "
        f"interval covers 1.0 in {result['covered']}/{n}; ratio within 1 +/- {result['tolerance']:g} in {result['within_tolerance']}/{n} "
        f"(largest deviation {100 * result['max_deviation']:.1f}%)"
    )
    if args.json:
        atomic_write_json(Path(args.json), result)
    return 0


def _compile_times(record: dict) -> str:
    times = [record[side].get("compile_s") for side in ("baseline_timing", "candidate_timing")]
    return "-" if None in times else f"{times[0]:.1f} / {times[1]:.1f} s"


def cmd_train_speed(args: argparse.Namespace) -> int:
    from .report.terminal import rich_table
    from .runs import RunSpec
    from .speed import savings_over_dropout
    from .train import TrainConfig

    profile = profile_from(args)
    spec = RunSpec(args.method, args.method, _key_values(args.set), args.model, args.data, args.hidden, TrainConfig(batch_size=args.batch_size))
    records = savings_over_dropout(spec, args.p, profile, args.min_time)
    rows = [[
        f"{r['p']:g}", f"{1e3 * r['baseline_timing']['median_s']:.1f} ms", f"{1e3 * r['candidate_timing']['median_s']:.1f} ms",
        f"{100 * r['time_saved']:.0f}%", f"[{100 * r['time_saved_ci'][0]:.0f}, {100 * r['time_saved_ci'][1]:.0f}]%",
        f"{100 * r['flop_ideal']:.0f}%", f"{100 * (1 - (1 - r['p']) ** 2):.0f}%", f"{r['realisation']:.2f}", "; ".join(r["warnings"]),
    ] for r in records]
    title = f"training step of {args.method} vs dropout, {args.model} on {args.data}, batch {args.batch_size}, {profile.name} (interleaved, one run per p)"
    headers = ["p", "dropout step", f"{args.method} step", "time saved", "95% CI", "FLOP ideal", "1-(1-p)^2", "realisation", "warnings"]
    stdout.print(rich_table(title, headers, rows))
    if args.json:
        atomic_write_json(Path(args.json), records)
    return 0


def cmd_profile(args: argparse.Namespace) -> int:
    from .profiles import (
        default_profile,
        fingerprint,
        list_profiles,
        load_profile,
        load_profile_file,
    )
    from .report.terminal import rich_table

    if args.action == "detect":
        info = {**fingerprint(), "default_profile": default_profile().name}
        stdout.print_json(json.dumps(info))
    elif args.action == "list":
        rows = [[p.name, p.device, p.threads, p.dtype, ",".join(map(str, p.batch_sizes)), p.unavailable_reason() or "yes"] for p in list_profiles()]
        stdout.print(rich_table("hardware profiles", ["name", "device", "threads", "dtype", "batch sizes", "usable here"], rows))
    elif args.action == "show":
        if not args.target:
            raise ConfigError("dropbench profile show NAME: which profile? (dropbench profile list)")
        stdout.print_json(json.dumps(load_profile(args.target).as_dict()))
    else:
        if not args.target:
            raise ConfigError("dropbench profile validate FILE: which file?")
        profile = load_profile_file(Path(args.target))
        stdout.print(f"[green]valid[/] profile {profile.name!r} ({profile.device}, {profile.threads} threads)")
    return 0


def cmd_data(args: argparse.Namespace) -> int:
    from .data import availability
    from .report.terminal import rich_table

    rows = [[name, description, "yes" if reason is None else f"no: {reason}"] for name, description, reason in availability()]
    stdout.print(rich_table("data sets", ["name", "description", "available"], rows))
    return 0


def cmd_methods(args: argparse.Namespace) -> int:
    import dataclasses

    from .methods import METHODS
    from .report.terminal import rich_table

    rows = [[m.name, m.summary, ", ".join(f"{f.name}={f.default}" for f in dataclasses.fields(m.Config)) or "-"] for m in METHODS.values()]
    stdout.print(rich_table("methods (set parameters with --set KEY=VALUE)", ["name", "what", "parameters"], rows))
    return 0


VERDICT_STYLE = {"holds": "green", "fails": "red", "inconclusive": "yellow", "not-run": "dim", "error": "bold red"}


def claims_table(records: list[ClaimRecord]):
    from rich.table import Table

    table = Table(title="claims")
    for header in ("claim", "verdict", "measured", "95% CI", "bound", "explanation"):
        table.add_column(header, overflow="fold")
    for r in records:
        style = VERDICT_STYLE[r.verdict]
        measured = "-" if r.measured is None else f"{r.measured:.3g} {r.unit}"
        ci = "-" if r.ci[0] is None else f"[{r.ci[0]:.3g}, {r.ci[1]:.3g}]"
        table.add_row(r.id, f"[{style}]{r.verdict}[/]", measured, ci, f">= {r.bound:g}", r.explanation)
    return table


def cmd_claims(args: argparse.Namespace) -> int:
    from .claims import get_claims
    from .claims.context import ClaimContext
    from .claims.runner import check_claims
    from .plans import plan

    profile = profile_from(args)
    claims = get_claims(args.only)
    context = ClaimContext(profile, plan(args.quick), "quick" if args.quick else "full", min_run_time=args.min_time)
    with make_progress(args.quiet) as progress:
        context.progress = progress
        records = check_claims(claims, context)
    stdout.print(claims_table(records))
    if args.json:
        atomic_write_json(Path(args.json), [r.as_dict() for r in records])
    errors = [r.id for r in records if r.verdict == "error"]
    failed = [r.id for r in records if r.verdict == "fails"]
    for r in records:
        if r.verdict == "error":
            error(f"claim {r.id} could not be checked: {r.explanation}")
    return 1 if errors or (args.strict and failed) else 0


def cmd_reproduce(args: argparse.Namespace) -> int:
    from .profiles import default_profile, load_profile
    from .reproduce import reproduce

    if args.profile and args.profiles:
        raise ConfigError("give --profile NAME or --profiles A,B, not both")
    if args.train_threads and not args.cluster:
        raise ConfigError("--train-threads sets the CPUs of each training task on a cluster; it needs --cluster")
    names = args.profiles or ([args.profile] if args.profile else [])
    profiles = [load_profile(name) for name in names] if names else [default_profile()]
    out = Path(args.out)
    with make_progress(args.quiet) as progress:
        if args.cluster:
            from .cluster import connect, parse_address

            address = parse_address(args.cluster)
            check_output_dir(out, args.force)  # before a cluster is started or joined
            with connect(address, progress, args.train_threads or 1) as cluster:
                result = reproduce(out, args.quick, profiles, force=args.force, progress=progress, executor=cluster)
        else:
            result = reproduce(out, args.quick, profiles, force=args.force, progress=progress)
    runs, report = one_line(result.out / "runs"), one_line(result.out / "report.html")
    on = ", ".join(p.name for p in profiles)
    stdout.print(f"[green]done[/] in {result.seconds:.0f} s: {len(result.runs)} runs in {runs}, timed on {on}, report {report}")
    return 0


def cmd_cluster_estimate(args: argparse.Namespace) -> int:
    from .cluster.estimate import estimate
    from .report.terminal import rich_table

    estimates = estimate(args.dir, list(args.nodes), args.cpus_per_node, args.slowdown, args.other_seconds)
    minutes = lambda s: f"{s / 60:.1f} min"  # noqa: E731
    rows = [[e.nodes, e.nodes * args.cpus_per_node, minutes(e.train_s), minutes(e.other_s), minutes(e.total_s),
             f"{estimates[0].total_s / e.total_s:.2f}x"] for e in estimates]
    title = one_line(f"{args.dir} on N nodes of {args.cpus_per_node} one-CPU workers (training x {args.slowdown:g})")
    stdout.print(rich_table(title, ["nodes", "workers", "training", "export + timing", "total", f"vs {estimates[0].nodes} node(s)"], rows))
    return 0


def cmd_cluster_node(args: argparse.Namespace) -> int:
    from .cluster.node import start_node
    from .profiles import load_profile

    profiles = [load_profile(name) for name in args.profile]
    code = start_node(profiles, args.head, args.address, args.port, args.num_cpus, args.block)
    if code == 0 and not args.block:
        kind, advertised = "head" if args.head else "worker", ", ".join(args.profile) or "no profile"
        stdout.print(f"[green]started[/] a Ray {kind} node advertising {advertised}; stop it with `ray stop`")
    return 0 if code == 0 else 1


def cmd_report(args: argparse.Namespace) -> int:
    from .outputs import rerender

    path = rerender(args.dir, args.compare)
    stdout.print(f"[green]wrote[/] {path}")
    return 0


def cmd_asv_machine(args: argparse.Namespace) -> int:
    from .suites import register_machine

    path = register_machine(args.profile)
    stdout.print(f"[green]registered[/] asv machine {args.profile!r} in {path}; run the suites with:")
    stdout.print(f"  DROPBENCH_PROFILE={args.profile} asv run --machine {args.profile}", soft_wrap=True)
    return 0


def _asv_results(args: argparse.Namespace):
    from .history import load_project, load_results

    project = load_project(Path(args.config))
    return project, load_results(project, Path(args.results) if args.results else None)


def cmd_history(args: argparse.Namespace) -> int:
    from .history import (
        REGRESSION_HEADERS,
        for_machine,
        in_range,
        regression_rows,
        regressions,
    )
    from .report.terminal import rich_table

    project, recorded = _asv_results(args)
    if args.machine:
        recorded = for_machine(recorded, args.machine)
    if args.range:
        recorded = in_range(recorded, args.range, project.root)
    found = regressions(recorded, project.thresholds)
    commits = len({r.commit for r in recorded})
    title = f"regressions in {commits} recorded commits (the first bad commit and the last good one; every figure is lower-is-better)"
    if found:
        stdout.print(rich_table(title, REGRESSION_HEADERS, regression_rows(found)))
    else:
        stdout.print(f"[green]no regressions[/] in {commits} recorded commits")
    if args.json:
        atomic_write_json(Path(args.json), [r.as_dict() for r in found])
    return 0


def cmd_compare_profiles(args: argparse.Namespace) -> int:
    from .fsutil import atomic_write_text
    from .history import (
        COMPARISON_HEADERS,
        compare_profiles,
        comparison_html,
        comparison_rows,
    )
    from .report.terminal import rich_table

    _, recorded = _asv_results(args)
    commit_a, commit_b, pairs = compare_profiles(recorded, args.a, args.b)
    title = f"A = {args.a} ({commit_a[:8]}) vs B = {args.b} ({commit_b[:8]}); every figure is lower-is-better"
    stdout.print(rich_table(title, COMPARISON_HEADERS, comparison_rows(pairs)))
    if args.json:
        atomic_write_json(Path(args.json), {"a": args.a, "b": args.b, "commit_a": commit_a, "commit_b": commit_b, "figures": [p.as_dict() for p in pairs]})
    if args.html:
        atomic_write_text(Path(args.html), comparison_html(args.a, args.b, commit_a, commit_b, pairs))
    return 0


# --- parser --------------------------------------------------------------------------------------


EPOCHS = _number(int, 1, MAX_EPOCHS)
BATCH = _number(int, 1, MAX_BATCH)
SECONDS = _number(float, 0.001, MAX_SECONDS)
ROUNDS = _number(int, 2, 100)  # the interval of a speed ratio is taken over rounds: at least 2
THREADS = _number(int, 1, MAX_THREADS)

# Options that several commands share, each declared once. A command adds them in the order its
# --help lists them; where the help text or the default genuinely differs, the command passes it.


def add_profile_option(p: argparse.ArgumentParser, help: str = "hardware profile name or JSON file (default: detected)") -> None:
    """--profile: one hardware profile for the command's timing (read back with profile_from)."""
    p.add_argument("--profile", help=help)


def add_json_option(p: argparse.ArgumentParser, help: str) -> None:
    p.add_argument("--json", help=help)


def add_quiet_option(p: argparse.ArgumentParser, help: str | None = None) -> None:
    p.add_argument("--quiet", action="store_true", help=help)


def add_min_time_option(p: argparse.ArgumentParser, default: float, help: str) -> None:
    p.add_argument("--min-time", type=SECONDS, default=default, help=help)


def add_rounds_option(p: argparse.ArgumentParser, default: int, help: str) -> None:
    p.add_argument("--rounds", type=ROUNDS, default=default, help=help)


def add_batch_size_option(p: argparse.ArgumentParser, default: int) -> None:
    """--batch-size N for the commands that use one batch size (bench and speedup take several: add_model_options)."""
    p.add_argument("--batch-size", type=BATCH, default=default)


def add_out_option(p: argparse.ArgumentParser, help: str) -> None:
    """--out DIR (checked with --force by check_outputs before any work starts)."""
    p.add_argument("--out", required=True, help=help)


def add_force_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--force", action="store_true", help="replace --out if it is an earlier dropbench output")


def add_quick_option(p: argparse.ArgumentParser, help: str) -> None:
    p.add_argument("--quick", action="store_true", help=help)


def add_set_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="method hyper-parameter (repeatable)")


def add_model_options(p: argparse.ArgumentParser) -> None:
    """What bench and speedup time, and where: --profile, --runtimes, --batch-size (repeatable), --shape."""
    add_profile_option(p)
    p.add_argument("--runtimes", "--runtime", dest="runtimes", action="extend", type=_runtime_list,
                   help="comma-separated: torch-eager, onnxruntime, torch-sparse, torch-compile (default: all that apply but torch-compile)")
    p.add_argument("--batch-size", action="append", type=BATCH, help="override the profile's batch sizes (repeatable)")
    p.add_argument("--shape", action="append", metavar="NAME=DIMS",
                   help="ONNX files: the full shape of an input with dynamic axes, e.g. input=1x3x224x224 (repeatable)")


def add_asv_results_options(p: argparse.ArgumentParser) -> None:
    """Where history and compare-profiles read the recorded asv results from."""
    p.add_argument("--config", default="asv.conf.json", help="the asv configuration (default: ./asv.conf.json)")
    p.add_argument("--results", help="asv results directory (default: the configuration's results_dir)")
    add_json_option(p, "also write the figures to this JSON file")


# Each command family adds its subcommands; build_parser adds the families in the order --help lists them.


def add_train_commands(sub) -> None:
    """train, export."""
    p = sub.add_parser("train", help="train a method, compact it, write a checkpoint directory")
    p.add_argument("--method", required=True, help="dense, dropout, magnitude, ... (dropbench methods)")
    p.add_argument("--model", default="mlp", help="mlp, lenet-300-100, lenet5, lstm")
    p.add_argument("--data", default="digits", help="digits, mnist-5k, mnist1d, pydoc-text, idx:DIR (dropbench data list)")
    p.add_argument("--hidden", type=_csv_ints, help="hidden widths, e.g. 1024,1024,1024 (model default otherwise)")
    add_out_option(p, "checkpoint directory to write")
    add_set_option(p)
    p.add_argument("--epochs", type=EPOCHS, default=20)
    add_batch_size_option(p, 64)
    p.add_argument("--lr", type=_number(float, 1e-12, 100.0), default=1e-3)
    p.add_argument("--optimizer", default="adam", help="adam or sgd")
    p.add_argument("--schedule", default="constant", help="constant, cosine or step")
    p.add_argument("--weight-decay", type=_number(float, 0.0, 100.0), default=0.0)
    p.add_argument("--grad-clip", type=_number(float, 0.0, 1e6), default=0.0, help="max gradient norm (0 = off)")
    p.add_argument("--seed", type=_number(int, 0, MAX_SEED), default=0)
    add_force_option(p)
    add_quiet_option(p, "no progress bar")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("export", help="export a checkpoint to ONNX and check onnxruntime parity")
    p.add_argument("run", type=Path)
    p.add_argument("--tolerance", type=_number(float, 0.0, 1.0), default=1e-4, help="largest allowed |onnxruntime - torch|")
    p.set_defaults(func=cmd_export)


def add_timing_commands(sub) -> None:
    """bench, speedup, calibrate, train-speed."""
    p = sub.add_parser("bench", help="time inference of a checkpoint or any ONNX file in each runtime")
    p.add_argument("run", type=Path, help="a checkpoint directory or an ONNX file")
    add_model_options(p)
    add_min_time_option(p, 0.5, "seconds of samples per measurement")
    add_json_option(p, "also write the figures to this JSON file")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("speedup", help="interleaved inference speedup of a compacted model over a baseline, beside the FLOP ratio")
    p.add_argument("baseline", type=Path, help="a checkpoint directory or an ONNX file")
    p.add_argument("candidate", type=Path, help="a checkpoint directory or an ONNX file (ONNX files are compared in onnxruntime)")
    add_model_options(p)
    add_min_time_option(p, 0.5, "seconds of interleaved samples per timing round")
    add_rounds_option(p, 3, "timing rounds (fresh runners, alternating order); the interval is over rounds")
    add_json_option(p, "also write the records to this JSON file")
    p.set_defaults(func=cmd_speedup)

    p = sub.add_parser("calibrate", help="A/A: time a checkpoint against itself N times; the intervals must cover 1.0")
    p.add_argument("run", type=Path, help="a checkpoint directory or an ONNX file")
    p.add_argument("--comparisons", type=_number(int, 1, 1000), default=20)
    p.add_argument("--runtime", default="onnxruntime", help="torch-eager or onnxruntime")
    add_batch_size_option(p, 64)
    add_rounds_option(p, 5, "timing rounds per comparison (fresh runners, alternating order)")
    add_min_time_option(p, 0.5, "seconds of interleaved samples per round")
    add_profile_option(p)
    add_json_option(p, "also write the comparisons to this JSON file")
    add_quiet_option(p, "no progress bar")
    p.set_defaults(func=cmd_calibrate)

    p = sub.add_parser("train-speed", help="training-step time of a method vs standard dropout at the same rates (interleaved)")
    p.add_argument("--method", default="approximate-random", help="a method with a dropout rate parameter p")
    p.add_argument("--p", type=_csv_rates, default=(0.3, 0.5, 0.7), help="dropout rates, e.g. 0.3,0.5,0.7")
    p.add_argument("--model", default="mlp", help="mlp, lenet-300-100, lstm")
    p.add_argument("--data", default="mnist-5k", help="data set (pydoc-text for the lstm)")
    p.add_argument("--hidden", type=_csv_ints, help="hidden widths, e.g. 2048,2048,2048")
    add_batch_size_option(p, 128)
    add_set_option(p)
    add_profile_option(p)
    add_min_time_option(p, 2.0, "seconds of interleaved samples per rate")
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


def add_claims_commands(sub) -> None:
    """claims, reproduce."""
    p = sub.add_parser("claims", help="check the papers' claims on this machine: holds / fails / inconclusive / not-run")
    add_quick_option(p, "the quick setups (minutes) instead of the full ones")
    add_profile_option(p, "hardware profile (default: detected)")
    p.add_argument("--only", nargs="+", metavar="ID", help="check only these claims")
    add_json_option(p, "write the records to this JSON file")
    p.add_argument("--strict", action="store_true", help="exit 1 when a claim fails, not only when one errors")
    add_min_time_option(p, 1.0, "seconds of interleaved samples per speed ratio")
    add_quiet_option(p)
    p.set_defaults(func=cmd_claims)

    p = sub.add_parser("reproduce", help="the main job: every method trained, compacted, exported, benched, reported")
    add_quick_option(p, "small nets on digits (minutes)")
    add_out_option(p, "output directory")
    add_profile_option(p, "hardware profile (default: detected)")
    p.add_argument("--profiles", type=_csv_names, help="time and check the claims on each of these profiles (comma-separated)")
    p.add_argument("--cluster", metavar="ADDRESS", help='run on Ray: local:N (N workers), auto, HOST:PORT or ray://HOST:PORT (pip install -e ".[cluster]")')
    p.add_argument("--train-threads", type=THREADS, help="CPUs (and torch threads) of each training task on the cluster (default 1)")
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
    p.add_argument("--port", type=_number(int, 1, 65535), default=6379, help="the head's port (default 6379)")
    p.add_argument("--num-cpus", type=THREADS, help="CPUs the node offers (default: all)")
    p.add_argument("--block", action="store_true", help="stay in the foreground until the node stops")
    p.set_defaults(func=cmd_cluster_node)

    p = cluster.add_parser("estimate", help="how long a reproduce output's plan would take on N nodes, from its recorded training times")
    p.add_argument("dir", type=Path, help="a reproduce output (runs/*/manifest.json, reproduce.json)")
    p.add_argument("--nodes", type=_node_counts, default=(1, 2, 4, 8), help="node counts (default 1,2,4,8)")
    p.add_argument("--cpus-per-node", type=THREADS, default=2, help="one-CPU training workers per node (default 2)")
    p.add_argument("--slowdown", type=_number(float, 0.01, 100), default=1.0,
                   help="training time with one thread over the recorded one (default 1: recorded with one thread)")
    p.add_argument("--other-seconds", type=_number(float, 0, 1e7), help="export, copy and timing seconds (default: from DIR/reproduce.json)")
    p.set_defaults(func=cmd_cluster_estimate)


def add_results_commands(sub) -> None:
    """report, asv-machine, history, compare-profiles: what was recorded, re-read without re-running it."""
    p = sub.add_parser("report", help="re-render DIR/report.html from a reproduce or claims output, without re-running anything")
    p.add_argument("dir", type=Path, help="a reproduce output, or a directory holding claims.json")
    p.add_argument("--compare", type=Path, metavar="DIR2", help="a second output to put side by side (e.g. another profile or commit)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("asv-machine", help="register the asv machine named after a hardware profile")
    p.add_argument("profile", help="hardware profile name (dropbench profile list)")
    p.set_defaults(func=cmd_asv_machine)

    p = sub.add_parser("history", help="which figures regressed at which commit, from the recorded asv results")
    p.add_argument("range", nargs="?", help="git commit range to look at, e.g. main..HEAD (default: every recorded commit)")
    p.add_argument("--machine", help="only this machine (hardware profile)")
    add_asv_results_options(p)
    p.set_defaults(func=cmd_history)

    p = sub.add_parser("compare-profiles", help="every recorded figure of two hardware profiles side by side")
    p.add_argument("a", help="profile A (an asv machine name)")
    p.add_argument("b", help="profile B")
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


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        check_outputs(args)
        return args.func(args)
    except DropbenchError as e:
        error(e)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        console.print("[bold red]interrupted[/]: nothing half-written was left behind")
        return 130


def check_outputs(args: argparse.Namespace) -> None:
    """Every output target (--out, --json, --html) is checked before any work starts."""
    if getattr(args, "out", None):
        check_output_dir(Path(args.out), getattr(args, "force", False))
    for flag in ("json", "html"):
        if getattr(args, flag, None):
            check_output_file(Path(getattr(args, flag)), f"--{flag}")


if __name__ == "__main__":
    sys.exit(main())
