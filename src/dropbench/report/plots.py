"""Figures for the HTML report: matplotlib drawn to inline SVG (no files, no network). Every label
from a record goes through `plain`: drawn as written, never as mathtext."""

from __future__ import annotations

import io
from typing import Iterable, Sequence

import matplotlib

matplotlib.use("Agg")  # no display on servers and CI
import matplotlib.pyplot as plt  # noqa: E402

plt.rcParams.update({"svg.fonttype": "path", "figure.dpi": 100, "font.size": 9})


def plain(text: str) -> str:
    """A label drawn as written: every `$` escaped, so a name from a record is never parsed as mathtext
    (whose parser raises on what it cannot read). Axis ticks keep their own mathtext."""
    return str(text).replace("$", r"\$")


def to_svg(fig) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(fig)
    svg = buffer.getvalue()
    return svg[svg.index("<svg"):]  # drop the XML prologue so it inlines in HTML


def scatter_by_group(points: Iterable[tuple[str, str, float, float]], xlabel: str, ylabel: str, title: str, logx: bool = False) -> str:
    """points: (group, label, x, y); one colour per group, each point labelled."""
    fig, ax = plt.subplots(figsize=(7, 4.2))
    groups: dict[str, list[tuple[str, float, float]]] = {}
    for group, label, x, y in points:
        groups.setdefault(group, []).append((label, x, y))
    for group, members in groups.items():
        ax.scatter([m[1] for m in members], [m[2] for m in members], label=plain(group), s=28)
        for label, x, y in members:
            ax.annotate(plain(label), (x, y), textcoords="offset points", xytext=(4, 3), fontsize=7)
    if logx:
        ax.set_xscale("log")
    ax.set(xlabel=xlabel, ylabel=ylabel, title=plain(title))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    return to_svg(fig)


def lines(series: dict[str, Sequence[tuple[float, float]]], xlabel: str, ylabel: str, title: str, hline: float | None = None) -> str:
    """One line per named series of (x, y) points."""
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    for name, pts in series.items():
        pts = sorted(pts)
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", markersize=3, label=plain(name))
    if hline is not None:
        ax.axhline(hline, color="grey", linestyle=":", linewidth=1)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=plain(title))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return to_svg(fig)


def paired_bars(labels: Sequence[str], measured: Sequence[float], theoretical: Sequence[float], errors: Sequence[tuple[float, float]], title: str) -> str:
    """Measured (with CI) beside theoretical bars per label, e.g. speedup vs FLOP ratio."""
    return grouped_bars(labels, {"measured": (measured, errors)}, theoretical, title)


def grouped_bars(
    labels: Sequence[str], series: dict[str, tuple[Sequence[float], Sequence[tuple[float, float]]]], theoretical: Sequence[float], title: str,
) -> str:
    """One bar (with CI) per series for each label, beside the theoretical ratio: e.g. speedup per profile vs FLOP ratio."""
    fig, ax = plt.subplots(figsize=(max(6.0, (0.3 + 0.25 * len(series)) * len(labels) + 2), 4.0))
    width = 0.8 / (len(series) + 1)
    for i, (name, (values, errors)) in enumerate(series.items()):
        # an interval that does not contain its value (a hand-edited record) draws no bar on that side
        yerr = [[max(v - e[0], 0) for v, e in zip(values, errors)], [max(e[1] - v, 0) for v, e in zip(values, errors)]]
        ax.bar([x + (i - len(series) / 2) * width for x in range(len(labels))], values, width=width, yerr=yerr, capsize=2,
               label=plain(f"{name} (95% CI)"))
    ax.bar([x + len(series) / 2 * width for x in range(len(labels))], theoretical, width=width, alpha=0.5, color="grey", label="FLOP ratio")
    ax.axhline(1.0, color="grey", linewidth=0.8)
    ax.set_yscale("log")  # ratios from 1x to 100x+ share one figure
    ax.set_xticks(list(range(len(labels))), [plain(label) for label in labels], rotation=35, ha="right", fontsize=7)
    ax.set(ylabel="speedup over dense (x, log)", title=plain(title))
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7)
    return to_svg(fig)


STATE_COLOURS = {"met": "#176b2c", "violated": "#b00020", "undecided": "#cc7a00"}


def forest(rows: Sequence[tuple[str, float, tuple[float, float], float, str]], title: str) -> str:
    """One row per interval (label, estimate, (low, high), threshold, state), each on its own x scale
    (a claim's rows mix units): the interval as a bar coloured by its state, the estimate as a dot,
    the bound or margin as a dashed line."""
    fig, axes = plt.subplots(len(rows), 1, figsize=(7.0, 0.6 + 0.62 * len(rows)), squeeze=False)
    for ax, (label, estimate, (low, high), threshold, state) in zip(axes[:, 0], rows):
        colour = STATE_COLOURS[state]
        ax.plot([low, high], [0, 0], color=colour, linewidth=5, solid_capstyle="butt")
        ax.plot([estimate], [0], "o", color="black", markersize=4)
        ax.axvline(threshold, color="black", linestyle="--", linewidth=1)
        span = max(high, threshold) - min(low, threshold) or abs(threshold) or 1.0
        ax.set_xlim(min(low, threshold) - 0.15 * span, max(high, threshold) + 0.15 * span)
        ax.set_yticks([])
        ax.tick_params(axis="x", labelsize=7)
        ax.set_title(plain(f"{label} — {state}"), fontsize=7.5, loc="left", color=colour, pad=2)
        for side in ("left", "right", "top"):
            ax.spines[side].set_visible(False)
    fig.suptitle(plain(title), fontsize=9, x=0.01, ha="left")
    fig.tight_layout()
    return to_svg(fig)
