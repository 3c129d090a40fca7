"""The papers' claims as data, each checked with a measured number and a confidence interval.

A `Claim` is a plain record: what the paper says, the bound that counts as holding, and the runs
(by their `reproduce.plan` name, so the claims reuse reproduce's cached checkpoints) that the
check needs. A check returns an `Evidence` (measured value, interval, side conditions such as
"accuracy within 1 point"); `verdict` turns it into holds / fails / inconclusive.
"""

from __future__ import annotations

import os
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import torch

from .checkpoint import Checkpoint, load_checkpoint
from .data import load_dataset
from .errors import ConfigError
from .export import ensure_exported
from .methods.structural import narrow_to
from .methods.targeted import pruning_comparison
from .profiles import Profile, fingerprint
from .pruning import prune_weights
from .runs import RunSpec, cached_run
from .runtimes.bench import compare_checkpoints
from .speed import savings_over_dropout
from .stats import BOOTSTRAP_RESAMPLES, bootstrap_mean_ci
from .train import predict

COMPARABLE_POINTS = 1.0  # "comparable" / "negligible" accuracy loss: at most 1 point on the test split


@dataclass
class Condition:
    """A side condition of a claim (e.g. comparable accuracy); failing it fails the claim."""

    text: str
    ok: bool


@dataclass
class Evidence:
    measured: float
    ci: tuple[float, float]
    explanation: str
    conditions: list[Condition] = field(default_factory=list)
    runs: dict[str, Path] = field(default_factory=dict)  # role -> checkpoint directory
    details: dict[str, Any] = field(default_factory=dict)


def plan_names(pattern: str, specs: list[RunSpec]) -> list[str]:
    """The runs a pattern names: one run, or for a pattern ending in '-' every run of that sweep."""
    if pattern.endswith("-"):
        return [spec.name for spec in specs if spec.name.startswith(pattern)]
    return [spec.name for spec in specs if spec.name == pattern]


@dataclass
class ClaimContext:
    """What a check may use: the profile, the runs (reproduce.plan), the checkpoints, progress.

    Checkpoints come from `run_dirs` (plan name -> directory, e.g. reproduce's own output) or
    else from the run cache, trained on first use. Directories in the records are relative to
    `relative_to` when it is set.
    """

    profile: Profile
    specs: list[RunSpec]
    mode: str  # "quick" or "full": which setups the specs are
    progress: Any = None
    min_run_time: float = 1.0
    run_dirs: dict[str, Path] | None = None
    relative_to: Path | None = None

    def spec(self, name: str) -> RunSpec:
        for spec in self.specs:
            if spec.name == name:
                return spec
        raise ConfigError(f"the plan has no run named {name!r}")

    def names(self, pattern: str) -> list[str]:
        return plan_names(pattern, self.specs)

    def checkpoint(self, name: str) -> Checkpoint:
        if self.run_dirs is not None:
            return load_checkpoint(self.run_dirs[name])
        return load_checkpoint(ensure_exported(cached_run(self.spec(name), progress=self.progress)))

    def location(self, path: Path) -> str:
        return os.path.relpath(path, self.relative_to) if self.relative_to else str(path)


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


# --- shared measurements ----------------------------------------------------------------------------


def correct(checkpoint: Checkpoint, model: torch.nn.Module | None = None) -> torch.Tensor:
    """Per-example correctness (0/1) on the checkpoint's test split, of its model or of `model`."""
    data = load_dataset(checkpoint.manifest["data"]["name"])
    return (predict(model or checkpoint.model, data.test.x).argmax(-1) == data.test.y).float()


def accuracy_drop(baseline: Checkpoint, candidate: Checkpoint) -> tuple[float, tuple[float, float]]:
    """Accuracy points lost by `candidate` (paired bootstrap over test examples)."""
    diff = 100 * (correct(baseline) - correct(candidate))
    return float(diff.mean()), bootstrap_mean_ci(diff.numpy())


def hidden_fraction(baseline: Checkpoint, candidate: Checkpoint) -> float:
    """Hidden units kept by `candidate` as a fraction of the baseline's."""
    return sum(candidate.model.hidden_sizes()) / sum(baseline.model.hidden_sizes())


def comparable(baseline: Checkpoint, candidate: Checkpoint) -> Condition:
    drop, ci = accuracy_drop(baseline, candidate)
    return Condition(f"accuracy drop {drop:.2f} points (95% CI {ci[0]:.2f}..{ci[1]:.2f}) <= {COMPARABLE_POINTS:g}", drop <= COMPARABLE_POINTS)


# --- the checks -------------------------------------------------------------------------------------


def check_kubo_runtime(claim: Claim, ctx: ClaimContext) -> Evidence:
    """The narrowest run of the prior-strength sweep within 1 point of dense, timed against dense."""
    dense = ctx.checkpoint(claim.runs[0])
    sweep = [ctx.checkpoint(n) for n in ctx.names(claim.runs[1])]
    within = [c for c in sweep if accuracy_drop(dense, c)[0] <= COMPARABLE_POINTS]
    compact = min(within or sweep, key=lambda c: hidden_fraction(dense, c))
    batch = max(ctx.profile.batch_sizes)
    result = compare_checkpoints(dense, compact, ctx.profile, "onnxruntime", batch, ctx.min_run_time)
    kept = hidden_fraction(dense, compact)
    conditions = [Condition(f"{100 * kept:.1f}% of hidden units kept < 50%", kept < 0.5), comparable(dense, compact)]
    explanation = (
        f"{compact.name} keeps {100 * kept:.1f}% of hidden units and runs {result.speedup:.2f}x faster than dense "
        f"in onnxruntime at batch {batch} (FLOP ratio {dense.metrics['flops'] / compact.metrics['flops']:.2f}x)"
    )
    return Evidence(result.speedup, result.ci, explanation, conditions, {"baseline": dense.path, "candidate": compact.path},
                    {"kept_fraction": kept, "batch": batch, "runtime": "onnxruntime", "sweep": [c.name for c in sweep], "warnings": result.warnings})


def check_molchanov(claim: Claim, ctx: ClaimContext) -> Evidence:
    dense, sparse = (ctx.checkpoint(n) for n in claim.runs)
    if "compression" not in sparse.metrics:
        raise ConfigError(f"{sparse.path} records no weight compression; the claim needs a variational run")
    compression = sparse.metrics["compression"]  # weights only, biases left out, as the paper counts
    condition = comparable(dense, sparse)
    data, epochs = sparse.manifest["data"], sparse.manifest["train"]["epochs"]
    data_note = f"on {data['name']} ({data['sizes']['train']} training images, {epochs} epochs) rather than full MNIST (60,000 images, 200 epochs)"
    explanation = f"{compression:.1f}x fewer non-zero weights than the dense net {data_note}; {condition.text}"
    # Compression is a count, not a sample: its interval is the point itself (one training).
    return Evidence(compression, (compression, compression), explanation, [condition], {"baseline": dense.path, "candidate": sparse.path})


def check_gomez(claim: Claim, ctx: ClaimContext) -> Evidence:
    """Targeted vs the better of dropout and magnitude (dense pruned post hoc) at 90 % weight pruning.

    Weight pruning keeps, per unit, the largest |w|; a net shipped pruned at a lower fraction
    prunes to 90 % exactly as its unpruned self would (its zeros are the smallest weights), so
    per-example predictions at 90 % come from the shipped checkpoints and the interval is a
    paired bootstrap over test examples.
    """
    targeted, dropout, dense = (ctx.checkpoint(n) for n in claim.runs)
    comparison = pruning_comparison(targeted, dropout, dense)  # also refuses unlike budgets
    fraction = 0.9
    if targeted.manifest["method"]["params"].get("prune_fraction", 0.0) > fraction:
        raise ConfigError(f"{targeted.path} was shipped pruned beyond {fraction:.0%}; the claim needs it at most that pruned")
    hits = {label: correct(c, prune_weights(c.model, fraction)) for label, c in (("targeted", targeted), ("dropout", dropout), ("magnitude", dense))}
    rival = max(("dropout", "magnitude"), key=lambda label: hits[label].mean())
    diff = 100 * (hits["targeted"] - hits[rival])
    advantage, ci = float(diff.mean()), bootstrap_mean_ci(diff.numpy())
    accuracy = {label: round(100 * float(h.mean()), 2) for label, h in hits.items()}
    explanation = (
        f"at {fraction:.0%} weight pruning targeted dropout keeps {accuracy['targeted']}% test accuracy, "
        f"dropout {accuracy['dropout']}%, magnitude (dense pruned) {accuracy['magnitude']}%: {advantage:+.2f} points over {rival}"
    )
    runs = {"targeted": targeted.path, "dropout": dropout.path, "magnitude": dense.path}
    return Evidence(advantage, ci, explanation, [], runs, {"accuracy_at_fraction": accuracy, "fraction": fraction, **comparison})


def check_knodt(claim: Claim, ctx: ClaimContext) -> Evidence:
    """Largest fraction of every hidden layer's features removable within 1 point of full width.

    All widths come from the one structural checkpoint (narrowed as its variants are); the
    interval resamples test examples and repeats the whole width search.
    """
    (run,) = (ctx.checkpoint(n) for n in claim.runs)
    widths = sorted(point["width"] for point in run.manifest["curves"]["width"])
    full = max(run.model.hidden_sizes())
    hits = torch.stack([correct(run, narrow_to(run.model, w)) for w in widths])  # [widths, examples]

    def prunable(sample: torch.Tensor) -> float:
        accuracy = 100 * sample.float().mean(dim=1)
        ok = [w for w, a in zip(widths, accuracy) if a >= accuracy[-1] - COMPARABLE_POINTS]
        return 1 - min(ok) / full

    measured = prunable(hits)
    generator = torch.Generator().manual_seed(0)
    resampled = [prunable(hits[:, torch.randint(hits.shape[1], (hits.shape[1],), generator=generator)]) for _ in range(BOOTSTRAP_RESAMPLES // 4)]
    ci = (float(torch.tensor(resampled).quantile(0.025)), float(torch.tensor(resampled).quantile(0.975)))
    condition = Condition(f"one training evaluated at {len(widths)} widths from {widths[0]} to {full}", len(widths) >= 2)
    explanation = (
        f"{100 * measured:.0f}% of the {full} features per hidden layer can be removed with test accuracy "
        f"within {COMPARABLE_POINTS:g} point of full width ({len(widths)} widths, one training)"
    )
    return Evidence(measured, ci, explanation, [condition], {"candidate": run.path}, {"widths": widths, "full_width": full})


SONG_RATES = (0.3, 0.5, 0.7)
SONG_BATCH = 128  # the batch the training-step times are measured at
PERPLEXITY_TOLERANCE = 1.05  # "marginal" loss for a language model: perplexity within 5 %


def check_song(claim: Claim, ctx: ClaimContext) -> Evidence:
    """Training time saved over standard dropout at p = 0.3, 0.5, 0.7 (interleaved, one run per p).

    The measured value is the smallest saving of the three (the claim covers the whole range);
    the side condition compares the trained nets of both methods at the plan's p.
    """
    dropout, approximate = (ctx.checkpoint(n) for n in claim.runs)
    spec = ctx.spec(claim.runs[1])
    timing = replace(spec, train=replace(spec.train, batch_size=SONG_BATCH))
    records = savings_over_dropout(timing, SONG_RATES, ctx.profile, ctx.min_run_time)
    worst = min(records, key=lambda r: r["time_saved"])
    if approximate.manifest["data"]["kind"] == "language":
        ratio = approximate.metrics["perplexity"] / dropout.metrics["perplexity"]
        condition = Condition(
            f"perplexity {approximate.metrics['perplexity']:.2f} vs dropout {dropout.metrics['perplexity']:.2f} "
            f"({100 * (ratio - 1):+.1f}%, allowed +{100 * (PERPLEXITY_TOLERANCE - 1):.0f}%)",
            ratio <= PERPLEXITY_TOLERANCE,
        )
    else:
        condition = comparable(dropout, approximate)
    saved = ", ".join(f"p={r['p']:g}: {100 * r['time_saved']:.0f}% (FLOP ideal {100 * r['flop_ideal']:.0f}%)" for r in records)
    explanation = f"training-step time saved over standard dropout, batch {SONG_BATCH}: {saved}; {condition.text}"
    details = {
        "rates": [
            {k: r[k] for k in ("p", "time_saved", "time_saved_ci", "flop_ideal", "realisation", "warnings")}
            for r in records
        ],
        "batch": SONG_BATCH,
    }
    return Evidence(
        worst["time_saved"],
        tuple(worst["time_saved_ci"]),
        explanation,
        [condition],
        {"baseline": dropout.path, "candidate": approximate.path},
        details,
    )


# --- the registry -----------------------------------------------------------------------------------

CLAIMS: list[Claim] = [
    Claim(
        "kubo2016-runtime", "Kubo, Tucker, Wiesler 2016, Compacting Neural Network Classifiers via Dropout Training (arXiv 1611.06148)",
        "A dropout-compacted net with < 50 % of the hidden units runs >= 2.5x faster than the dense net at comparable accuracy.",
        "inference speedup over dense (onnxruntime, largest batch of the profile)", 2.5, "x", 2.5,
        "95% CI of the speedup >= 2.5, < 50 % of hidden units kept, accuracy within 1 point of dense",
        ("dense", "dropout-compaction-"), check_kubo_runtime,
    ),
    Claim(
        "song2018-mlp-training", "Song et al. 2018, Approximate Random Dropout (arXiv 1805.08939)",
        "Approximate random dropout cuts MLP training time by 20-77 % at dropout rates 0.3-0.7 with a marginal accuracy drop.",
        "training time saved over standard dropout (the smallest over p = 0.3, 0.5, 0.7)", [0.20, 0.77], "fraction", 0.20,
        "95% CI of the saving >= 20 % at every p, accuracy within 1 point of standard dropout",
        ("dropout", "approximate-random"), check_song,
    ),
    Claim(
        "song2018-lstm-training", "Song et al. 2018, Approximate Random Dropout (arXiv 1805.08939)",
        "Approximate random dropout cuts LSTM training time by 19-60 % at dropout rates 0.3-0.7 with a marginal accuracy drop.",
        "training time saved over standard dropout (the smallest over p = 0.3, 0.5, 0.7)", [0.19, 0.60], "fraction", 0.19,
        "95% CI of the saving >= 19 % at every p, perplexity within 5 % of standard dropout",
        ("lstm-dropout", "lstm-approximate-random"), check_song,
    ),
    Claim(
        "molchanov2017-lenet300", "Molchanov, Ashukha, Vetrov 2017, Variational Dropout Sparsifies Deep Neural Networks (arXiv 1701.05369)",
        "Sparse variational dropout leaves LeNet-300-100 with 68x fewer weights at negligible accuracy loss.",
        "compression (all weights / non-zero weights, biases left out)", 68.0, "x", 68.0,
        "compression >= 68x and accuracy within 1 point of the dense LeNet-300-100 on the same data",
        ("dense-lenet-300-100", "variational-lenet-300-100"), check_molchanov,
    ),
    Claim(
        "molchanov2017-lenet5", "Molchanov, Ashukha, Vetrov 2017, Variational Dropout Sparsifies Deep Neural Networks (arXiv 1701.05369)",
        "Sparse variational dropout leaves LeNet-5-Caffe with 280x fewer weights at negligible accuracy loss.",
        "compression (all weights / non-zero weights, biases left out)", 280.0, "x", 280.0,
        "compression >= 280x and accuracy within 1 point of the dense LeNet-5 on the same data",
        ("dense-lenet5", "variational-lenet5"), check_molchanov,
    ),
    Claim(
        "gomez2019-pruning", "Gomez et al. 2019, Learning Sparse Networks Using Targeted Dropout (arXiv 1905.13678)",
        "Under heavy post-hoc pruning a net trained with targeted dropout keeps clearly more accuracy than plain dropout or magnitude pruning of a dense net.",
        "test-accuracy advantage over the better of dropout and magnitude at 90 % weight pruning", "clearly more", "points", 1.0,
        "95% CI (paired bootstrap over test examples) of the advantage above +1 point",
        ("targeted-weight", "dropout", "dense"), check_gomez,
    ),
    Claim(
        "knodt2022-width", "Knodt 2022, Structural Dropout for Model Width Compression (arXiv 2205.06906)",
        "One training yields every width; 50-80 % of the features can be pruned with little accuracy loss.",
        "fraction of hidden features removable within 1 point of full-width test accuracy", [0.5, 0.8], "fraction", 0.5,
        "95% CI (bootstrap over test examples) of the prunable fraction >= 0.5, all widths from one training",
        ("structural",), check_knodt,
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
    """Check each claim; a claim whose check raises is recorded with verdict `error`."""
    reason = ctx.profile.unavailable_reason()
    records = []
    task = ctx.progress.add_task("claims", total=len(claims), status="") if ctx.progress else None
    for claim in claims:
        if task is not None:
            ctx.progress.update(task, status=claim.id)
        record = {
            "id": claim.id, "paper": claim.paper, "claim": claim.claim, "metric": claim.metric, "claimed": claim.claimed,
            "bound": claim.bound, "tolerance": claim.tolerance, "applies_to": list(claim.devices), "unit": claim.unit, "profile": ctx.profile.name,
            "fingerprint": fingerprint(), "setup": claim.setup(ctx), "measured": None, "ci": [None, None], "runs": {},
        }
        missing = claim.missing_runs(ctx)
        if reason or ctx.profile.device not in claim.devices or missing:
            why = reason or (f"the plan has no run {missing[0]!r}" if missing else f"applies to {', '.join(claim.devices)} profiles only")
            record.update(verdict="not-run", explanation=why)
        else:
            try:
                evidence = claim.check(claim, ctx)
            except Exception as e:  # one claim's failure must not hide the others' verdicts
                record.update(verdict="error", explanation=f"{type(e).__name__}: {e}", traceback=traceback.format_exc())
            else:
                record.update(
                    verdict=verdict(claim, evidence), measured=evidence.measured, ci=list(evidence.ci), explanation=evidence.explanation,
                    conditions=[{"text": c.text, "ok": c.ok} for c in evidence.conditions], details=evidence.details,
                    runs={role: ctx.location(path) for role, path in evidence.runs.items()},
                )
        records.append(record)
        if task is not None:
            ctx.progress.advance(task)
    return records
