"""The command line's building blocks: a parser whose usage errors are one line, argument types
with bounds, and the options several commands share, each declared once (as pytest-benchmark's
option groups); a command passes its own help text or default where they genuinely differ."""

from __future__ import annotations

import argparse
import math
from typing import TYPE_CHECKING, Sequence

from ..errors import ConfigError, DropbenchError
from ..limits import (
    MAX_BATCH, MAX_EPOCHS, MAX_LAYERS, MAX_NODE_COUNTS, MAX_NODES, MAX_PLAN_SEEDS, MAX_SECONDS, MAX_SEED, MAX_THREADS, MAX_WIDTH,
)

if TYPE_CHECKING:  # annotations only: profiles and plans load inside profile_from and plan_from
    from ..profiles import Profile
    from ..schemas.plan import PlanSchema

EXIT_USER_ERROR = 2


class Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line like every other error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise DropbenchError(f"{message} (see `{self.prog} --help`)")

    def _get_value(self, action: argparse.Action, arg_string: str):
        """An empty or blank value (`--cluster ""`) is an error, never the default: every value
        passes here (the subcommand's own parser checks the arguments it is handed)."""
        if action.nargs != argparse.PARSER and not arg_string.strip():
            raise argparse.ArgumentError(action, f"expected a value, got {arg_string!r}; give one or leave the option out")
        return super()._get_value(action, arg_string)


def bounded(kind: type, low: float, high: float):
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


def int_list(text: str, what: str) -> tuple[int, ...]:
    """Comma-separated integers (empty items ignored); anything else is an argument error naming `what`."""
    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated {what}, got {text!r}") from None


def csv_ints(text: str) -> tuple[int, ...]:
    values = int_list(text, "positive integers")
    if not values or len(values) > MAX_LAYERS or not all(1 <= v <= MAX_WIDTH for v in values):
        raise argparse.ArgumentTypeError(f"expected 1 to {MAX_LAYERS} widths from 1 to {MAX_WIDTH}, got {text!r}")
    return values


def csv_rates(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(",") if v)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated dropout rates, got {text!r}") from None
    if not values or not all(0.0 <= v < 1.0 for v in values):
        raise argparse.ArgumentTypeError(f"expected dropout rates in [0, 1), got {text!r}")
    return values


def seed_list(text: str) -> tuple[int, ...]:
    """--seeds 0,1,2: distinct seeds from 0 to MAX_SEED, at most MAX_PLAN_SEEDS."""
    seeds = int_list(text, "seeds")
    if not seeds or len(seeds) > MAX_PLAN_SEEDS or not all(0 <= s <= MAX_SEED for s in seeds):
        raise argparse.ArgumentTypeError(f"expected 1 to {MAX_PLAN_SEEDS} seeds from 0 to {MAX_SEED}, got {text!r}")
    if len(set(seeds)) < len(seeds):
        raise argparse.ArgumentTypeError(f"seeds must be distinct, got {text!r}")
    return seeds


def add_seeds_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seeds", type=seed_list, metavar="LIST",
                   help="the seeds of every run a verdict reads, e.g. 0,1,2,3,4 (default: the plan's; each seed is cached on its own)")


BUDGET_MINUTES = bounded(float, 1, 7 * 24 * 60)  # a look needs a minute at least; a week is surely a typo


def add_until_decided_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--until-decided", action="store_true",
                   help="add seeds to the runs of inconclusive claims and check them again until decided (needs --budget; docs/claims.md)")
    p.add_argument("--budget", type=BUDGET_MINUTES, metavar="MINUTES", help="wall-time budget of --until-decided, in minutes")


def node_counts(text: str) -> tuple[int, ...]:
    """--nodes 1,2,4,8: 1 to MAX_NODE_COUNTS counts from 1 to MAX_NODES (each is a row of the estimate)."""
    try:
        counts = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        counts = ()
    if not 1 <= len(counts) <= MAX_NODE_COUNTS or not all(1 <= n <= MAX_NODES for n in counts):
        raise argparse.ArgumentTypeError(f"expected 1 to {MAX_NODE_COUNTS} comma-separated node counts from 1 to {MAX_NODES}, got {text!r}")
    return counts


def csv_names(text: str) -> list[str]:
    names = list(dict.fromkeys(name.strip() for name in text.split(",") if name.strip()))
    if not names:
        raise argparse.ArgumentTypeError(f"expected comma-separated profile names, got {text!r}")
    return names


def key_values(pairs: Sequence[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set expects KEY=VALUE, got {pair!r}")
        out[key] = value
    return out


def profile_from(args: argparse.Namespace) -> Profile:
    """The hardware profile named by --profile (a name or a JSON file), or the one detected on this machine."""
    from ..profiles import default_profile, load_profile

    return load_profile(args.profile) if args.profile else default_profile()


def runtime_list(text: str) -> list[str]:
    from ..runtimes import parse_runtimes

    return parse_runtimes(text)


EPOCHS = bounded(int, 1, MAX_EPOCHS)
BATCH = bounded(int, 1, MAX_BATCH)
SECONDS = bounded(float, 0.001, MAX_SECONDS)
ROUNDS = bounded(int, 2, 100)  # the interval of a speed ratio is taken over rounds: at least 2
THREADS = bounded(int, 1, MAX_THREADS)

# Options that several commands share, each declared once. A command adds them in the order its
# --help lists them; where the help text or the default genuinely differs, the command passes it.


def add_profile_option(p: argparse.ArgumentParser, help: str = "hardware profile name or JSON file (default: detected)") -> None:
    """--profile: one hardware profile for the command's timing (read back with profile_from)."""
    p.add_argument("--profile", help=help)


def add_train_threads_option(p: argparse.ArgumentParser, where: str = "") -> None:
    p.add_argument("--train-threads", type=THREADS,
                   help=f"torch threads (and CPUs) of each training{where} (default 1: as many trainings side by side as there are cores)")


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


def add_plan_options(p: argparse.ArgumentParser) -> None:
    """--plan, --quick, --seeds, --data: which plan runs (read back with plan_from)."""
    p.add_argument("--plan", metavar="NAME_OR_FILE", help="a built-in plan (quick, full) or a plan file (dropbench plan show quick > my.toml); default: full")
    p.add_argument("--quick", action="store_true", help="the built-in quick plan (--plan quick): small nets, minutes")
    add_seeds_option(p)
    p.add_argument("--data", metavar="SPEC", help="the data of every run that does not pin its own: mnist, idx:DIR, npz:PATH, ... (dropbench data list)")


def plan_from(args: argparse.Namespace) -> PlanSchema:
    """The plan --plan or --quick names (full when neither), with --seeds and --data applied, validated
    (against the schema first, which needs no torch, so a bad field is said at once)."""
    from ..plans.files import overridden, read_plan

    if args.plan and args.quick:
        raise ConfigError("give --plan NAME_OR_FILE or --quick (the built-in quick plan), not both")
    source = args.plan or ("quick" if args.quick else "full")
    plan = overridden(read_plan(source), args.seeds, args.data)
    from ..plans.checks import check_plan

    check_plan(plan, source)
    return plan


def add_set_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="method hyper-parameter (repeatable)")


def add_model_options(p: argparse.ArgumentParser) -> None:
    """What bench and speedup time, and where: --profile, --runtimes, --batch-size (repeatable), --shape."""
    add_profile_option(p)
    p.add_argument("--runtimes", "--runtime", dest="runtimes", action="extend", type=runtime_list,
                   help="comma-separated: torch-eager, onnxruntime, torch-sparse, torch-compile (default: all that apply but torch-compile)")
    p.add_argument("--batch-size", action="append", type=BATCH, help="override the profile's batch sizes (repeatable)")
    p.add_argument("--shape", action="append", metavar="NAME=DIMS",
                   help="ONNX files: the full shape of an input with dynamic axes, e.g. input=1x3x224x224 (repeatable)")


def add_asv_location_options(p: argparse.ArgumentParser) -> None:
    """Where the recorded asv results are: --config, --results."""
    p.add_argument("--config", default="asv.conf.json", help="the asv configuration (default: ./asv.conf.json)")
    p.add_argument("--results", help="asv results directory (default: the configuration's results_dir)")


def add_asv_results_options(p: argparse.ArgumentParser) -> None:
    """What history and compare-profiles read and write: the recorded asv results, --json."""
    add_asv_location_options(p)
    add_json_option(p, "also write the figures to this JSON file")
