"""`dropbench report DIR [--compare DIR2]`: re-render from recorded figures, re-running nothing."""

from __future__ import annotations

import json
import re
import shutil

import pytest

import dropbench.reproduce as reproduce_module
from conftest import TINY_RUNS, assert_one_line_error
from dropbench.profiles import load_profile
from dropbench.plans.files import validated


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    """Two real reproduce outputs of a two-run plan, one per profile."""
    # magnitude-unit before dense: not the order of the names, which a re-render must not fall back to
    plan = validated({"name": "tiny", "runs": TINY_RUNS[::-1]}, "test plan")
    folder = tmp_path_factory.mktemp("outputs")
    for profile in ("cpu-1thread", "cpu-2thread"):
        reproduce_module.reproduce(folder / profile, plan, load_profile(profile))
    return folder / "cpu-1thread", folder / "cpu-2thread"


def test_report_re_renders_from_the_recorded_figures(outputs, cli, monkeypatch):
    one, _ = outputs
    speedups = json.loads((one / "speedups.json").read_text())
    compared = next(s for s in speedups if s["baseline"] != s["candidate"])  # the first records are the A/A calibration
    compared["speedup"] = 123.456  # a figure only the recorded file holds: the page must show it
    (one / "speedups.json").write_text(json.dumps(speedups))
    monkeypatch.setattr(reproduce_module, "reproduce", None)  # nothing may re-run
    (one / "report.html").unlink()
    result = cli("report", one)
    assert result.code == 0, result.err
    page = (one / "report.html").read_text()
    assert "123.46x" in page and "magnitude-unit" in page and "Re-rendered from recorded figures, measured on profile cpu-1thread" in page
    assert "Side by side" not in page


def figures(page: str) -> str:
    """A page without what may differ between two renders of the same figures: its title and the
    line that says when it was made. The plots stay: the same figures draw the same SVG."""
    page = re.sub(r"<title>.*?</title>|<h1>.*?</h1>", "", page)
    return re.sub(r'<p class="muted">(Finished in|Re-rendered from).*?</p>', "", page, count=1)


def test_a_re_rendered_page_shows_the_figures_of_the_original(outputs, cli, tmp_path):
    """The first seed (the one timed and shown) with every seed's accuracy beside it, in the plan's
    order: not runs/dense.seed1, not sorted by name; the plots drawn alike."""
    _, two = outputs
    copy = tmp_path / "copy"
    shutil.copytree(two, copy)
    assert (copy / "runs" / "dense.seed1").is_dir()
    assert cli("report", copy).code == 0
    original, again = ((d / "report.html").read_text() for d in (two, copy))
    assert figures(again) == figures(original)
    assert again.count("<svg") == original.count("<svg") > 0
    assert again.index(">magnitude-unit<") < again.index(">dense<")
    accuracy = [100 * json.loads((copy / "runs" / run / "manifest.json").read_text())["metrics"]["accuracy"] for run in ("dense", "dense.seed1")]
    mean = f"{sum(accuracy) / 2:.2f} ({min(accuracy):.2f}\u2013{max(accuracy):.2f}), 2"
    assert f"<td>{mean}</td>" in again and ">seed 0<" in again  # the dense run's two seeds, and which one is shown


def test_a_re_render_without_the_other_seeds_shows_different_figures(outputs, cli, tmp_path):
    """The comparison above can fail: the same output without runs/dense.seed1 renders another page."""
    _, two = outputs
    copy = tmp_path / "copy"
    shutil.copytree(two, copy)
    shutil.rmtree(copy / "runs" / "dense.seed1")
    assert cli("report", copy).code == 0
    assert figures((copy / "report.html").read_text()) != figures((two / "report.html").read_text())


def test_compare_puts_two_outputs_side_by_side(outputs, cli):
    one, two = outputs
    assert cli("report", two, "--compare", one).code == 0
    page = (two / "report.html").read_text()
    assert "Side by side" in page and "profile cpu-2thread), B = " in page and "profile cpu-1thread)" in page
    medians = [{(b["checkpoint"], b["runtime"], b["batch"]): b["median_s"] for b in json.loads((d / "bench.json").read_text())} for d in (two, one)]
    for (checkpoint, runtime, batch), median_a in medians[0].items():  # every latency row: A, B and B / A
        assert f'{checkpoint}</td><td class="l">{runtime}</td><td>{batch}</td><td>' in page
        assert f"<td>{medians[1][checkpoint, runtime, batch] / median_a:.2f}</td></tr>" in page


def test_compare_says_when_two_outputs_ran_different_plans(outputs, cli, tmp_path):
    one, two = outputs
    assert cli("report", two, "--compare", one).code == 0
    assert "ran different plans" not in (two / "report.html").read_text()  # the same plan on two profiles
    other = tmp_path / "other"
    shutil.copytree(one, other)
    record = json.loads((other / "reproduce.json").read_text())
    record["plan_sha256"] = "0" * 64
    (other / "reproduce.json").write_text(json.dumps(record))
    assert cli("report", two, "--compare", other).code == 0
    page = (two / "report.html").read_text()
    assert "ran different plans" in page and "plan tiny (000000000000)" in page
    assert f"SHA-256 <code>{json.loads((two / 'reproduce.json').read_text())['plan_sha256']}</code>" in page  # the header


def test_report_of_what_is_no_output_is_one_line_error(outputs, cli, tmp_path):
    one, _ = outputs
    assert_one_line_error(cli("report", tmp_path), "holds none of claims.json")
    assert_one_line_error(cli("report", tmp_path / "missing"), "is not a directory")
    (tmp_path / "claims.json").write_text("{broken")
    assert_one_line_error(cli("report", tmp_path), "cannot be read as JSON")
    assert_one_line_error(cli("report", one, "--compare", tmp_path), "cannot be read as JSON")
    assert not (tmp_path / "report.html").exists()


def test_an_outputs_checkpoints_are_found_by_the_names_their_records_give_them(tiny_run, tmp_path):
    from dropbench.outputs import checkpoint_paths

    for name in ("dense", "dense.seed1"):  # the first seed is timed; the others are not
        shutil.copytree(tiny_run, tmp_path / "runs" / name)
    assert checkpoint_paths(tmp_path) == {"tiny": tmp_path / "runs" / "dense"}
