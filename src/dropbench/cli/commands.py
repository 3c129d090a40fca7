"""The commands: each calls one library function with its parsed arguments and prints the result.

The library is imported inside each command, so `dropbench --help` does not load torch."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from ..console import console, error, make_progress, one_line, stdout
from ..errors import ConfigError
from ..fsutil import atomic_write_json, check_output_dir, user_path

from .options import key_values, plan_from, profile_from

if TYPE_CHECKING:  # annotations only: the library loads inside each command
    from ..claims.record import ClaimRecord


# --- commands ------------------------------------------------------------------------------------


def cmd_train(args: argparse.Namespace) -> int:
    from ..runs import RunSpec, train_run
    from ..train import TrainConfig

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
    spec = RunSpec(Path(args.out).name, args.method, key_values(args.set), args.model, args.data, args.hidden, config)
    with make_progress(args.quiet) as progress:
        out = train_run(spec, Path(args.out), force=args.force, progress=progress)
    from ..checkpoint import load_checkpoint

    metrics = load_checkpoint(out).metrics
    stdout.print(
        f"[green]saved[/] {one_line(out)}: test accuracy {100 * metrics['accuracy']:.2f}%, {metrics['params']:,} params "
        f"({metrics['nonzero_params']:,} non-zero), {metrics['flops']:,} FLOPs/sample"
    )
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from ..export import export_checkpoint

    result = export_checkpoint(args.run, tolerance=args.tolerance)
    stdout.print(f"[green]exported[/] {one_line(result.path)}: onnxruntime vs torch max |diff| = {result.max_abs_diff:.2e} on {result.inputs}")
    return 0




def cmd_bench(args: argparse.Namespace) -> int:
    from ..timing.measurement import format_seconds
    from ..onnx_model import parse_shapes
    from ..report.terminal import rich_table
    from ..runtimes.loading import load_model
    from ..timing.latency import bench_checkpoint

    profile = profile_from(args)
    model = load_model(args.run, parse_shapes(args.shape))
    results = [r.as_dict() for r in bench_checkpoint(model, profile, args.runtimes, args.batch_size, args.min_time)]
    say_left_out(args, model)
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
        from ..provenance import provenance

        atomic_write_json(Path(args.json), {"checkpoint": str(model.path), "profile": profile.as_dict(),
                                            "provenance": provenance().as_dict(), "measurements": results})
    return 0


def cmd_speedup(args: argparse.Namespace) -> int:
    from ..onnx_model import parse_shapes
    from ..report.terminal import rich_table
    from ..runtimes.loading import load_pair
    from ..timing.inference import speedup_records

    profile = profile_from(args)
    baseline, candidate = load_pair(args.baseline, args.candidate, parse_shapes(args.shape))
    records = speedup_records(baseline, candidate, profile, args.min_time, args.runtimes, args.batch_size, args.rounds)
    say_left_out(args, baseline, candidate)
    rows = [
        [r["runtime"], r["batch"], *(["-"] * 5), f"skipped: {r['skipped']}"] if "skipped" in r else [
            r["runtime"],
            r["batch"],
            f"{r['speedup']:.2f}x",
            f"[{r['ci'][0]:.2f}, {r['ci'][1]:.2f}]",
            f"{r['flop_ratio']:.2f}x",
            f"{r['realisation']:.2f}",
            _compile_times(r),
            "; ".join(r["warnings"] + ([f"why: {r['cause']}"] if r.get("cause") else [])),
        ]
        for r in records
    ]
    title = one_line(f"{candidate.name} over {baseline.name} on {profile.name} ({args.rounds} timing rounds; interval over rounds)")
    headers = ["runtime", "batch", "measured speedup", "95% CI", "FLOP ratio", "realisation", "compile (base / cand.)", "warnings"]
    stdout.print(rich_table(title, headers, rows))
    if args.json:
        atomic_write_json(Path(args.json), records)
    return 0


def say_left_out(args: argparse.Namespace, *models) -> None:
    """With no --runtimes, one line naming each default runtime that cannot run the checkpoints, and
    why (an ONNX file runs in onnxruntime alone, which needs no saying)."""
    from ..checkpoint import Checkpoint
    from ..runtimes import left_out

    checkpoints = all(isinstance(m, Checkpoint) for m in models)
    reasons = left_out(*models) if checkpoints and not args.runtimes else {}
    if reasons:
        console.print(one_line("not timed: " + "; ".join(f"{runtime} ({reason})" for runtime, reason in reasons.items())), soft_wrap=True)


def cmd_calibrate(args: argparse.Namespace) -> int:
    from ..runtimes.loading import load_model
    from ..timing.inference import aa_calibration

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
    from ..report.terminal import rich_table
    from ..runs import RunSpec
    from ..timing.training import savings_over_dropout
    from ..train import TrainConfig

    profile = profile_from(args)
    spec = RunSpec(args.method, args.method, key_values(args.set), args.model, args.data, args.hidden, TrainConfig(batch_size=args.batch_size))
    records = savings_over_dropout(spec, args.p, profile, args.min_time)
    rows = [[
        f"{r['p']:g}", f"{1e3 * r['baseline_timing']['median_s']:.1f} ms", f"{1e3 * r['candidate_timing']['median_s']:.1f} ms",
        f"{100 * r['time_saved']:.0f}%", f"[{100 * r['time_saved_ci'][0]:.0f}, {100 * r['time_saved_ci'][1]:.0f}]%",
        f"{100 * r['flop_ideal']:.0f}%", f"{100 * (1 - (1 - r['p']) ** 2):.0f}%", f"{r['realisation']:.2f}", "; ".join(r["warnings"]),
    ] for r in records]
    title = (f"training step of {args.method} vs dropout, {args.model} on {args.data}, batch {args.batch_size}, {profile.name} "
             "(each step alone in a process, one run per p)")
    headers = ["p", "dropout step", f"{args.method} step", "time saved", "95% CI", "FLOP ideal", "1-(1-p)^2", "realisation", "warnings"]
    stdout.print(rich_table(title, headers, rows))
    if args.json:
        atomic_write_json(Path(args.json), records)
    return 0


def cmd_profile(args: argparse.Namespace) -> int:
    from ..profiles import (
        default_profile,
        fingerprint,
        list_profiles,
        load_profile,
        load_profile_file,
    )
    from ..report.terminal import rich_table

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
    from ..data import availability
    from ..report.terminal import rich_table

    rows = [[name, description, "yes" if reason is None else f"no: {reason}"] for name, description, reason in availability()]
    stdout.print(rich_table("data sets", ["name", "description", "available here (or why not)"], rows))
    return 0


def cmd_methods(args: argparse.Namespace) -> int:
    import dataclasses

    from ..methods import METHODS
    from ..report.terminal import rich_table

    rows = [[m.name, m.summary, ", ".join(f"{f.name}={f.default}" for f in dataclasses.fields(m.Config)) or "-"] for m in METHODS.values()]
    stdout.print(rich_table("methods (set parameters with --set KEY=VALUE)", ["name", "what", "parameters"], rows))
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    import sys

    from ..plans.files import plan_sha256, plan_toml, read_plan

    plan = read_plan(args.target)  # the schema: torch-free
    if args.action == "show":  # the built-in plans pass the catalogue too (tests/test_plans.py)
        sys.stdout.flush()
        sys.stdout.buffer.write(plan_toml(plan).encode())  # not rich: TOML's [[runs]] is not markup; UTF-8 whatever the locale, as TOML is
        return 0
    from ..plans.checks import check_plan

    check_plan(plan, args.target)
    stdout.print(f"[green]valid[/] plan {plan.name!r}: {len(plan.runs)} runs, {len(plan.claims)} claims, sha256 {plan_sha256(plan)}", soft_wrap=True)
    return 0


VERDICT_STYLE = {"holds": "green", "fails": "red", "inconclusive": "yellow", "not-run": "dim", "error": "bold red"}


def claims_table(records: list[ClaimRecord]):
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="claims")
    for header in ("claim", "verdict", "measured", "CI (95 % unless marked)", "bound", "explanation"):
        table.add_column(header, overflow="fold")
    for r in records:
        style = VERDICT_STYLE[r.verdict]
        measured = "-" if r.measured is None else f"{r.measured:.3g} {r.unit}"
        why = f"[{style}]{escape(r.reason)}[/]\n" if r.reason else ""
        table.add_row(r.id, f"[{style}]{r.verdict_words}[/]", measured, r.interval_words, r.bound_words, f"{why}{r.explanation}")
    return table


def cmd_claims(args: argparse.Namespace) -> int:
    import functools

    plan = plan_from(args)  # a bad plan is said before the library loads
    from ..claims.adaptive import check_until_decided
    from ..claims.context import ClaimContext, claim_run_names
    from ..claims.runner import check_claims
    from ..plans.specs import plan_checks, run_specs
    from ..runs import cache_root
    from ..stages import train_all

    if args.until_decided and args.budget is None:
        raise ConfigError("--until-decided needs --budget MINUTES: how long it may keep adding seeds")
    if args.budget is not None and not args.until_decided:
        raise ConfigError("--budget applies to --until-decided only; add --until-decided or drop --budget")
    profile = profile_from(args)
    cache_root()  # a bad $DROPBENCH_CACHE is one line here, not one per claim
    checks, specs = plan_checks(plan, args.only), run_specs(plan)
    claims = list(checks.claims)
    needed = {name for claim in claims for name in claim_run_names(claim, specs)}
    with make_progress(args.quiet) as progress:
        if profile.unavailable_reason() is None:  # else every claim is not-run: nothing to train
            train_all([spec for spec in specs if spec.name in needed], progress, args.train_threads)  # as reproduce trains them
        make_context = functools.partial(ClaimContext, profile, checks=checks, progress=progress, min_run_time=args.min_time)
        if args.until_decided:
            records = check_until_decided(claims, specs, make_context, 60 * args.budget, log=lambda line: console.print(one_line(line)))
        else:
            records = check_claims(claims, make_context(specs))
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
    plan = plan_from(args)  # a bad plan is said before the library loads
    from ..profiles import default_profile, load_profile
    from ..execution import LocalExecutor
    from ..reproduce import reproduce
    from ..runs import cache_root

    if args.profile and args.profiles:
        raise ConfigError("give --profile NAME or --profiles A,B, not both")
    names = args.profiles or ([args.profile] if args.profile else plan.profiles)
    profiles = [load_profile(name) for name in names] if names else [default_profile()]
    cache_root()  # a bad $DROPBENCH_CACHE is said before anything is trained
    out = Path(args.out)
    with make_progress(args.quiet) as progress:
        if args.cluster:
            from ..cluster import connect, parse_address

            address = parse_address(args.cluster)
            check_output_dir(out, args.force)  # before a cluster is started or joined
            with connect(address, progress, args.train_threads or 1) as cluster:
                result = reproduce(out, plan, profiles, force=args.force, progress=progress, executor=cluster)
        else:
            result = reproduce(out, plan, profiles, force=args.force, progress=progress, executor=LocalExecutor(progress, args.train_threads))
    runs, report = one_line(result.out / "runs"), one_line(result.out / "report.html")
    on = ", ".join(p.name for p in profiles)
    stdout.print(f"[green]done[/] in {result.seconds:.0f} s: {len(result.runs)} runs in {runs}, timed on {on}, report {report}")
    return 0


def cmd_cluster_estimate(args: argparse.Namespace) -> int:
    from ..report.terminal import rich_table

    if (args.dir is None) == (args.plan is None):
        raise ConfigError("give a reproduce output DIR or --plan NAME_OR_FILE (a plan not yet run), one of them")
    estimates, what = _plan_estimates(args) if args.plan else _output_estimates(args)
    minutes = lambda s: f"{s / 60:.1f} min"  # noqa: E731
    rows = [[e.nodes, e.nodes * args.cpus_per_node, minutes(e.train_s), minutes(e.other_s), minutes(e.total_s),
             f"{estimates[0].total_s / e.total_s:.2f}x"] for e in estimates]
    title = one_line(f"{what} on N nodes of {args.cpus_per_node} one-CPU workers")
    stdout.print(rich_table(title, ["nodes", "workers", "training", "export + timing", "total", f"vs {estimates[0].nodes} node(s)"], rows))
    return 0


def _output_estimates(args: argparse.Namespace) -> tuple[list, str]:
    from ..cluster.estimate import estimate

    return estimate(args.dir, list(args.nodes), args.cpus_per_node, args.slowdown, args.other_seconds), f"{args.dir} (training x {args.slowdown:g})"


def _plan_estimates(args: argparse.Namespace) -> tuple[list, str]:
    """A plan before it runs: checked against the schema and the catalogue (not its data, which it may lack here)."""
    from ..plans.checks import check_registries
    from ..plans.files import read_plan

    if args.slowdown != 1.0:
        raise ConfigError("--slowdown scales a reproduce output's recorded times; --plan times its steps with one thread already")
    plan = read_plan(args.plan)
    check_registries(plan, args.plan)  # a bad plan is said before torch loads
    from ..cluster.estimate import DEFAULT_OTHER_S, estimate_plan
    from ..plans.specs import run_specs

    notes = {""}

    def said(cost) -> None:
        if cost.note not in notes:  # where the data's size came from, once
            notes.add(cost.note)
            console.print(one_line(cost.note), soft_wrap=True, markup=False)
        console.print(one_line(f"timed {cost.name}: {1000 * cost.step_s:.1f} ms/step x {cost.steps:,} steps = {cost.seed_s / 60:.1f} min "
                               f"per seed x {cost.seeds} seed(s)"), soft_wrap=True, markup=False)

    other_s = DEFAULT_OTHER_S if args.other_seconds is None else args.other_seconds
    _, estimates = estimate_plan(run_specs(plan), list(args.nodes), args.cpus_per_node, other_s, args.steps, said)
    return estimates, f"plan {plan.name!r} (extrapolated from {args.steps} timed steps per run, one thread)"


def cmd_cluster_node(args: argparse.Namespace) -> int:
    from ..cluster.node import start_node
    from ..profiles import load_profile

    profiles = [load_profile(name) for name in args.profile]
    code = start_node(profiles, args.head, args.address, args.port, args.num_cpus, args.block)
    if code == 0 and not args.block:
        kind, advertised = "head" if args.head else "worker", ", ".join(args.profile) or "no profile"
        stdout.print(f"[green]started[/] a Ray {kind} node advertising {advertised}; stop it with `ray stop`")
    return 0 if code == 0 else 1


def cmd_report(args: argparse.Namespace) -> int:
    from ..outputs import rerender

    path = rerender(args.dir, args.compare)
    stdout.print(f"[green]wrote[/] {path}")
    return 0


def cmd_asv_machine(args: argparse.Namespace) -> int:
    from ..history import load_project
    from ..machines import register_machine

    results_dir = user_path(args.results, "--results", ConfigError) if args.results else load_project(Path(args.config)).results_dir
    name, path = register_machine(args.profile, results_dir, args.name)
    if args.quiet:
        stdout.print(name, soft_wrap=True)  # for scripts: machine=$(dropbench asv-machine PROFILE --quiet)
        return 0
    stdout.print(f"[green]registered[/] asv machine {name!r} (profile {args.profile} on this machine's hardware) in {one_line(path)}; run the suites with:")
    stdout.print(f"  DROPBENCH_PROFILE={args.profile} asv run --machine {name}", soft_wrap=True)
    return 0


def _asv_results(args: argparse.Namespace):
    from ..history import load_project, load_results

    project = load_project(Path(args.config))
    return project, load_results(project, Path(args.results) if args.results else None)


def _print_notes(notes: list[str]) -> None:
    for note in notes:
        stdout.print(f"[yellow]note:[/] {one_line(note)}", soft_wrap=True)


def cmd_history(args: argparse.Namespace) -> int:
    from ..history import (
        REGRESSION_HEADERS,
        hardware_notes,
        in_range,
        named,
        regression_rows,
        regressions,
    )
    from ..report.terminal import rich_table

    project, recorded = _asv_results(args)
    if args.machine:
        recorded = named(recorded, args.machine)
    if args.range:
        recorded = in_range(recorded, args.range, project.root)
    found = regressions(recorded, project.thresholds)
    _print_notes(hardware_notes(recorded))
    commits = len({r.commit for r in recorded})
    title = f"regressions in {commits} recorded commits (the first bad commit and the last good one; every figure is lower-is-better)"
    if found:
        stdout.print(rich_table(title, REGRESSION_HEADERS, regression_rows(found)))
    else:
        stdout.print(f"[green]no regressions[/] in {commits} recorded commits")
    if args.json:
        atomic_write_json(Path(args.json), [r.as_dict() for r in found])
    return 0


def cmd_record_history(args: argparse.Namespace) -> int:
    from ..history import load_project
    from ..recording import record

    project = load_project(Path(args.config))
    if args.results:
        project = replace(project, results_dir=user_path(args.results, "--results", ConfigError))
    recordings = record(project, args.range, profile_name(args), count=args.spread, progress=lambda line: stdout.print(line, soft_wrap=True))
    missing = [r.commit[:8] for r in recordings if r.results is None]
    done = len(recordings) - len(missing)
    stdout.print(f"[green]recorded[/] {done} commit(s) in {project.results_dir}" + (f"; [red]no results[/] for {', '.join(missing)}" if missing else ""))
    return 1 if missing else 0


def profile_name(args: argparse.Namespace) -> str:
    """--profile, else the profile detected here: asv machines are registered by profile name."""
    from ..profiles import default_profile

    return args.profile or default_profile().name


def cmd_gate(args: argparse.Namespace) -> int:
    from ..history import load_project
    from ..recording import GATE_FACTOR, gate

    factor = args.factor or GATE_FACTOR
    status = gate(load_project(Path(args.config)), args.base, args.head, profile_name(args), factor=factor)
    stdout.print(f"[red]gate failed[/]: {args.head} is slower than {args.base} (or a benchmark failed)" if status
                 else f"[green]gate passed[/]: no significant slowdown above {factor}x")
    return 1 if status else 0


def cmd_compare_profiles(args: argparse.Namespace) -> int:
    from ..fsutil import atomic_write_text
    from ..history import (
        COMPARISON_HEADERS,
        compare_profiles,
        comparison_html,
        comparison_rows,
        comparison_title,
    )
    from ..report.terminal import rich_table

    _, recorded = _asv_results(args)
    comparison = compare_profiles(recorded, args.a, args.b)
    _print_notes(comparison.notes)
    stdout.print(rich_table(comparison_title(comparison), COMPARISON_HEADERS, comparison_rows(comparison.pairs)))
    if args.json:
        atomic_write_json(Path(args.json), comparison.as_dict())
    if args.html:
        atomic_write_text(Path(args.html), comparison_html(comparison))
    return 0
