"""The built-in plans: the runs `reproduce`, the claims and the asv suites train, by name.

`plan(quick)` lists them; the claims bind their roles to these names (each paper module in
claims/), and take their paper's constants (song's rates, molchanov's KL weights) from there.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

from .claims import molchanov, song
from .runs import RunSpec
from .train import TrainConfig

QUICK_SEEDS = (0, 1)
FULL_SEEDS = (0, 1, 2)


def plan(quick: bool) -> list[RunSpec]:
    """The runs of `reproduce` (and of the claims and asv suites, which pick them by name).

    quick: a 3x1024 MLP on digits, LeNets on mnist-5k with short budgets, a small LSTM (minutes);
    full: the 3x1024 MLP on mnist-5k, the LeNets with the budgets that reach the targets.
    Every run whose accuracy enters a verdict is trained with every seed (2 quick, 3 full); runs
    that are only timed (`magnitude-*`, `targeted-unit`) with the first.
    """
    seeds = QUICK_SEEDS if quick else FULL_SEEDS
    if quick:
        common = {"model": "mlp", "data": "digits", "hidden": (1024, 1024, 1024), "train": TrainConfig(epochs=20)}
        compaction_strengths = (1.0, 2.0, 4.0)
        epochs = {"dense": 10, "vd300": 60, "vd5": 30}
        lenet5_kl = molchanov.KL_WEIGHTS[:1]  # LeNet-5 VD is the quick plan's slowest training: one candidate
        lstm = {"model": "lstm", "data": "pydoc-text", "hidden": (128,), "train": TrainConfig(epochs=2)}
    else:
        common = {"model": "mlp", "data": "mnist-5k", "hidden": (1024, 1024, 1024), "train": TrainConfig(epochs=30)}
        compaction_strengths = (0.3, 1.0, 3.0)
        # the dense LeNets have converged (training loss ~0) by 30 epochs
        epochs = {"dense": 30, "vd300": 200, "vd5": 100}
        lenet5_kl = molchanov.KL_WEIGHTS
        lstm = {"model": "lstm", "data": "pydoc-text", "hidden": (128,), "train": TrainConfig(epochs=15)}
    seeded = {**common, "seeds": seeds}

    def lenet(epochs: int) -> dict:
        return {"data": "mnist-5k", "train": TrainConfig(epochs=epochs, batch_size=100, schedule="cosine"), "seeds": seeds}

    def vd(kl_weight: float) -> dict:  # train_clip as the reference's LeNet runs
        return {"kl_weight": kl_weight, "train_clip": True}

    return [
        RunSpec("dense", "dense", **seeded),
        *[RunSpec(f"dropout{song.rate_suffix(p)}", "dropout", {"p": p}, **seeded) for p in song.RATES],
        RunSpec("magnitude-unit", "magnitude", {"mode": "unit", "fraction": 0.5, "finetune_epochs": 3}, **common),
        RunSpec("magnitude-weight", "magnitude", {"mode": "weight", "fraction": 0.75, "finetune_epochs": 3}, **common),
        # the prior strength sets the compaction rate: one run per strength gives the width/accuracy curve
        *[RunSpec(f"dropout-compaction-s{s:g}", "dropout-compaction", {"strength": s}, **seeded) for s in compaction_strengths],
        RunSpec("targeted-weight", "targeted", {"mode": "weight", "gamma": 0.75, "alpha": 0.5, "prune_fraction": 0.75}, **seeded),
        RunSpec("targeted-unit", "targeted", {"mode": "unit", "gamma": 0.5, "alpha": 0.5, "prune_fraction": 0.5}, **common),
        RunSpec("structural", "structural", {"p": 0.5, "lower_bound": 8}, **seeded),
        # approximate random dropout against standard dropout at the same p
        *[RunSpec(f"approximate-random{song.rate_suffix(p)}", "approximate-random", {"p": p}, **seeded) for p in song.RATES],
        # sparse variational dropout at each candidate KL weight; the claim picks one on validation
        RunSpec("dense-lenet-300-100", "dense", model="lenet-300-100", **lenet(epochs["dense"])),
        *[RunSpec(f"variational-lenet-300-100-kl{w:g}", "variational", vd(w), model="lenet-300-100", **lenet(epochs["vd300"])) for w in molchanov.KL_WEIGHTS],
        RunSpec("dense-lenet5", "dense", model="lenet5", **lenet(epochs["dense"])),
        *[RunSpec(f"variational-lenet5-kl{w:g}", "variational", vd(w), model="lenet5", **lenet(epochs["vd5"])) for w in lenet5_kl],
        # the LSTM baseline drops what approximate-random drops: whole units, recurrent connections included
        *[RunSpec(f"lstm-dropout{song.rate_suffix(p)}", "dropout", {"p": p, "mask": "unit"}, **lstm, seeds=seeds) for p in song.RATES],
        *[RunSpec(f"lstm-approximate-random{song.rate_suffix(p)}", "approximate-random", {"p": p}, **lstm, seeds=seeds) for p in song.RATES],
    ]


def baseline_for(spec: RunSpec, specs: list[RunSpec]) -> RunSpec | None:
    """The dense run with the same model, data and widths (None for the dense run itself)."""
    for other in specs:
        if other.method == "dense" and (other.model, other.data, other.hidden) == (spec.model, spec.data, spec.hidden):
            return None if other is spec else other
    return None


def reseeded(specs: list[RunSpec], seeds: Sequence[int] | None) -> list[RunSpec]:
    """The plan with `seeds` for every run a verdict reads (the runs with several seeds) and the first
    of them for the runs that are only timed; None keeps the plan's own. Each seed is cached on its
    own, so adding seeds trains only the new ones."""
    if not seeds:
        return specs
    return [replace(spec, seeds=tuple(seeds) if len(spec.all_seeds()) > 1 else tuple(seeds[:1])) for spec in specs]
