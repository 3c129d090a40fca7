"""Recording the asv history commit by commit, and the regression gate of a branch (docs/asv.md).

`record` runs, for each commit of a range not yet recorded for this machine, that commit's own
suites (its benchmarks/ and hardware_profiles/, taken from git) against that commit's wheel in
asv's per-commit environment, into a scratch results folder; only a finished commit's results
file is moved into the tracked history, in one rename. So an interrupted record leaves the
history as it was, and running it again picks up where it stopped.

A commit's own suites, not today's: the names the suites use changed with the code they call
(benchmarks/common.py holds the surface they keep from now on), so today's suites cannot import
every old commit. Their figures are the same figures (benchmark and parameter names), so a file
recorded by an older commit's suites keeps no benchmark version (asv hides results whose version
differs from the index's, and an old suite's version is a hash of its source: every edit would
otherwise start a new graph); HEAD's suites are today's and keep theirs.

`gate` is `asv continuous` for a pull request: base and head run in one session, their rounds
interleaved, in a scratch folder; a figure of the gate's benchmarks that is worse by more than
the factor, significantly (asv's statistics over the samples), fails it.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError
from .fsutil import atomic_write_text
from .history import AsvProject, check_ours, git, range_commits, read_asv, scratch_config
from .limits import ASV_RESULTS_MAX_BYTES
from .machines import register_machine
from .schemas import read_json, validate
from .schemas.asv import NOT_AS_ASV_WRITES, AsvIndex

# What the history records of each commit: the figures a regression in dropbench's own code
# shows in (a training step, a batch of inference, what compaction achieved), on the checkpoints
# every plan's asv_runs names. The claims suite (minutes of training and timing rounds per
# commit) and the in-run ratios are left to `asv run` by hand (docs/asv.md, "The history").
HISTORY_BENCHMARKS = (
    r"^training\.TrainingStep\.(time|peakmem)_step",
    r"^inference\.Inference\.(time|peakmem)_inference\('(dense|dropout-compaction-s1)', ",
    r"^compaction\.Compaction\.track_.*\('(dense|dropout-compaction-s1)'\)",
)
HISTORY_PLAN = "ci"
# The gate: a training step and a batch of 64 (the claims' batch), each a timing a slowdown of
# dropbench's own code shows in. Batch 1 is left out: its 50-200 us calls moved by 1.63x between
# two builds of one commit (A/A). The factor comes from the measured A/A noise: at 1.15, one A/A
# run in 5 failed (two training steps "significantly" 1.16x and 1.21x slower: asv's statistics
# treat a process's samples as independent); a planted 30 % slowdown measured 1.24-1.49x on the
# training steps, at least two of them above 1.25 in each of 5 runs (docs/asv.md, "The gate").
GATE_BENCHMARKS = (
    r"^training\.TrainingStep\.time_step",
    r"^inference\.Inference\.time_inference\('(dense|dropout-compaction-s1)', '(onnxruntime|torch-eager)', 64, 'cpu'\)",
)
GATE_FACTOR = 1.25
GATE_ROUNDS = 4  # processes per commit and benchmark, base and head alternating (asv's default: 2)
RESULTS_FILE = re.compile(r"^(?P<commit>[0-9a-f]{8,40})-.*\.json$")


@dataclass(frozen=True)
class Recording:
    """One commit recorded: where its results went and what it took."""

    commit: str
    plan: str  # the plan its suites ran ("quick" where the commit has no ci plan)
    seconds: float
    results: Path | None  # the results file moved into the history; None when asv wrote none
    without_value: int  # benchmarks it failed or skipped


def spread(commits: list[str], count: int | None) -> list[str]:
    """`count` commits evenly spread over the list, its first and last among them (all when None)."""
    if count is None or count >= len(commits):
        return commits
    if count < 1:
        raise ConfigError(f"--spread must be at least 1, not {count}")
    if count == 1:
        return commits[-1:]
    step = (len(commits) - 1) / (count - 1)
    return [commits[round(i * step)] for i in range(count)]


def recorded_commits(results_dir: Path, machine: str) -> set[str]:
    """The commits (8-digit prefixes) with a results file of this machine."""
    folder = results_dir / machine
    if not folder.is_dir():
        return set()
    return {m["commit"][:8] for p in folder.iterdir() if (m := RESULTS_FILE.match(p.name))}


def record(project: AsvProject, commit_range: str, profile: str, *, count: int | None = None,
           plan: str = HISTORY_PLAN, bench: tuple[str, ...] = HISTORY_BENCHMARKS,
           progress: Callable[[str], None] = print) -> list[Recording]:
    """Record every commit of the range not yet in this machine's history (or `count` of them,
    spread over it), oldest first. Returns what was recorded; nothing when all were."""
    _check_results_are_ours(project)
    machine, _ = register_machine(profile, project.results_dir)
    commits = [c for c in range_commits(project.root, commit_range, first_parent=True) if _has_suites(project, c)]
    if not commits:
        raise ConfigError(f"no commit of {commit_range!r} has asv suites in {project.benchmark_dir.name}/")
    done = recorded_commits(project.results_dir, machine)
    todo = [c for c in spread(commits, count) if c[:8] not in done]
    progress(f"machine {machine}: {len(todo)} commit(s) to record, {len(done)} recorded before")
    recordings = []
    head = git(project.root, "rev-parse", "HEAD").strip()
    for i, commit in enumerate(todo, 1):
        progress(f"[{i}/{len(todo)}] {commit[:8]} {git(project.root, 'log', '-1', '--format=%s', commit).strip()[:70]}")
        recordings.append(_record_commit(project, commit, machine, profile, plan, bench, is_head=commit == head))
        r = recordings[-1]
        progress(f"        {r.seconds:.0f} s, plan {r.plan}, {r.without_value} benchmark(s) without a value"
                 + ("" if r.results else "; asv wrote no results (see its output above)"))
    return recordings


def gate(project: AsvProject, base: str, head: str, profile: str, *, factor: float = GATE_FACTOR,
         bench: tuple[str, ...] = GATE_BENCHMARKS, plan: str = HISTORY_PLAN) -> int:
    """asv continuous of base against head with this checkout's suites, in a scratch results
    folder (the history is left alone): 0 when no figure of `bench` got significantly worse by
    more than `factor`, non-zero when one did or a benchmark failed."""
    if factor <= 1:
        raise ConfigError(f"--factor must be above 1 (a slowdown by that factor fails the gate), not {factor}")
    for name in (base, head):
        range_commits(project.root, name)  # one error line for a commit that does not exist
    machine, _ = register_machine(profile, project.results_dir)
    with _scratch(project) as scratch:
        config = scratch_config(project.config, scratch)
        env = {**os.environ, "DROPBENCH_PROFILE": profile, "DROPBENCH_PLAN": plan}
        args = ["continuous", "--machine", machine, "--factor", str(factor), "--interleave-rounds", "-a", f"rounds={GATE_ROUNDS}", "--show-stderr",
                *[a for b in bench for a in ("-b", b)], base, head]
        return _asv(args, config, env)


def _check_results_are_ours(project: AsvProject) -> None:
    """A results folder another project wrote is refused before anything runs (history.load_results
    makes the same check, and reads every file)."""
    index = project.results_dir / "benchmarks.json"
    if os.path.lexists(index):
        check_ours(read_asv(index, AsvIndex).benchmarks, project, project.results_dir)


def _has_suites(project: AsvProject, commit: str) -> bool:
    return _has_path(project, commit, f"{project.benchmark_dir.name}/")


def _record_commit(project: AsvProject, commit: str, machine: str, profile: str, plan: str, bench: tuple[str, ...],
                   is_head: bool) -> Recording:
    start = time.perf_counter()
    with _scratch(project) as scratch:
        src = _checkout_suites(project, commit, scratch)
        has_plan = _has_path(project, commit, f"src/dropbench/plans/{plan}.toml")
        env = {**os.environ, "DROPBENCH_PROFILE": profile, "DROPBENCH_PROFILES": str(src / "hardware_profiles")}
        env.pop("DROPBENCH_PLAN", None)
        if has_plan:
            env["DROPBENCH_PLAN"] = plan
        config = scratch_config(project.config, scratch, src / project.benchmark_dir.name)
        _asv(["run", "--machine", machine, "--show-stderr", f"{commit}^!", *[a for b in bench for a in ("-b", b)]], config, env)
        written = sorted((scratch / "results" / machine).glob(f"{commit[:8]}-*.json"))
        result = read_json(written[0], ConfigError, ASV_RESULTS_MAX_BYTES, "asv results file") if written else None
        moved = _move_into_history(project, scratch / "results", machine, written[0].name, result, is_head) if result else None
    return Recording(commit, plan if has_plan else "quick", time.perf_counter() - start, moved, _without_value(result or {}))


def _has_path(project: AsvProject, commit: str, path: str) -> bool:
    return bool(git(project.root, "ls-tree", "--name-only", commit, "--", path).strip())


@contextmanager
def _scratch(project: AsvProject) -> Iterator[Path]:
    """A folder beside the results (one filesystem: the final move is a rename), removed after."""
    project.results_dir.parent.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=".record-", dir=project.results_dir.parent))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _checkout_suites(project: AsvProject, commit: str, scratch: Path) -> Path:
    """The commit's suites and hardware profiles, from git (no work tree is touched)."""
    paths = [p for p in (project.benchmark_dir.name, "hardware_profiles") if _has_path(project, commit, p)]
    archive = subprocess.run(["git", "archive", "--format=tar", commit, "--", *paths], cwd=project.root, capture_output=True, check=True).stdout
    src = scratch / "src"
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(src, filter="data")
    return src


def _asv(args: list[str], config: Path, env: dict[str, str]) -> int:
    """Run asv with its output passed through; its exit status."""
    return subprocess.run([sys.executable, "-m", "asv", *args, "--config", str(config)], env=env).returncode


def _move_into_history(project: AsvProject, scratch_results: Path, machine: str, name: str, result: dict, is_head: bool) -> Path:
    """The scratch results file into the tracked history, with the machine file where the history
    has none, each in one rename. HEAD's suites are today's: their index replaces the history's
    entries. An older commit's suites only add the benchmarks the index lacks, and its file keeps
    no benchmark versions (asv then shows its values whatever today's version: the figures are
    the same, their source text is not)."""
    index_path = project.results_dir / "benchmarks.json"
    index = _read_index(index_path) if index_path.exists() else {}
    new_index = _read_index(scratch_results / "benchmarks.json")
    merged = {**index, **new_index} if is_head else {**new_index, **index}
    folder = project.results_dir / machine
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "machine.json").exists():
        _write_compact(folder / "machine.json", read_json(scratch_results / machine / "machine.json", ConfigError, ASV_RESULTS_MAX_BYTES, "asv machine file"))
    if not is_head:
        drop_versions(result)
    _write_compact(index_path, {"version": 2, **dict(sorted(merged.items()))})
    target = folder / name
    _write_compact(target, result)
    return target


def drop_versions(result: dict) -> None:
    """A results file's benchmark versions removed: asv then shows its values under any version
    of the benchmark's code (for figures recorded by an older commit's suites)."""
    column = result["result_columns"].index("version")
    for row in result["results"].values():
        row[column] = None


def _write_compact(path: Path, obj: dict) -> None:
    """JSON as asv writes its results (one line; NaN where a case has no value), in one rename."""
    atomic_write_text(path, json.dumps(obj, separators=(",", ":")) + "\n")


def _without_value(result: dict) -> int:
    """Benchmarks of a results file with no value at all (failed, or skipped as this commit could not run them)."""
    rows = result.get("results", {})
    return sum(all(v is None or v != v for v in (row[0] if isinstance(row[0], list) else [row[0]])) for row in rows.values())


def _read_index(path: Path) -> dict:
    raw = read_json(path, ConfigError, ASV_RESULTS_MAX_BYTES, "asv benchmarks.json")
    validate(AsvIndex, raw, str(path), ConfigError, NOT_AS_ASV_WRITES)  # as asv writes it, or one error line
    return {k: v for k, v in raw.items() if k != "version"}
