"""How the report words and draws its figures (issue 21): one bound wording for the CLI and the
page, compression against the dense run, values as a reader writes them, readable plots."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pytest
from rich.console import Console

from dropbench.claims.record import ClaimRecord
from dropbench.cli.commands import claims_table
from dropbench.report import plots
from dropbench.report.html import fmt, seeds_words
from dropbench.report.sections import claims_section, compression_words, fingerprint_section, summary_section
from dropbench.schemas.records import ShownRun


def record(claimed, bound: float, unit: str) -> ClaimRecord:
    return ClaimRecord(id="c", paper="p", claim="a claim", metric="m", claimed=claimed, bound=bound, tolerance="t", applies_to=[],
                       unit=unit, profile="cpu-1thread", fingerprint={}, setup={}, measured=bound, ci=(bound, bound), verdict="holds")


@pytest.mark.parametrize("claimed, bound, unit, words", [
    (2.5, 2.5, "x", ">= 2.5x"),
    ([0.2, 0.77], 0.2, "fraction", ">= 0.2 (paper: 0.2 to 0.77)"),
    ("clearly more", 1.0, "points", ">= 1 points (paper: clearly more)"),
    (["a", None], 1.0, "x", ">= 1x (paper: a to None)"),  # a hand-written record: worded, never a crash
])
def test_a_bound_reads_the_same_in_the_cli_and_the_report(claimed, bound, unit, words):
    claim = record(claimed, bound, unit)
    assert claim.bound_words == words
    console = Console(record=True, width=300)
    console.print(claims_table([claim]))
    assert words in console.export_text()
    for page in (summary_section([claim]), claims_section([claim])):
        assert f'<td class="l">{words}</td>' in page.replace("&gt;", ">")


def test_compression_is_against_the_dense_run_of_the_setup():
    dense = {"metrics": {"params": 2_176_010, "nonzero_params": 2_176_010}}
    shrunk = {"params": 20_983, "nonzero_params": 20_983}  # physically narrower: its own ratio is 1
    assert compression_words(shrunk, dense) == "104x"
    assert compression_words({"params": 2_176_010, "nonzero_params": 870_404}, dense) == "2.5x"
    assert compression_words(dense["metrics"], dense) == "1.0x"
    assert compression_words(shrunk, None) == "\u2014"  # a setup without a dense run


def test_hardware_values_are_written_as_a_reader_writes_them():
    assert fmt((1, 64)) == "1, 64" and fmt(("CPUExecutionProvider",)) == "CPUExecutionProvider"
    assert fmt(None) == "\u2014" and fmt(True) == "yes" and fmt(2_176_010) == "2,176,010" and fmt(0.123456) == "0.1235"
    profile = {"name": "cpu-2thread", "batch_sizes": [1, 64], "ort_providers": ["CPUExecutionProvider"], "peak_flops": None}
    page = fingerprint_section(profile, {"gpu": None, "ort_providers": ("AzureExecutionProvider", "CPUExecutionProvider")})
    assert ">1, 64</td>" in page and ">AzureExecutionProvider, CPUExecutionProvider</td>" in page and ">\u2014</td>" in page
    assert not any(python in page for python in ("None", "(", "[", "'"))


def test_the_seed_shown_is_named():
    assert seeds_words([{"train": {"seed": 0}}]) == "seed 0"
    assert seeds_words([{"train": {"seed": 1}}, {"train": {"seed": 0}}]) == "seeds 0, 1"
    assert seeds_words([{}]) == "seed unknown"


def test_an_accuracy_axis_does_not_magnify_a_tiny_gap():
    fig, ax = plt.subplots()
    plots.readable_ylim(ax, [95.0, 95.2], plots.MIN_ACCURACY_SPAN)
    low, high = ax.get_ylim()
    assert high - low >= plots.MIN_ACCURACY_SPAN and low < 95.0 and high > 95.2
    plots.readable_ylim(ax, [40.0, 99.0], plots.MIN_ACCURACY_SPAN)  # a wide range keeps its own span
    assert ax.get_ylim()[1] - ax.get_ylim()[0] == pytest.approx(59 * 1.16)
    plt.close(fig)


def test_numbers_of_points_of_one_size_do_not_overprint():
    """Eight nets of the dense size a few tenths of a point apart (the mlp Pareto plot): their numbers stand apart."""
    fig, ax = plt.subplots(figsize=plots.HALF_PAGE)
    xy = [(2_176_010, 98.0 + 0.1 * i) for i in range(8)] + [(20_000, 91.0)]
    ax.scatter(*zip(*xy))
    ax.set_xscale("log")
    plots.readable_ylim(ax, [y for _, y in xy], plots.MIN_ACCURACY_SPAN)
    drops = plots.label_drops(ax, xy, gap=8.0)
    heights = sorted(ax.transData.transform(p)[1] * 72 / fig.dpi - drop for p, drop in zip(xy[:8], drops))
    assert min(b - a for a, b in zip(heights, heights[1:])) >= 8.0 - 1e-9
    assert drops[-1] == 0  # a point alone keeps its number beside it
    plt.close(fig)


def test_the_seed_a_report_names_is_checked_like_every_figure_it_shows():
    run = {"model": "mlp", "data": {"name": "digits"}, "method": {"name": "dense", "params": {}},
           "metrics": {"accuracy": 0.9, "params": 10, "nonzero_params": 10, "flops": 20}}
    assert ShownRun.model_validate({**run, "train": {"seed": 1, "epochs": 3}}).train.seed == 1
    for train in ([], {"seed": "0"}, {"seed": -1}):
        with pytest.raises(ValueError):
            ShownRun.model_validate({**run, "train": train})
