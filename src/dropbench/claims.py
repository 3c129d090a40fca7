"""The papers' claims as data, each checked like a small pre-registered experiment.

A `Claim` is a plain record: what the paper says, the bound that counts as holding, and the runs
(by their `reproduce.plan` name, so the claims reuse reproduce's cached checkpoints) that the
check needs. A check returns an `Evidence`: the measured value and its interval, side conditions
("accuracy within 1 point"), what it chose and on which split (`selection`), and a `Control`:
the same metric measured on what a practitioner would do instead. `verdict` turns it into
holds / fails / inconclusive.

Rules every check follows (DESIGN.md §8):
- Validation picks, test reports: every choice (reference run, sweep point, width, rival,
  pruning criterion, KL weight) reads the validation split; test figures are only reported.
- Seeds: accuracy runs are trained with every seed of the plan; accuracy figures are means over
  seeds and examples with a two-level bootstrap interval (stats.two_level_bootstrap).
- Timing: speed ratios come from independent rounds (measure.compare); every speed claim carries
  the profile's A/A calibration, and an A/A ratio off by more than 3 % makes it inconclusive.
"""

from __future__ import annotations

import functools
import os
import tempfile
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np
from torch import nn

from .checkpoint import Checkpoint, load_checkpoint, write_checkpoint
from .data import load_dataset
from .errors import ConfigError
from .export import ensure_exported
from .flops import count
from .measure import Comparison
from .methods.structural import narrow_to
from .methods.targeted import pruning_comparison
from .methods.variational import sparsity_metrics
from .profiles import Profile, fingerprint
from .pruning import UNIT_CRITERIA, prune_global, prune_units_to, prune_weights
from .runs import RunSpec, cached_run, cached_runs
from .runtimes.bench import compare_checkpoints
from .speed import AA_TOLERANCE, training_saving
from .stats import two_level_bootstrap
from .train import predict

COMPARABLE_POINTS = 1.0  # "comparable" / "negligible" accuracy loss: at most 1 point on the test split
MIN_SEEDS = {"quick": 2, "full": 3}  # trainings per accuracy run a verdict needs


class NotRunnable(Exception):
    """The claim cannot be checked as asked (one sentence why): recorded as `not-run`."""


@dataclass
class Condition:
    """A side condition of a claim (e.g. comparable accuracy); failing it fails the claim."""

    text: str
    ok: bool

    def __post_init__(self):
        self.ok = bool(self.ok)  # numpy comparisons give numpy bools, which JSON cannot hold


@dataclass
class Control:
    """The claim's metric measured on the plain alternative, and whether the method beat it.

    `beaten`: True when the method's interval lies above the control's figure, False when below
    or equal, None when the intervals cannot tell them apart.
    """

    name: str
    measured: float
    ci: tuple[float, float]
    beaten: bool | None
    text: str
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "measured": self.measured, "ci": list(self.ci), "beaten": self.beaten, "text": self.text, "details": self.details}


@dataclass
class Evidence:
    measured: float
    ci: tuple[float, float]
    explanation: str
    conditions: list[Condition] = field(default_factory=list)
    runs: dict[str, Path | list[Path]] = field(default_factory=dict)  # role -> checkpoint directory (or one per seed)
    details: dict[str, Any] = field(default_factory=dict)
    control: Control | None = None
    selection: dict[str, Any] = field(default_factory=dict)  # what was chosen, each on the validation split
    seeds: int = 1  # the fewest trainings behind any accuracy figure of the check


def plan_names(pattern: str, specs: list[RunSpec]) -> list[str]:
    """The runs a pattern names: one run, or for a pattern ending in '-' every run of that sweep."""
    if pattern.endswith("-"):
        return [spec.name for spec in specs if spec.name.startswith(pattern)]
    return [spec.name for spec in specs if spec.name == pattern]


@dataclass
class ClaimContext:
    """What a check may use: the profile, the runs (reproduce.plan), the checkpoints, progress.

    Checkpoints come from `run_dirs` (plan name -> one directory per seed, e.g. reproduce's own
    output) or else from the run cache, trained on first use. Directories in the records are
    relative to `relative_to` when it is set. Speed ratios use `rounds` timing rounds of
    `min_run_time` seconds each.
    """

    profile: Profile
    specs: list[RunSpec]
    mode: str  # "quick" or "full": which setups the specs are
    progress: Any = None
    min_run_time: float = 1.0
    run_dirs: dict[str, list[Path]] | None = None
    relative_to: Path | None = None
    rounds: int = 5

    def spec(self, name: str) -> RunSpec:
        for spec in self.specs:
            if spec.name == name:
                return spec
        raise ConfigError(f"the plan has no run named {name!r}")

    def names(self, pattern: str) -> list[str]:
        return plan_names(pattern, self.specs)

    def checkpoints(self, name: str) -> list[Checkpoint]:
        """One checkpoint per seed of run `name`; NotRunnable when it has fewer than the mode needs."""
        dirs = self.run_dirs[name] if self.run_dirs is not None else cached_runs(self.spec(name), progress=self.progress)
        need = MIN_SEEDS.get(self.mode, 1)
        if len(dirs) < need:
            raise NotRunnable(f"run {name!r} has {len(dirs)} seed(s); a {self.mode}-plan verdict on accuracy needs at least {need}")
        return [load_checkpoint(d) for d in dirs]

    def checkpoint(self, name: str) -> Checkpoint:
        """The first seed's checkpoint, exported (what is timed)."""
        if self.run_dirs is not None:
            return load_checkpoint(self.run_dirs[name][0])
        return load_checkpoint(ensure_exported(cached_run(self.spec(name), progress=self.progress)))

    def location(self, path: Path) -> str:
        return os.path.relpath(path, self.relative_to) if self.relative_to else str(path)

    def compare(self, baseline: Checkpoint, candidate: Checkpoint, batch: int, runtime: str = "onnxruntime") -> Comparison:
        return compare_checkpoints(baseline, candidate, self.profile, runtime, batch, self.min_run_time, rounds=self.rounds)

    @functools.cached_property
    def calibration(self) -> dict[str, Any]:
        """A/A: the dense checkpoint against itself, as every speed claim is timed (onnxruntime, KUBO_BATCH)."""
        dense = self.checkpoint("dense")
        result = self.compare(dense, dense, KUBO_BATCH)
        ok = abs(result.speedup - 1.0) <= AA_TOLERANCE
        return {
            "what": f"{dense.name} against itself, onnxruntime, batch {KUBO_BATCH}, {len(result.rounds)} rounds",
            "ratio": result.speedup, "ci": list(result.ci), "rounds": result.rounds, "covers_one": result.ci[0] <= 1.0 <= result.ci[1],
            "ok": ok, "tolerance": AA_TOLERANCE,
        }


@dataclass(frozen=True)
class Claim:
    id: str
    paper: str
    claim: str
    metric: str
    claimed: Any  # the paper's value or [low, high]
    unit: str
    bound: float  # measured must reach this (direction ">=")
    tolerance: str  # in words: what counts as holding
    runs: tuple[str, ...]  # reproduce.plan names the check uses ("name-" = every run of a sweep)
    check: Callable[["Claim", ClaimContext], Evidence]
    devices: tuple[str, ...] = ("cpu", "cuda")  # the profiles it applies to, by device
    timed: bool = False  # a speed claim: carries the A/A calibration

    def setup(self, ctx: "ClaimContext") -> dict[str, Any]:
        names = {n for pattern in self.runs for n in ctx.names(pattern)}
        return {"mode": ctx.mode, "runs": {s.name: s.as_dict() for s in ctx.specs if s.name in names}}

    def missing_runs(self, ctx: "ClaimContext") -> list[str]:
        return [pattern for pattern in self.runs if not ctx.names(pattern)]


def verdict(claim: Claim, evidence: Evidence) -> str:
    """holds: the interval clears the bound; fails: it lies below, or a side condition fails."""
    if not all(c.ok for c in evidence.conditions):
        return "fails"
    low, high = evidence.ci
    if low >= claim.bound:
        return "holds"
    if high < claim.bound:
        return "fails"
    return "inconclusive"


# --- accuracy over seeds and examples ---------------------------------------------------------------


@dataclass
class Hits:
    """0/1 correctness [seeds, examples] of one run's nets on the validation and test splits."""

    val: np.ndarray
    test: np.ndarray

    @classmethod
    def of(cls, checkpoints: list[Checkpoint], transform: Callable[[Checkpoint], nn.Module] | None = None) -> "Hits":
        """Each seed's net (or `transform(checkpoint)`, e.g. a pruned copy, built once) on both splits."""
        return cls.of_nets(checkpoints, [transform(c) if transform else c.model for c in checkpoints])

    @classmethod
    def of_nets(cls, checkpoints: list[Checkpoint], nets: list[nn.Module]) -> "Hits":
        """`nets` (one per seed, derived from `checkpoints`) on both splits of the checkpoints' data set."""
        return cls(*(split_hits(checkpoints[0], nets, split) for split in ("val", "test")))

    def accuracy(self, split: str) -> float:
        return float(100 * getattr(self, split).mean())


def split_hits(checkpoint: Checkpoint, nets: list[nn.Module], split: str) -> np.ndarray:
    """[nets, examples] 0/1 correctness on one split of `checkpoint`'s data set."""
    data = load_dataset(checkpoint.manifest["data"]["name"])
    part = data.split(split)
    if data.kind != "classification" or len(part) == 0:
        raise NotRunnable(f"data set {data.name!r} has no labelled {split} split to {'choose on' if split == 'val' else 'report on'}")
    rows = [(predict(net, part.x).argmax(-1) == part.y).numpy() for net in nets]
    return np.stack(rows).astype(float)


def points_gap(reference: np.ndarray, candidate: np.ndarray) -> tuple[float, tuple[float, float]]:
    """Accuracy points of `reference` minus `candidate` (mean over seeds and examples) and its interval."""
    def gap(r: np.ndarray, c: np.ndarray) -> float:
        return 100 * (r.mean() - c.mean())

    return float(gap(reference, candidate)), two_level_bootstrap(gap, [reference, candidate])


def comparable(reference_label: str, reference: Hits, candidate: Hits) -> Condition:
    """Test accuracy at most COMPARABLE_POINTS below the reference's (point estimate; its interval shown)."""
    drop, ci = points_gap(reference.test, candidate.test)
    return Condition(f"{gap_words(drop, ci, reference_label)}, limit {COMPARABLE_POINTS:g} below", drop <= COMPARABLE_POINTS)


def gap_words(drop: float, ci: tuple[float, float], reference_label: str) -> str:
    side = "below" if drop >= 0 else "above"
    return f"test accuracy {abs(drop):.2f} points {side} {reference_label} (95% CI of the drop {ci[0]:+.2f}..{ci[1]:+.2f})"


def seed_interval(values: list[float]) -> tuple[float, float]:
    """Bootstrap interval of a per-seed figure's mean (a count such as a compression ratio)."""
    return two_level_bootstrap(lambda v: v.mean(), [np.asarray(values, dtype=float)[:, None]])


def beats(method_ci: tuple[float, float], control_ci: tuple[float, float]) -> bool | None:
    """True / False when the intervals separate, None when they overlap."""
    if method_ci[0] > control_ci[1]:
        return True
    if method_ci[1] < control_ci[0]:
        return False
    return None


def verdict_words(beaten: bool | None, method: str) -> str:
    return {True: f"{method} beats it", False: f"{method} does not beat it", None: "the intervals overlap: no clear winner"}[beaten]


def hidden_fraction(baseline: Checkpoint, candidate: Checkpoint) -> float:
    """Hidden units kept by `candidate` as a fraction of the baseline's."""
    return sum(candidate.model.hidden_sizes()) / sum(baseline.model.hidden_sizes())


def best_on_val(options: dict[str, Hits]) -> str:
    """The option with the highest validation accuracy (ties: the first)."""
    return max(options, key=lambda k: options[k].accuracy("val"))


def materialize(model: nn.Module, directory: Path, like: Checkpoint, name: str, method: dict[str, Any]) -> Checkpoint:
    """Write `model` as an exported checkpoint (a control net that must be timed like the others)."""
    manifest = {key: like.manifest[key] for key in ("model", "data", "train") if key in like.manifest}
    write_checkpoint(directory, model, {**manifest, "name": name, "method": method, "metrics": count(model).as_dict(), "curves": {}, "variants": {}})
    return load_checkpoint(ensure_exported(directory))


# --- the checks -------------------------------------------------------------------------------------

KUBO_BATCH = 64  # the batch the kubo verdict is timed at (every batch of the profile is reported)


def check_kubo_runtime(claim: Claim, ctx: ClaimContext) -> Evidence:
    """The narrowest prior strength within 1 point of the better of dense and dropout, timed against dense.

    Validation chooses the reference (dense or dropout) and the sweep point; test accuracy is
    reported. Control: the dropout net pruned by unit magnitude to the same widths (criterion
    chosen on validation), timed and scored the same way.
    """
    dense, dropout = ctx.checkpoints(claim.runs[0]), ctx.checkpoints(claim.runs[1])
    references = {"dense": Hits.of(dense), "dropout": Hits.of(dropout)}
    reference = best_on_val(references)
    sweep = {name: ctx.checkpoints(name) for name in ctx.names(claim.runs[2])}
    sweep_hits = {name: Hits.of(runs) for name, runs in sweep.items()}
    kept = {name: float(np.mean([hidden_fraction(dense[0], c) for c in runs])) for name, runs in sweep.items()}
    floor = references[reference].accuracy("val") - COMPARABLE_POINTS
    within = [name for name in sweep if sweep_hits[name].accuracy("val") >= floor]
    chosen = min(within, key=kept.get) if within else best_on_val(sweep_hits)  # none close enough: the most accurate
    compact = sweep[chosen]

    timed_dense, timed_compact = ctx.checkpoint(claim.runs[0]), ctx.checkpoint(chosen)  # the first seeds, exported
    timings = {b: ctx.compare(timed_dense, timed_compact, b) for b in sorted({*ctx.profile.batch_sizes, KUBO_BATCH})}
    result = timings[KUBO_BATCH]
    conditions = [
        Condition(f"{100 * kept[chosen]:.1f}% of hidden units kept (mean of {len(compact)} seeds) < 50%", kept[chosen] < 0.5),
        comparable(reference, references[reference], sweep_hits[chosen]),
    ]
    control = kubo_control(ctx, timed_dense, dropout, compact, sweep_hits[chosen], result)
    flop_ratio = dense[0].metrics["flops"] / compact[0].metrics["flops"]
    explanation = (
        f"{chosen} keeps {100 * kept[chosen]:.1f}% of hidden units and runs {result.speedup:.2f}x faster than dense in onnxruntime "
        f"at batch {KUBO_BATCH} (FLOP ratio {flop_ratio:.2f}x); reference for accuracy: {reference} (better on validation); "
        f"{conditions[1].text}. Control: {control.text}"
    )
    selection = {
        "reference": reference, "run": chosen, "split": "val",
        "val_accuracy": {name: round(h.accuracy("val"), 3) for name, h in {**references, **sweep_hits}.items()},
        "criterion": control.details["criterion"],
    }
    details = {
        "kept_fraction": kept[chosen], "kept_fraction_per_seed": [hidden_fraction(dense[0], c) for c in compact], "batch": KUBO_BATCH,
        "runtime": "onnxruntime", "sweep": list(sweep), "flop_ratio": flop_ratio, "warnings": result.warnings, "rounds": result.rounds,
        "test_accuracy": {name: round(h.accuracy("test"), 3) for name, h in {**references, **sweep_hits}.items()},
        "speedup_by_batch": [{"batch": b, "speedup": c.speedup, "ci": list(c.ci), "rounds": c.rounds} for b, c in timings.items()],
    }
    reference_runs = dense if reference == "dense" else dropout
    runs = {"baseline": [c.path for c in dense], "reference": [c.path for c in reference_runs], "candidate": [c.path for c in compact]}
    return Evidence(result.speedup, result.ci, explanation, conditions, runs, details, control, selection, min(len(dense), len(dropout), len(compact)))


def kubo_control(
    ctx: ClaimContext, timed_dense: Checkpoint, dropout: list[Checkpoint], compact: list[Checkpoint], compact_hits: Hits, method_timing: Comparison,
) -> Control:
    """Magnitude unit pruning of each dropout seed to the widths of the same seed's compacted net."""
    seeds = dropout[: len(compact)]  # seed i of the control is pruned to seed i's widths
    candidates = {criterion: [prune_units_to(d.model, c.model.hidden_sizes(), criterion) for d, c in zip(seeds, compact)] for criterion in UNIT_CRITERIA}
    hits = {criterion: Hits.of_nets(seeds, nets) for criterion, nets in candidates.items()}
    criterion = best_on_val(hits)
    gain, gain_ci = points_gap(compact_hits.test, hits[criterion].test)
    with tempfile.TemporaryDirectory() as tmp:
        method = {"name": "magnitude", "params": {"mode": "unit", "criterion": criterion}}
        net = materialize(candidates[criterion][0], Path(tmp) / "control", dropout[0], "magnitude-unit control", method)
        timing = ctx.compare(timed_dense, net, KUBO_BATCH)
    accuracy_text = f"test accuracy {gain:+.2f} points for dropout compaction (95% CI {gain_ci[0]:+.2f}..{gain_ci[1]:+.2f})"
    beaten = beats(gain_ci, (0.0, 0.0))
    text = (
        f"the dropout net pruned by unit magnitude ({criterion} norm, chosen on validation) to the same widths runs "
        f"{timing.speedup:.2f}x faster than dense (95% CI {timing.ci[0]:.2f}..{timing.ci[1]:.2f}; method {method_timing.speedup:.2f}x); "
        f"{accuracy_text}: {verdict_words(beaten, 'dropout compaction')} on accuracy at equal width"
    )
    details = {
        "criterion": criterion, "val_accuracy": {k: round(h.accuracy("val"), 3) for k, h in hits.items()},
        "test_accuracy": round(hits[criterion].accuracy("test"), 3), "accuracy_gain": gain, "accuracy_gain_ci": list(gain_ci),
    }
    return Control("magnitude unit pruning of the dropout net to the same widths", timing.speedup, timing.ci, beaten, text, details)


SONG_BATCH = 128  # the batch the training-step times are measured at


def check_song(claim: Claim, ctx: ClaimContext) -> Evidence:
    """Training time saved over standard dropout at every p of the plan (0.3, 0.5, 0.7), with the
    accuracy (MLP) or perplexity (LSTM) condition at every p.

    Runs pair up by p: each `dropout` run with the `approximate-random` run at the same rate; both
    drop the same connections (docs/claims.md). The measured value is the smallest saving.
    Control: plain training without dropout, timed against the same standard-dropout step.
    """
    names = [n for pattern in claim.runs for n in ctx.names(pattern)]
    by_method = {m: {ctx.spec(n).params["p"]: n for n in names if ctx.spec(n).method == m} for m in ("dropout", "approximate-random")}
    rates = sorted(set(by_method["dropout"]) & set(by_method["approximate-random"]))
    if not rates:
        raise NotRunnable("the plan has no dropout / approximate-random pair at the same rate p")
    rows, conditions, seeds, runs = [], [], [], {}
    for p in rates:
        baseline, candidate = (ctx.spec(by_method[m][p]) for m in ("dropout", "approximate-random"))
        base_runs, cand_runs = ctx.checkpoints(baseline.name), ctx.checkpoints(candidate.name)
        runs[f"baseline p={p:g}"], runs[f"candidate p={p:g}"] = [c.path for c in base_runs], [c.path for c in cand_runs]
        seeds.append(min(len(base_runs), len(cand_runs)))
        conditions.append(song_condition(p, base_runs, cand_runs))
        timing = training_saving(at_batch(baseline), at_batch(candidate), ctx.profile, ctx.min_run_time, ctx.rounds)
        rows.append({**{k: timing[k] for k in ("time_saved", "time_saved_ci", "flop_ideal", "realisation", "warnings", "rounds")}, "p": p})
    worst = min(rows, key=lambda r: r["time_saved"])
    control = song_control(ctx, ctx.spec(by_method["dropout"][rates[len(rates) // 2]]), worst)
    saved = ", ".join(f"p={r['p']:g}: {100 * r['time_saved']:.0f}% (FLOP ideal {100 * r['flop_ideal']:.0f}%)" for r in rows)
    explanation = f"training-step time saved over standard dropout, batch {SONG_BATCH}: {saved}; " + "; ".join(c.text for c in conditions)
    explanation += f". Control: {control.text}"
    details = {"rates": rows, "batch": SONG_BATCH}
    return Evidence(worst["time_saved"], tuple(worst["time_saved_ci"]), explanation, conditions, runs, details, control, {}, min(seeds))


def at_batch(spec: RunSpec) -> RunSpec:
    return replace(spec, train=replace(spec.train, batch_size=SONG_BATCH)).per_seed()[0]


PERPLEXITY_TOLERANCE = 1.05  # "marginal" loss for a language model: perplexity within 5 %


def song_condition(p: float, dropout: list[Checkpoint], approximate: list[Checkpoint]) -> Condition:
    """Accuracy within 1 point of dropout (classification) or perplexity within 5 % (language), at rate p."""
    if approximate[0].manifest["data"]["kind"] != "language":
        condition = comparable("dropout", Hits.of(dropout), Hits.of(approximate))
        return Condition(f"p={p:g}: {condition.text}", condition.ok)
    ours, theirs = [c.metrics["perplexity"] for c in approximate], [c.metrics["perplexity"] for c in dropout]
    ratio = float(np.mean(ours) / np.mean(theirs))
    low, high = two_level_bootstrap(lambda a, b: a.mean() / b.mean(), [np.asarray(ours)[:, None], np.asarray(theirs)[:, None]])
    text = (
        f"p={p:g}: test perplexity {np.mean(ours):.2f} vs dropout {np.mean(theirs):.2f} ({100 * (ratio - 1):+.1f}%, 95% CI over seeds "
        f"{100 * (low - 1):+.1f}..{100 * (high - 1):+.1f}%, allowed +{100 * (PERPLEXITY_TOLERANCE - 1):.0f}%)"
    )
    return Condition(text, ratio <= PERPLEXITY_TOLERANCE)


def song_control(ctx: ClaimContext, dropout: RunSpec, worst: dict[str, Any]) -> Control:
    """Training without dropout at all, timed against standard dropout at the middle rate."""
    plain = replace(dropout, name="no dropout", method="dense", params={})
    timing = training_saving(at_batch(dropout), at_batch(plain), ctx.profile, ctx.min_run_time, ctx.rounds)
    beaten = beats(tuple(worst["time_saved_ci"]), tuple(timing["time_saved_ci"]))
    text = (
        f"training without dropout saves {100 * timing['time_saved']:.0f}% (95% CI {100 * timing['time_saved_ci'][0]:.0f}.."
        f"{100 * timing['time_saved_ci'][1]:.0f}%) of the p={dropout.params['p']:g} dropout step; approximate random dropout's "
        f"smallest saving is {100 * worst['time_saved']:.0f}%: {verdict_words(beaten, 'approximate random dropout')}"
    )
    return Control("plain training without dropout", timing["time_saved"], tuple(timing["time_saved_ci"]), beaten, text, {"rounds": timing["rounds"]})


GLOBAL_FRACTIONS = (0.5, 0.75, 0.9, 0.95, 0.97, 0.98, 0.99, 0.993, 0.995, 0.997, 0.998, 0.999)  # the control's pruning grid


def check_molchanov(claim: Claim, ctx: ClaimContext) -> Evidence:
    """Compression of the sparse-VD net whose KL weight validation picks, beside magnitude pruning.

    Validation picks the most compressed KL weight whose validation accuracy is within 1 point of
    the dense net; test accuracy is reported. Control: global magnitude pruning of the dense net
    at the highest fraction validation keeps within 1 point.
    """
    dense = ctx.checkpoints(claim.runs[0])
    dense_hits = Hits.of(dense)
    candidates = {name: ctx.checkpoints(name) for name in ctx.names(claim.runs[1])}
    for runs in candidates.values():
        if "compression" not in runs[0].metrics:
            raise ConfigError(f"{runs[0].path} records no weight compression; the claim needs a variational run")
    hits = {name: Hits.of(runs) for name, runs in candidates.items()}
    compression = {name: [c.metrics["compression"] for c in runs] for name, runs in candidates.items()}  # weights only, as the paper counts
    floor = dense_hits.accuracy("val") - COMPARABLE_POINTS
    within = [name for name in candidates if hits[name].accuracy("val") >= floor]
    chosen = max(within, key=lambda n: np.mean(compression[n])) if within else best_on_val(hits)
    measured, ci = float(np.mean(compression[chosen])), seed_interval(compression[chosen])
    condition = comparable("the dense net", dense_hits, hits[chosen])
    control = molchanov_control(dense, dense_hits, ci)
    sparse = candidates[chosen][0]
    data, epochs = sparse.manifest["data"], sparse.manifest["train"]["epochs"]
    explanation = (
        f"{measured:.1f}x fewer non-zero weights than the dense net ({chosen}, KL weight {sparse.manifest['method']['params']['kl_weight']:g} "
        f"chosen on validation; test accuracy {hits[chosen].accuracy('test'):.2f}% vs dense {dense_hits.accuracy('test'):.2f}%) "
        f"on {data['name']} ({data['sizes']['train']} training images, {epochs} epochs) rather than full MNIST (60,000 images, 200 epochs); "
        f"{condition.text}. Control: {control.text}"
    )
    selection = {"run": chosen, "split": "val", "val_accuracy": {n: round(h.accuracy("val"), 3) for n, h in {"dense": dense_hits, **hits}.items()}}
    details = {
        "compression_per_seed": compression[chosen], "test_accuracy": {n: round(h.accuracy("test"), 3) for n, h in {"dense": dense_hits, **hits}.items()},
        "candidates": {n: float(np.mean(c)) for n, c in compression.items()},
    }
    runs = {"baseline": [c.path for c in dense], "candidate": [c.path for c in candidates[chosen]]}
    return Evidence(measured, ci, explanation, [condition], runs, details, control, selection, min(len(dense), len(candidates[chosen])))


def molchanov_control(dense: list[Checkpoint], dense_hits: Hits, method_ci: tuple[float, float]) -> Control:
    floor = dense_hits.accuracy("val") - COMPARABLE_POINTS
    fraction, hits, nets = 0.0, dense_hits, [c.model for c in dense]
    for f in GLOBAL_FRACTIONS:  # the highest fraction still within 1 point on validation
        pruned_nets = [prune_global(c.model, f) for c in dense]
        pruned = Hits.of_nets(dense, pruned_nets)
        if pruned.accuracy("val") < floor:
            break
        fraction, hits, nets = f, pruned, pruned_nets
    compression = [sparsity_metrics(net)["compression"] for net in nets]
    ci = seed_interval(compression)
    beaten = beats(method_ci, ci)
    text = (
        f"global magnitude pruning of the dense net at {100 * fraction:.1f}% (the highest fraction within 1 point on validation) gives "
        f"{np.mean(compression):.1f}x at test accuracy {hits.accuracy('test'):.2f}%: {verdict_words(beaten, 'sparse variational dropout')}"
    )
    details = {"fraction": fraction, "test_accuracy": round(hits.accuracy("test"), 3), "compression_per_seed": compression}
    return Control("global magnitude pruning of the dense net", float(np.mean(compression)), ci, beaten, text, details)


GOMEZ_FRACTION = 0.9  # the "heavy" pruning the verdict is read at


def check_gomez(claim: Claim, ctx: ClaimContext) -> Evidence:
    """Targeted dropout vs the rival validation picks (dropout or magnitude) at 90 % weight pruning.

    Weight pruning keeps, per unit, the largest |w| of every layer but the first and the last (as
    the reference); a net shipped pruned at a lower fraction prunes to 90 % exactly as its
    unpruned self would. The advantage is a mean over seeds and test examples.
    """
    targeted, dropout, dense = (ctx.checkpoints(n) for n in claim.runs)
    comparison = pruning_comparison(targeted[0], dropout[0], dense[0])  # also refuses unlike budgets
    if targeted[0].manifest["method"]["params"].get("prune_fraction", 0.0) > GOMEZ_FRACTION:
        raise ConfigError(f"{targeted[0].path} was shipped pruned beyond {GOMEZ_FRACTION:.0%}; the claim needs it at most that pruned")
    hits = {
        label: Hits.of(runs, lambda c: prune_weights(c.model, GOMEZ_FRACTION))
        for label, runs in (("targeted", targeted), ("dropout", dropout), ("magnitude", dense))
    }
    rival = best_on_val({k: hits[k] for k in ("dropout", "magnitude")})
    advantage, ci = points_gap(hits["targeted"].test, hits[rival].test)
    accuracy = {label: round(h.accuracy("test"), 2) for label, h in hits.items()}
    explanation = (
        f"at {GOMEZ_FRACTION:.0%} weight pruning targeted dropout keeps {accuracy['targeted']}% test accuracy, dropout {accuracy['dropout']}%, "
        f"magnitude (dense pruned) {accuracy['magnitude']}% (means over seeds): {advantage:+.2f} points over {rival}, the rival validation picks"
    )
    control_ci = two_level_bootstrap(lambda h: 100 * h.mean(), [hits[rival].test])
    beaten = beats(ci, (0.0, 0.0))
    other = "magnitude" if rival == "dropout" else "dropout"
    control_text = (
        f"{rival} (better on validation than {other}) keeps {accuracy[rival]}% at {GOMEZ_FRACTION:.0%} weight pruning: "
        f"targeted dropout is {advantage:+.2f} points (95% CI {ci[0]:+.2f}..{ci[1]:+.2f}) from it, {verdict_words(beaten, 'targeted dropout')}"
    )
    control = Control(f"{rival} pruned to {GOMEZ_FRACTION:.0%}", accuracy[rival], control_ci, beaten, control_text)
    explanation += f". Control: {control_text}"
    selection = {"rival": rival, "split": "val", "val_accuracy": {k: round(h.accuracy("val"), 3) for k, h in hits.items()}}
    runs = {"targeted": [c.path for c in targeted], "dropout": [c.path for c in dropout], "magnitude": [c.path for c in dense]}
    details = {"accuracy_at_fraction": accuracy, "fraction": GOMEZ_FRACTION, **comparison}
    return Evidence(advantage, ci, explanation, [], runs, details, control, selection, min(len(targeted), len(dropout), len(dense)))


def check_knodt(claim: Claim, ctx: ClaimContext) -> Evidence:
    """Fraction of every hidden layer's features removable within 1 point of the dense net's full width.

    Every width comes from one structural training per seed. Validation picks the smallest width
    whose accuracy is within 1 point of the dense net's; test accuracy at it is reported. Control:
    the dense and the dropout net pruned by unit magnitude to every width (net and criterion
    chosen on validation), read the same way.
    """
    structural, dense, dropout = (ctx.checkpoints(n) for n in claim.runs)
    widths = sorted(point["width"] for point in structural[0].manifest["curves"]["width"])
    full = max(structural[0].model.hidden_sizes())
    curve = width_hits(structural, widths, lambda c, w: narrow_to(c.model, w))
    reference = Hits.of(dense)
    full_widths = dense[0].model.hidden_sizes()
    controls = {
        f"{label} pruned by {criterion} norm": width_hits(runs, widths, lambda c, w, k=criterion: prune_units_to(c.model, [min(w, u) for u in full_widths], k))
        for label, runs in (("dense", dense), ("dropout", dropout)) for criterion in UNIT_CRITERIA
    }

    def removable(ref: np.ndarray, hits: np.ndarray) -> float:
        ok = np.nonzero(100 * hits.mean(axis=(0, 1)) >= 100 * ref.mean() - COMPARABLE_POINTS)[0]
        return 1 - widths[ok[0]] / full if len(ok) else 0.0

    measured = removable(reference.val, curve.val)
    ci = two_level_bootstrap(removable, [reference.val, curve.val], resamples=1000)
    control_name = max(controls, key=lambda k: (removable(reference.val, controls[k].val), 100 * controls[k].val.mean()))
    control_hits = controls[control_name]
    control_measured = removable(reference.val, control_hits.val)
    control_ci = two_level_bootstrap(removable, [reference.val, control_hits.val], resamples=1000)
    beyond_ci = two_level_bootstrap(lambda r, s, c: removable(r, s) - removable(r, c), [reference.val, curve.val, control_hits.val], resamples=1000)
    beaten = beats(beyond_ci, (0.0, 0.0))
    index = widths.index(round(full * (1 - measured)))
    drop, drop_ci = points_gap(reference.test, curve.test[:, :, index])
    condition = Condition(
        f"at width {widths[index]} {gap_words(drop, drop_ci, 'the dense net at full width')}, limit {COMPARABLE_POINTS:g} below; "
        f"one training per seed gives all {len(widths)} widths", drop <= COMPARABLE_POINTS,
    )
    control = Control(
        control_name, control_measured, control_ci, beaten,
        f"{control_name} (chosen on validation) can remove {100 * control_measured:.0f}% (95% CI {100 * control_ci[0]:.0f}..{100 * control_ci[1]:.0f}%); "
        f"structural dropout removes {100 * (measured - control_measured):+.0f} points of width beyond it (95% CI {100 * beyond_ci[0]:+.0f}.."
        f"{100 * beyond_ci[1]:+.0f}): {verdict_words(beaten, 'structural dropout')}",
        {"beyond": measured - control_measured, "beyond_ci": list(beyond_ci)},
    )
    explanation = (
        f"{100 * measured:.0f}% of the {full} features per hidden layer can be removed with validation accuracy within {COMPARABLE_POINTS:g} point "
        f"of the dense net's ({len(widths)} widths, one training per seed); {condition.text}. Control: {control.text}"
    )
    selection = {"width": widths[index], "control": control_name, "split": "val"}
    details = {
        "widths": widths, "full_width": full,
        "curves": {
            "reference_test_accuracy": reference.accuracy("test"),
            "structural": [round(100 * a, 3) for a in curve.test.mean(axis=(0, 1))],
            **{name: [round(100 * a, 3) for a in h.test.mean(axis=(0, 1))] for name, h in controls.items()},
        },
    }
    runs = {"candidate": [c.path for c in structural], "reference": [c.path for c in dense], "dropout": [c.path for c in dropout]}
    return Evidence(measured, ci, explanation, [condition], runs, details, control, selection, min(len(structural), len(dense), len(dropout)))


def width_hits(checkpoints: list[Checkpoint], widths: list[int], narrow: Callable[[Checkpoint, int], nn.Module]) -> Hits:
    """Hits [seeds, examples, widths] of every seed's net narrowed to every width."""
    per_width = [Hits.of(checkpoints, lambda c, w=w: narrow(c, w)) for w in widths]
    return Hits(np.stack([h.val for h in per_width], axis=-1), np.stack([h.test for h in per_width], axis=-1))


def check_inference_speedup(claim: Claim, ctx: ClaimContext) -> Evidence:
    """A plain speed claim: run 2 (first seed) against run 1 in onnxruntime at KUBO_BATCH, nothing else.

    The building block for claims a user adds, and for the tests' positive and negative controls.
    """
    baseline, candidate = (ctx.checkpoint(n) for n in claim.runs)
    result = ctx.compare(baseline, candidate, KUBO_BATCH)
    flop_ratio = baseline.metrics["flops"] / candidate.metrics["flops"]
    explanation = f"{candidate.name} runs {result.speedup:.2f}x faster than {baseline.name} (onnxruntime, batch {KUBO_BATCH}; FLOP ratio {flop_ratio:.2f}x)"
    runs = {"baseline": baseline.path, "candidate": candidate.path}
    return Evidence(result.speedup, result.ci, explanation, [], runs, {"rounds": result.rounds, "flop_ratio": flop_ratio})


# --- the registry -----------------------------------------------------------------------------------

SONG_MLP_RUNS = ("dropout-p0.3", "dropout", "dropout-p0.7", "approximate-random-p0.3", "approximate-random", "approximate-random-p0.7")
SONG_LSTM_RUNS = tuple(f"lstm-{name}" for name in SONG_MLP_RUNS)

CLAIMS: list[Claim] = [
    Claim(
        "kubo2016-runtime", "Kubo, Tucker, Wiesler 2016, Compacting Neural Network Classifiers via Dropout Training (arXiv 1611.06148)",
        "A dropout-compacted net with < 50 % of the hidden units runs >= 2.5x faster than the dense net at comparable accuracy.",
        f"inference speedup over dense (onnxruntime, batch {KUBO_BATCH})", 2.5, "x", 2.5,
        "95% CI of the speedup (over timing rounds) >= 2.5, < 50 % of hidden units kept, test accuracy within 1 point of the better of dense and dropout",
        ("dense", "dropout", "dropout-compaction-"), check_kubo_runtime, timed=True,
    ),
    Claim(
        "song2018-mlp-training", "Song et al. 2018, Approximate Random Dropout (arXiv 1805.08939)",
        "Approximate random dropout cuts MLP training time by 20-77 % at dropout rates 0.3-0.7 with a marginal accuracy drop.",
        "training time saved over standard dropout (the smallest over p = 0.3, 0.5, 0.7)", [0.20, 0.77], "fraction", 0.20,
        "95% CI of the saving >= 20 % at every p, test accuracy within 1 point of standard dropout at every p",
        SONG_MLP_RUNS, check_song, timed=True,
    ),
    Claim(
        "song2018-lstm-training", "Song et al. 2018, Approximate Random Dropout (arXiv 1805.08939)",
        "Approximate random dropout cuts LSTM training time by 19-60 % at dropout rates 0.3-0.7 with a marginal accuracy drop.",
        "training time saved over standard dropout (the smallest over p = 0.3, 0.5, 0.7)", [0.19, 0.60], "fraction", 0.19,
        "95% CI of the saving >= 19 % at every p, test perplexity within 5 % of standard dropout at every p",
        SONG_LSTM_RUNS, check_song, timed=True,
    ),
    Claim(
        "molchanov2017-lenet300", "Molchanov, Ashukha, Vetrov 2017, Variational Dropout Sparsifies Deep Neural Networks (arXiv 1701.05369)",
        "Sparse variational dropout leaves LeNet-300-100 with 68x fewer weights at negligible accuracy loss.",
        "compression (all weights / non-zero weights, biases left out)", 68.0, "x", 68.0,
        "95% CI (over seeds) of the compression >= 68x and test accuracy within 1 point of the dense LeNet-300-100 on the same data",
        ("dense-lenet-300-100", "variational-lenet-300-100-"), check_molchanov,
    ),
    Claim(
        "molchanov2017-lenet5", "Molchanov, Ashukha, Vetrov 2017, Variational Dropout Sparsifies Deep Neural Networks (arXiv 1701.05369)",
        "Sparse variational dropout leaves LeNet-5-Caffe with 280x fewer weights at negligible accuracy loss.",
        "compression (all weights / non-zero weights, biases left out)", 280.0, "x", 280.0,
        "95% CI (over seeds) of the compression >= 280x and test accuracy within 1 point of the dense LeNet-5 on the same data",
        ("dense-lenet5", "variational-lenet5-"), check_molchanov,
    ),
    Claim(
        "gomez2019-pruning", "Gomez et al. 2019, Learning Sparse Networks Using Targeted Dropout (arXiv 1905.13678)",
        "Under heavy post-hoc pruning a net trained with targeted dropout keeps clearly more accuracy than plain dropout or magnitude pruning of a dense net.",
        "test-accuracy advantage over the rival (dropout or magnitude, picked on validation) at 90 % weight pruning", "clearly more", "points", 1.0,
        "95% CI (seeds x test examples) of the advantage above +1 point",
        ("targeted-weight", "dropout", "dense"), check_gomez,
    ),
    Claim(
        "knodt2022-width", "Knodt 2022, Structural Dropout for Model Width Compression (arXiv 2205.06906)",
        "One training yields every width; 50-80 % of the features can be pruned with little accuracy loss.",
        "fraction of hidden features removable within 1 point of the dense net's accuracy (width picked on validation)", [0.5, 0.8], "fraction", 0.5,
        "95% CI (seeds x validation examples) of the removable fraction >= 0.5, test accuracy at that width within 1 point of the dense net",
        ("structural", "dense", "dropout"), check_knodt,
    ),
]


def get_claims(only: list[str] | None = None) -> list[Claim]:
    if not only:
        return list(CLAIMS)
    known = {c.id: c for c in CLAIMS}
    unknown = [i for i in only if i not in known]
    if unknown:
        raise ConfigError(f"unknown claim {unknown[0]!r}; known claims: {', '.join(known)}")
    return [known[i] for i in only]


def check_claims(claims: list[Claim], ctx: ClaimContext) -> list[dict[str, Any]]:
    """Check each claim; a check that cannot run is `not-run` with its reason, one that raises is `error`."""
    task = ctx.progress.add_task("claims", total=len(claims), status="") if ctx.progress else None
    records = []
    for claim in claims:
        if task is not None:
            ctx.progress.update(task, status=claim.id)
        records.append(check_claim(claim, ctx))
        if task is not None:
            ctx.progress.advance(task)
    return records


def check_claim(claim: Claim, ctx: ClaimContext) -> dict[str, Any]:
    record = {
        "id": claim.id, "paper": claim.paper, "claim": claim.claim, "metric": claim.metric, "claimed": claim.claimed,
        "bound": claim.bound, "tolerance": claim.tolerance, "applies_to": list(claim.devices), "unit": claim.unit, "profile": ctx.profile.name,
        "fingerprint": fingerprint(), "setup": claim.setup(ctx), "measured": None, "ci": [None, None], "runs": {}, "seeds": None, "control": None,
    }
    missing = claim.missing_runs(ctx)
    reason = ctx.profile.unavailable_reason()
    if reason or ctx.profile.device not in claim.devices or missing:
        why = reason or (f"the plan has no run {missing[0]!r}" if missing else f"applies to {', '.join(claim.devices)} profiles only")
        return {**record, "verdict": "not-run", "explanation": why}
    try:
        evidence = claim.check(claim, ctx)
        calibration = ctx.calibration if claim.timed else None
    except (NotRunnable, ConfigError) as e:  # e.g. too few seeds, no validation split, a control this model cannot have
        return {**record, "verdict": "not-run", "explanation": str(e)}
    except Exception as e:  # one claim's failure must not hide the others' verdicts
        return {**record, "verdict": "error", "explanation": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()}
    result = verdict(claim, evidence)
    explanation = evidence.explanation
    if calibration is not None and not calibration["ok"]:
        result = "inconclusive" if result == "holds" else result
        explanation += f". Timing not calibrated: the A/A ratio was {calibration['ratio']:.3f}, more than {AA_TOLERANCE:.0%} from 1"
    return {
        **record, "verdict": result, "measured": evidence.measured, "ci": list(evidence.ci), "explanation": explanation,
        "conditions": [{"text": c.text, "ok": c.ok} for c in evidence.conditions], "details": evidence.details,
        "runs": {role: _locations(ctx, paths) for role, paths in evidence.runs.items()}, "seeds": evidence.seeds,
        "control": evidence.control.as_dict() if evidence.control else None, "selection": evidence.selection, "calibration": calibration,
    }


def _locations(ctx: ClaimContext, paths: Path | list[Path]) -> str | list[str]:
    return [ctx.location(p) for p in paths] if isinstance(paths, list) else ctx.location(paths)
