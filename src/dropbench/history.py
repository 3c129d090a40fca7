"""The recorded asv results: which figures regressed at which commit, and profiles side by side.

asv writes one results file per machine (a hardware profile on one kind of hardware:
dropbench.machines), commit and environment under the results directory of asv.conf.json;
dropbench tracks that directory in git, so the history survives clean clones. This module reads
it (in asv's format, but within limits and through the schemas of schemas/asv.py, since anyone
may have written it), finds regressions with asv's step detection and the per-kind thresholds
of asv.conf.json (what `asv publish` puts in regressions.json), and lines two profiles up figure
by figure. Figures recorded on different hardware are never compared with each other, even under
one machine name, and a note says where a profile or a machine spans several.

Every dropbench figure is lower-is-better (dropbench.suites says why), so "regressed" always
means "went up" and the better of two profiles is always the lower.
"""

from __future__ import annotations

import ast
import itertools
import math
import os
import re
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .errors import ConfigError, ProfileError
from .fsutil import atomic_write_json, user_path
from .limits import ASV_CONFIG_MAX_BYTES, ASV_RESULTS_MAX_BYTES
from .profiles import Hardware, named_profile
from .report.html import esc, html_table, page, section
from .schemas import Model, read_json, read_record, validate
from .schemas.asv import NOT_AS_ASV_WRITES, AsvConfig, AsvIndex, AsvMachine, AsvResults, Benchmark

PROFILE_FACT = "dropbench_profile"  # the profile's name among an asv machine's facts (dropbench.machines writes them)
DEFAULT_THRESHOLD = 0.05  # asv's, for figures no regressions_thresholds entry matches
DEVICE_PARAM = "device"


@dataclass(frozen=True)
class AsvProject:
    """What dropbench needs from asv.conf.json."""

    config: Path  # asv.conf.json
    root: Path  # the directory holding it (asv's paths are relative to it)
    results_dir: Path
    benchmark_dir: Path
    thresholds: dict[str, float]


@dataclass(frozen=True)
class Value:
    benchmark: str
    params: tuple[tuple[str, Any], ...]  # (parameter name, value), in the benchmark's order
    unit: str
    value: float  # an int for counts

    @property
    def figure(self) -> str:
        """The figure's name as asv shows it: benchmark(param, ...)."""
        return f"{self.benchmark}({', '.join(str(v) for _, v in self.params)})" if self.params else self.benchmark


@dataclass(frozen=True)
class Recorded:
    """One results file: the values of one machine, commit and environment."""

    machine: str
    commit: str
    date: int  # commit date, ms since the epoch: the order of the history
    env: str
    values: tuple[Value, ...]
    hardware: Hardware  # what the machine was when this was recorded
    profile: str  # the hardware profile it was timed on


@dataclass(frozen=True)
class Regression:
    machine: str
    hardware: str  # its label: a machine name recorded on several kinds of hardware holds one history each
    env: str
    figure: str
    unit: str
    commit: str  # the first commit with the worse value
    last_good: str  # the commit before it that still had the good value
    before: float
    after: float
    threshold: float

    @property
    def ratio(self) -> float:
        return self.after / self.before if self.before else math.inf

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio}


@dataclass(frozen=True)
class ProfilePair:
    figure: str
    unit: str
    a: float | None
    b: float | None

    @property
    def ratio(self) -> float | None:
        """b / a: above 1 means profile A is lower (better, or faster for timings)."""
        return self.b / self.a if self.a and self.b is not None else None

    @property
    def better(self) -> str:
        if self.a is None or self.b is None:
            return "-"
        return "A" if self.a < self.b else "B" if self.b < self.a else "same"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio, "better": self.better}


# --- reading ---------------------------------------------------------------------------------------


def require_asv() -> None:
    """asv comes with the test extra; without it, one clear line instead of an ImportError."""
    try:
        import asv  # noqa: F401
    except ImportError:
        raise ConfigError("this needs airspeed velocity: pip install 'dropbench[test]' (or pip install asv)") from None


def load_project(config: Path) -> AsvProject:
    """The fields of asv.conf.json dropbench uses, read within limits (asv's JSON with comments)
    and checked against their schema (schemas.asv.AsvConfig)."""
    require_asv()
    import json5  # asv's own parser of its configuration, installed with it

    config = user_path(config, "--config", ConfigError)
    if not config.is_file():
        raise ConfigError(f"no asv configuration at {config}; run from the dropbench checkout or pass --config")
    raw = read_json(config, ConfigError, ASV_CONFIG_MAX_BYTES, "asv configuration", "cannot read {path}: {reason}",
                    lambda text: json5.loads(text.decode()))
    conf = validate(AsvConfig, raw, str(config), ConfigError, "fix it as docs/asv.md describes")
    root = config.resolve().parent
    results_dir, benchmark_dir = (user_path(root / name, f"{config}: {field}", ConfigError)
                                  for field, name in (("results_dir", conf.results_dir), ("benchmark_dir", conf.benchmark_dir)))
    return AsvProject(config.resolve(), root, results_dir, benchmark_dir, conf.regressions_thresholds)


def load_results(project: AsvProject, results_dir: Path | None = None) -> list[Recorded]:
    """Every results file of every machine folder of the results directory, oldest commit first.

    Each file is read within limits and checked against its schema (schemas.asv) before a field
    is used; a symbolic link, a device, a pipe or a file that is not as asv writes it is one line
    naming it. Values of a benchmark whose code changed since they were recorded are left out, as
    asv does."""
    results_dir = user_path(results_dir, "--results", ConfigError) if results_dir else project.results_dir
    index = results_dir / "benchmarks.json"
    if not results_dir.is_dir():
        raise ConfigError(f"no asv results at {results_dir}; record some with `asv run` (docs/asv.md)")
    if not os.path.lexists(index):
        raise ConfigError(f"{results_dir} is not an asv results directory: it has no benchmarks.json")
    benchmarks = read_asv(index, AsvIndex).benchmarks
    check_ours(benchmarks, project, results_dir)
    recorded = []
    for folder in sorted(results_dir.iterdir()):
        facts = machine_facts(results_dir, folder.name) if folder.is_dir() or folder.is_symlink() else None
        for path in sorted(folder.glob("*.json")) if facts else []:
            if path.name != "machine.json":
                recorded.append(_recorded(path, read_asv(path, AsvResults), facts.machine, benchmarks))
    return sorted(recorded, key=lambda r: (r.date, r.commit, r.machine, r.env))


def read_asv(path: Path, schema: type[Model]) -> Model:
    """An asv file of a results folder, within limits and checked against its schema."""
    return read_record(path, schema, ConfigError, ASV_RESULTS_MAX_BYTES, "asv file", NOT_AS_ASV_WRITES)


def machine_facts(results_dir: Path, name: str) -> AsvMachine | None:
    """The machine.json of a machine folder of the results, None when the folder has none (asv
    reads no results there). A folder that is a symbolic link leads outside the results: refused."""
    folder = Path(results_dir) / name
    if folder.is_symlink():
        raise ConfigError(f"{folder} is a symbolic link, which dropbench never follows in asv results; replace it with the machine's folder")
    path = folder / "machine.json"
    return read_asv(path, AsvMachine) if os.path.lexists(path) else None


def check_ours(benchmarks: dict[str, Benchmark], project: AsvProject, results_dir: Path) -> None:
    """Refuse the results of another project: none of its benchmarks is from our suites."""
    suites = {p.stem for p in project.benchmark_dir.glob("*.py")}
    if benchmarks and not any(name.split(".")[0] in suites for name in benchmarks):
        raise ConfigError(
            f"{results_dir} holds asv results of another project: none of its {len(benchmarks)} benchmarks "
            f"(e.g. {next(iter(benchmarks))!r}) comes from dropbench's suites in {project.benchmark_dir}"
        )


def _recorded(path: Path, result: AsvResults, machine: str, benchmarks: dict[str, Benchmark]) -> Recorded:
    if result.params.machine != machine:
        raise ConfigError(f"{path}: field 'params.machine': {result.params.machine!r} is not its folder's machine {machine!r}; {NOT_AS_ASV_WRITES}")
    values = []
    for key, row in sorted(result.results.items()):
        benchmark = benchmarks.get(key)
        if benchmark is None or row.version not in (None, benchmark.version):  # gone, or its code changed since
            continue
        numbers = row.result if isinstance(row.result, list) else [row.result]
        for combo, number in zip(itertools.product(*row.params), numbers):  # lazily: a grid can be far larger than its values
            if number is not None and math.isfinite(number):
                values.append(Value(key, tuple(zip(benchmark.param_names, map(_literal, combo))), benchmark.unit, number))
    facts = result.params.model_dump()
    return Recorded(machine, result.commit_hash, result.date or 0, result.env_name, tuple(values), Hardware.of(facts),
                    result.params.dropbench_profile or machine)


def _literal(text: str) -> Any:
    """asv stores parameter values as their repr; one that is no hashable literal stays text."""
    try:
        value = ast.literal_eval(text)
        hash(value)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text
    return value


def machines(recorded: list[Recorded]) -> list[str]:
    return sorted({r.machine for r in recorded})


def named(recorded: list[Recorded], name: str) -> list[Recorded]:
    """The results of an asv machine, or of every machine of a profile; a clear error names the
    recorded machines otherwise."""
    mine = [r for r in recorded if r.machine == name] or [r for r in recorded if r.profile == name]
    if not mine:
        known = ", ".join(machines(recorded)) or "none"
        raise ProfileError(f"no recorded results for machine or profile {name!r}; recorded machines: {known}")
    return mine


def hardware_notes(recorded: list[Recorded]) -> list[str]:
    """One line for each machine whose hardware changed along its commits, and for each profile
    recorded on several kinds of hardware: their figures are never compared with each other."""
    notes = []
    for machine in machines(recorded):
        mine = [r for r in recorded if r.machine == machine]
        change = next(((a, b) for a, b in zip(mine, mine[1:]) if a.hardware != b.hardware), None)
        if change:
            before, after = change
            notes.append(
                f"machine {machine!r} holds results of {len(_kinds(mine))} machines: the hardware changed at {after.commit[:8]} "
                f"({before.hardware.label} -> {after.hardware.label}); figures are compared only on the same hardware"
            )
    for profile in sorted({r.profile for r in recorded}):
        mine = [r for r in recorded if r.profile == profile]
        if len(_kinds(mine)) > 1 and len(machines(mine)) > 1:
            where = "; ".join(f"{h.label} as {', '.join(machines([r for r in mine if r.hardware == h]))}" for h in _kinds(mine))
            notes.append(f"profile {profile!r} was recorded on {len(_kinds(mine))} kinds of hardware ({where}); figures are compared only on the same hardware")
    return notes


def _kinds(recorded: list[Recorded]) -> list[Hardware]:
    """The hardware the results were recorded on, oldest first."""
    return list(dict.fromkeys(r.hardware for r in recorded))


# Revisions (names, hashes, HEAD~2, v1.0^, @{u}) joined by .. or ...; never starting with "-".
_REVISION = r"[A-Za-z0-9_@][A-Za-z0-9_./~^@{}+-]*"
COMMIT_RANGE = re.compile(rf"^{_REVISION}(?:\.\.\.?(?:{_REVISION})?)?$|^\.\.\.?{_REVISION}$")


def in_range(recorded: list[Recorded], commit_range: str, repo: Path) -> list[Recorded]:
    """The results whose commit is in a git range (A..B, or a single commit)."""
    commits = set(range_commits(repo, commit_range))
    chosen = [r for r in recorded if r.commit in commits]
    if not chosen:
        raise ConfigError(f"no recorded results for the {len(commits)} commits in {commit_range!r}; run `asv run {commit_range}` first")
    return chosen


def range_commits(repo: Path, commit_range: str, first_parent: bool = False) -> list[str]:
    """The commits of a git range (A..B, or a single commit), oldest first; along the first
    parents only when asked (the history of a branch, not of everything merged into it)."""
    if not COMMIT_RANGE.match(commit_range):
        raise ConfigError(f"{commit_range!r} is not a git commit range; give one like main..HEAD, v1.0..v1.1 or a single commit")
    spec = commit_range if ".." in commit_range else f"{commit_range}^!"
    options = ["--first-parent"] if first_parent else []
    try:
        # --end-of-options: even a value that slipped past the check is never read as an option
        out = git(repo, "rev-list", "--reverse", *options, "--end-of-options", spec)
    except ConfigError as e:
        raise ConfigError(f"commit range {commit_range!r} is not in the repository at {repo} ({e})") from None
    if not out.split():
        raise ConfigError(f"commit range {commit_range!r} holds no commits")
    return out.split()


def git(repo: Path, *args: str) -> str:
    """git's output, or one ConfigError line with git's first line of complaint."""
    try:
        return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout
    except subprocess.CalledProcessError as e:
        reason = e.stderr.strip().splitlines()[0] if e.stderr.strip() else f"exit status {e.returncode}"
        raise ConfigError(f"git: {reason}") from None


# --- regressions -----------------------------------------------------------------------------------


def threshold_for(figure: str, thresholds: dict[str, float]) -> float:
    """The largest threshold whose regex matches the figure's name (asv's rule), else asv's default."""
    matching = [t for regex, t in thresholds.items() if re.match(regex, figure)]
    return max(matching) if matching else DEFAULT_THRESHOLD


def regressions(recorded: list[Recorded], thresholds: dict[str, float]) -> list[Regression]:
    """Each figure's regressions along its commits (per machine and environment), oldest first."""
    from asv.step_detect import detect_regressions, detect_steps

    # (machine, hardware, env, figure) -> commit -> value: other hardware is another series
    series: dict[tuple[str, Hardware, str, str], dict[str, float]] = {}
    units: dict[str, str] = {}
    order = list(dict.fromkeys(r.commit for r in recorded))
    for result in recorded:
        for v in result.values:
            series.setdefault((result.machine, result.hardware, result.env, v.figure), {})[result.commit] = v.value
            units[v.figure] = v.unit
    found = []
    for (machine, hardware, env, figure), by_commit in sorted(series.items(), key=lambda item: (item[0][0], item[0][1].label, *item[0][2:])):
        commits = [c for c in order if c in by_commit]
        threshold = threshold_for(figure, thresholds)
        _, _, jumps = detect_regressions(detect_steps([by_commit[c] for c in commits]), threshold)
        for last_good, first_bad, before, after in jumps or []:
            found.append(
                Regression(machine, hardware.label, env, figure, units[figure], commits[first_bad], commits[last_good], before, after, threshold)
            )
    return sorted(found, key=lambda r: (order.index(r.commit), r.machine, r.figure))


REGRESSION_HEADERS = ["commit", "last good", "machine", "figure", "before", "after", "ratio", "threshold", "unit"]


def regression_rows(found: list[Regression]) -> list[list[Any]]:
    """A machine's name says its hardware, except one recorded on several: there it is named too."""
    mixed = {r.machine for r in found if len({x.hardware for x in found if x.machine == r.machine}) > 1}
    return [
        [r.commit[:8], r.last_good[:8], f"{r.machine} ({r.hardware})" if r.machine in mixed else r.machine,
         r.figure, r.before, r.after, f"{r.ratio:.2f}x", f"{r.threshold:.0%}", r.unit]
        for r in found
    ]


# --- two profiles side by side ---------------------------------------------------------------------


@dataclass(frozen=True)
class Side:
    """One side of a comparison: the newest recorded commit of a profile (or machine) on one kind of hardware."""

    name: str  # as asked: a profile or an asv machine
    machine: str  # the asv machine(s) it was recorded as
    hardware: Hardware
    commit: str
    figures: dict[tuple[str, tuple], Value]


@dataclass(frozen=True)
class ProfileComparison:
    a: Side
    b: Side
    pairs: list[ProfilePair]
    notes: list[str]  # one line each: which hardware was chosen, and whether A's and B's differ

    def as_dict(self) -> dict[str, Any]:
        sides = {key: {"name": s.name, "machine": s.machine, "hardware": s.hardware.label, "commit": s.commit} for key, s in (("a", self.a), ("b", self.b))}
        return {**sides, "notes": self.notes, "figures": [p.as_dict() for p in self.pairs]}


def latest_side(results: list[Recorded], name: str, hardware: Hardware) -> Side:
    """The newest commit of `results` recorded on `hardware`, each figure at the profile's own
    device: the `device` parameter is dropped, so a CPU profile's cpu rows meet a GPU profile's
    cuda rows."""
    mine = [r for r in results if r.hardware == hardware]
    device = named_profile(mine[-1].profile).device
    commit = mine[-1].commit
    newest = [r for r in mine if r.commit == commit]
    figures = {}
    for result in newest:
        for v in result.values:
            params = dict(v.params)
            if params.pop(DEVICE_PARAM, device) == device:
                figures[(v.benchmark, tuple(params.items()))] = v
    return Side(name, ", ".join(machines(newest)), hardware, commit, figures)


def compare_profiles(recorded: list[Recorded], a: str, b: str) -> ProfileComparison:
    """Every figure of two profiles (or asv machines) side by side, on the same hardware when both
    were recorded on it."""
    results_a, results_b = named(recorded, a), named(recorded, b)
    hardware_a, hardware_b = _hardware_to_compare(results_a, results_b)
    side_a, side_b = latest_side(results_a, a, hardware_a), latest_side(results_b, b, hardware_b)
    notes = [_choice_note(side, results) for side, results in ((side_a, results_a), (side_b, results_b)) if len(_kinds(results)) > 1]
    if hardware_a != hardware_b:
        notes.append(f"A and B were recorded on different hardware ({hardware_a.label} vs {hardware_b.label}): B / A mixes the profiles and the machines")
    pairs = []
    for key in sorted(set(side_a.figures) | set(side_b.figures)):
        va, vb = side_a.figures.get(key), side_b.figures.get(key)
        some = va or vb
        figure = Value(some.benchmark, key[1], some.unit, some.value).figure
        pairs.append(ProfilePair(figure, some.unit, va.value if va else None, vb.value if vb else None))
    return ProfileComparison(side_a, side_b, pairs, notes)


def _hardware_to_compare(results_a: list[Recorded], results_b: list[Recorded]) -> tuple[Hardware, Hardware]:
    """Like with like: the newest hardware both sides were recorded on, else each side's newest."""
    both = set(_kinds(results_a)) & set(_kinds(results_b))
    shared = [r.hardware for r in sorted(results_a + results_b, key=lambda r: r.date) if r.hardware in both]
    return (shared[-1], shared[-1]) if shared else (results_a[-1].hardware, results_b[-1].hardware)


def _choice_note(side: Side, results: list[Recorded]) -> str:
    kinds = "; ".join(h.label for h in _kinds(results))
    return f"{side.name!r} was recorded on {len(_kinds(results))} kinds of hardware ({kinds}): comparing its figures on {side.hardware.label}"


COMPARISON_HEADERS = ["figure", "unit", "A", "B", "B / A", "better"]


def comparison_rows(pairs: list[ProfilePair]) -> list[list[Any]]:
    """The rows of the comparison table (terminal and HTML)."""
    return [[p.figure, p.unit, _or_dash(p.a), _or_dash(p.b), _or_dash(p.ratio), p.better] for p in pairs]


def comparison_title(comparison: ProfileComparison) -> str:
    """Which results stand side by side (the terminal table's title, the page's caption)."""
    a, b = comparison.a, comparison.b
    return f"A = {a.machine} at {a.commit[:8]}, B = {b.machine} at {b.commit[:8]}; every figure is lower-is-better, B / A above 1 means A is better"


def comparison_html(comparison: ProfileComparison) -> str:
    """A self-contained page: every figure of two profiles side by side."""
    notes = "".join(f"<p>{esc(note)}</p>" for note in comparison.notes)
    table = html_table(COMPARISON_HEADERS, comparison_rows(comparison.pairs), comparison_title(comparison), left=2)
    return page(f"dropbench: {comparison.a.name} vs {comparison.b.name}", [section("Figures", notes + table)])


def _or_dash(value: float | None) -> Any:
    return "-" if value is None else value


def scratch_config(config: Path, out: Path, benchmark_dir: Path | None = None) -> Path:
    """A copy of asv.conf.json writing results and site under `out`, for runs that must leave the
    recorded results alone (the CI smoke, tests, recording a commit), with other suites when
    given. Paths become absolute: asv reads them from the configuration's folder."""
    from asv.config import Config

    config = Path(config).resolve()
    conf = {k: v for k, v in Config.load(str(config)).__dict__.items() if v is not None}
    for key in ("repo", "benchmark_dir", "env_dir"):
        conf[key] = str(config.parent / conf[key])
    if benchmark_dir is not None:
        conf["benchmark_dir"] = str(benchmark_dir)
    conf.update(version=1, results_dir=str(Path(out) / "results"), html_dir=str(Path(out) / "html"))
    path = Path(out) / "asv.conf.json"
    atomic_write_json(path, conf)
    return path
