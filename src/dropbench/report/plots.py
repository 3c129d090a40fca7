"""Figures for the HTML report: matplotlib drawn to inline SVG (no files, no network). Every label
from a record goes through `plain`: drawn as written, never as mathtext."""

from __future__ import annotations

import io
from typing import Sequence

import matplotlib

matplotlib.use("Agg")  # no display on servers and CI
import matplotlib.pyplot as plt  # noqa: E402

# a fixed hash salt and no date: the same figures draw the same SVG, so a re-rendered page equals its original
plt.rcParams.update({"svg.fonttype": "path", "svg.hashsalt": "dropbench", "figure.dpi": 100, "font.size": 9})

HALF_PAGE = (5.4, 3.6)  # inches: two figures side by side on the page (html.CSS)
MIN_ACCURACY_SPAN = 5.0  # points: an accuracy axis spans at least this, so a 0.2-point gap looks small


def plain(text: str) -> str:
    """A label drawn as written: every `$` escaped, so a name from a record is never parsed as mathtext
    (whose parser raises on what it cannot read). Axis ticks keep their own mathtext."""
    return str(text).replace("$", r"\$")


def to_svg(fig) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    svg = buffer.getvalue()
    return svg[svg.index("<svg"):]  # drop the XML prologue so it inlines in HTML


def scatter_by_group(
    points: Sequence[tuple[str, float, float, tuple[float, float] | None]], xlabel: str, ylabel: str, title: str,
    logx: bool = False, min_yspan: float = 0.0,
) -> str:
    """points: (group, x, y, (low, high) of y or None); one colour per group. Point i is marked with
    the number i + 1, moved down from its neighbours' numbers (a thin line to its point) so none
    overprints another; the caller lists what each number is (html.keyed_figure)."""
    fig, ax = plt.subplots(figsize=HALF_PAGE)
    colours = {group: f"C{i}" for i, group in enumerate(dict.fromkeys(p[0] for p in points))}
    for group, x, y, spread in points:
        yerr = None if spread is None else [[max(y - spread[0], 0)], [max(spread[1] - y, 0)]]
        ax.errorbar([x], [y], yerr=yerr, fmt="o", markersize=4, capsize=2, color=colours[group])
    for group, colour in colours.items():
        ax.scatter([], [], color=colour, s=16, label=plain(group))
    if logx:
        ax.set_xscale("log")
    ax.margins(x=0.1)  # room for the numbers at the edges
    readable_ylim(ax, [v for p in points for v in (p[3] or (p[2], p[2]))], min_yspan)
    for number, ((_, x, y, _), drop) in enumerate(zip(points, label_drops(ax, [(p[1], p[2]) for p in points])), start=1):
        leader = {"arrowstyle": "-", "color": "grey", "linewidth": 0.4} if drop > 3 else None
        ax.annotate(str(number), (x, y), textcoords="offset points", xytext=(5, 1 - drop), fontsize=7, va="center", arrowprops=leader)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=plain(title))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3, frameon=False)  # below: never over a point
    return to_svg(fig)


def label_drops(ax, xy: Sequence[tuple[float, float]], gap: float = 8.0, near: float = 18.0) -> list[float]:
    """How far (in points) to move each point's label down so that labels of points within `near`
    points of each other across stand at least `gap` apart; the highest point keeps its place."""
    ax.get_xlim()  # settles the autoscaled limits before reading positions
    to_points = 72 / ax.figure.dpi
    where = [(px * to_points, py * to_points) for px, py in ax.transData.transform(xy)]
    placed: list[tuple[float, float]] = []
    drops = [0.0] * len(xy)
    for i in sorted(range(len(xy)), key=lambda i: -where[i][1]):
        x, y = where[i]
        label = y
        for px, py in sorted(placed, key=lambda p: -p[1]):  # top down: each clash moves it below that label
            if abs(px - x) < near and abs(py - label) < gap:
                label = py - gap
        placed.append((x, label))
        drops[i] = y - label
    return drops


def readable_ylim(ax, values: Sequence[float], min_span: float) -> None:
    """Widen the y-axis around `values` to at least `min_span`, so a tiny gap is not magnified to fill the plot."""
    low, high = min(values), max(values)
    if high - low < min_span:
        middle = (low + high) / 2
        low, high = middle - min_span / 2, middle + min_span / 2
    pad = 0.08 * (high - low)
    ax.set_ylim(low - pad, high + pad)


def lines(
    series: dict[str, Sequence[tuple[float, float]]], xlabel: str, ylabel: str, title: str, hline: float | None = None,
    min_yspan: float = 0.0, marks: dict[str, tuple[float, float]] | None = None, marks_label: str = "",
) -> str:
    """One line per named series of (x, y) points; `marks`: one point per series drawn as a diamond
    of its colour (e.g. its mean over seeds where a verdict reads it), `marks_label` in the legend."""
    fig, ax = plt.subplots(figsize=HALF_PAGE)
    marks = marks or {}
    for name, pts in series.items():
        pts = sorted(pts)
        (line,) = ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", markersize=3, label=plain(name))
        if name in marks:
            ax.plot(*marks[name], marker="D", markersize=6, markeredgecolor="black", color=line.get_color(), linestyle="none")
    if marks:
        ax.plot([], [], marker="D", markersize=6, markeredgecolor="black", color="white", linestyle="none", label=plain(marks_label))
    if hline is not None:
        ax.axhline(hline, color="grey", linestyle=":", linewidth=1)
    values = [p[1] for pts in series.values() for p in pts] + [y for _, y in marks.values()] + ([hline] if hline is not None else [])
    if values:
        readable_ylim(ax, values, min_yspan)
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
    fig, axes = plt.subplots(len(rows), 1, figsize=(HALF_PAGE[0], 0.6 + 0.62 * len(rows)), squeeze=False)
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
