"""The self-contained HTML report and the terminal tables.

The report is one HTML file with inline CSS and no external resources, so it opens offline.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any, Iterable, Sequence

from rich.table import Table

from . import plots
from .fsutil import atomic_write_text
from .measure import format_seconds

CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: .2em; margin-top: 2em; }
table { border-collapse: collapse; margin: .5em 0 1em; } caption { text-align: left; color: #555; }
th, td { border: 1px solid #ddd; padding: .25em .6em; text-align: right; }
th { background: #f4f4f4; } td.l, th.l { text-align: left; }
.warn { color: #a60; font-size: .9em; } .muted { color: #777; } figure { margin: 1em 0; } svg { max-width: 100%; height: auto; }
td.holds { color: #176b2c; font-weight: bold; } td.fails, td.error { color: #b00020; font-weight: bold; }
td.inconclusive { color: #a60; font-weight: bold; } td.not-run { color: #777; }
"""


def esc(value: Any) -> str:
    return html.escape(str(value))


def fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def html_table(headers: Sequence[str], rows: Iterable[Sequence[Any]], caption: str = "", left: int = 1) -> str:
    """A plain HTML table; the first `left` columns are left-aligned (names)."""
    cls = lambda i: ' class="l"' if i < left else ""  # noqa: E731
    head = "".join(f"<th{cls(i)}>{esc(h)}</th>" for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(f"<td{cls(i)}>{esc(fmt(v))}</td>" for i, v in enumerate(row)) + "</tr>" for row in rows)
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def section(title: str, body: str) -> str:
    return f"<section><h2>{esc(title)}</h2>{body}</section>"


def page(title: str, sections: Iterable[str]) -> str:
    head = f'<meta charset="utf-8"><title>{esc(title)}</title><style>{CSS}</style>'
    return f'<!doctype html><html lang="en"><head>{head}</head><body><h1>{esc(title)}</h1>{"".join(sections)}</body></html>\n'


def runs_section(manifests: dict[str, dict]) -> str:
    rows = []
    for name, m in manifests.items():
        metrics = m["metrics"]
        rows.append([
            name, m["method"]["name"], m["model"], m["data"]["name"], f"{100 * metrics['accuracy']:.2f}",
            metrics["params"], metrics["nonzero_params"], f"{metrics['params'] / max(metrics['nonzero_params'], 1):.1f}x",
            metrics["flops"], f"{m.get('onnx', {}).get('parity_max_abs_diff', float('nan')):.1e}",
        ])
    headers = ["run", "method", "model", "data", "test acc %", "params", "non-zeros", "compression", "FLOPs/sample", "ONNX max |diff|"]
    return section("Runs", html_table(headers, rows, left=4))


def setups(manifests: dict[str, dict]) -> dict[str, dict[str, dict]]:
    """Manifests grouped by model and data set: only runs of one setup are comparable."""
    groups: dict[str, dict[str, dict]] = {}
    for name, m in manifests.items():
        groups.setdefault(f"{m['model']} on {m['data']['name']}", {})[name] = m
    return groups


def pareto_section(manifests: dict[str, dict]) -> str:
    figures = []
    for setup, group in setups(manifests).items():
        points = [(m["method"]["name"], name, m["metrics"]["nonzero_params"], 100 * m["metrics"]["accuracy"]) for name, m in group.items()]
        figures.append(f"<figure>{plots.scatter_by_group(points, 'non-zero parameters (log)', 'test accuracy %', setup, logx=True)}</figure>")
    return section("Accuracy vs parameters (Pareto view per method)", "".join(figures))


def compaction_sweep_section(manifests: dict[str, dict]) -> str:
    """Dropout compaction: hidden units kept vs accuracy, one point per prior strength."""
    sweep = {name: m for name, m in manifests.items() if "hidden_kept_fraction" in m["metrics"]}
    if not sweep:
        return ""
    points = [
        (
            f"{m['model']} on {m['data']['name']}",
            name,
            100 * m["metrics"]["hidden_kept_fraction"],
            100 * m["metrics"]["accuracy"],
        )
        for name, m in sweep.items()
    ]
    svg = plots.scatter_by_group(points, "hidden units kept %", "test accuracy %", "dropout compaction: one run per prior strength")
    return section("Dropout compaction: width vs accuracy", f"<figure>{svg}</figure>")


def width_section(manifests: dict[str, dict]) -> str:
    """Structural dropout: accuracy at every width, all from one training."""
    figures = []
    for name, m in manifests.items():
        curve = m.get("curves", {}).get("width")
        if curve:
            series = {split: [(p["width"], 100 * p[f"{split}_accuracy"]) for p in curve] for split in ("val", "test")}
            figures.append(f"<figure>{plots.lines(series, 'hidden units per layer', 'accuracy %', f'{name}: accuracy vs width (one training)')}</figure>")
    return section("Structural dropout: accuracy vs width", "".join(figures)) if figures else ""


def pruning_section(manifests: dict[str, dict], claims: list[dict]) -> str:
    """Targeted dropout under post-hoc pruning, beside dropout and magnitude (from the gomez claim).

    Each targeted run contributes the curve of its own mode (the weight variant to weight
    pruning, the unit variant to unit pruning); dropout and magnitude are the claim's curves.
    """
    rivals = next((c["details"]["curves"] for c in claims if c["id"] == "gomez2019-pruning" and "curves" in c.get("details", {})), {})
    figures = []
    for mode in ("weight", "unit"):
        targeted = {
            name: m["curves"]["pruning"][mode]
            for name, m in manifests.items()
            if m["method"]["name"] == "targeted" and m["method"]["params"].get("mode") == mode
        }
        others = {label: curves[mode] for label, curves in rivals.items() if label != "targeted"}
        series = {label: [(p["fraction"], 100 * p["accuracy"]) for p in points] for label, points in {**targeted, **others}.items()}
        if targeted:
            figures.append(f"<figure>{plots.lines(series, f'fraction of {mode}s pruned post hoc', 'test accuracy %', f'{mode} pruning')}</figure>")
    return section("Targeted dropout: accuracy vs pruned fraction", "".join(figures)) if figures else ""


def claims_section(claims: list[dict], show_profile: bool = False) -> str:
    """The verdicts: one row per claim (and profile), the verdict coloured, the explanation under the claim."""

    def number(value: float | None) -> str:
        return "-" if value is None else f"{value:.3g}"  # None: not measured

    rows = []
    for c in claims:
        interval = "-" if c["ci"][0] is None else f"[{number(c['ci'][0])}, {number(c['ci'][1])}]"
        control = c.get("control") or {}
        beaten = {True: "beaten", False: "not beaten", None: "no clear winner"}.get(control.get("beaten"), "-") if control else "-"
        cells = [
            f'<td class="l">{esc(c["id"] + (" on " + c["profile"] if show_profile else ""))}</td>',
            f'<td class="l {esc(c["verdict"])}">{esc(c["verdict"])}</td>',
            f"<td>{esc(number(c['measured']))} {esc(c['unit'])}</td>", f"<td>{esc(interval)}</td>", f"<td>{esc(c['claimed'])}</td>",
            f"<td>{esc(c.get('seeds') or '-')}</td>", f'<td class="l">{esc(control.get("name", "-"))}: {esc(beaten)}</td>',
            f'<td class="l">{esc(c["claim"])}<br><span class="muted">{esc(c["explanation"])}</span></td>',
        ]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    headers = "".join(
        f'<th class="l">{h}</th>' if h in ("claim", "verdict", "control", "paper says / we saw") else f"<th>{h}</th>"
        for h in ("claim", "verdict", "measured", "95% CI", "claimed", "seeds", "control", "paper says / we saw")
    )
    table = f"<table><thead><tr>{headers}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    return section("Claims", table if claims else '<p class="muted">no claims checked</p>')


def curves_section(manifests: dict[str, dict]) -> str:
    """Every run's manifest curves (accuracy vs width, vs pruned fraction, ...), one table each.

    A curve is a list of records (one row each), or a dict of such lists (one table per key).
    """
    tables = []
    for name, m in manifests.items():
        for curve_name, curve in m.get("curves", {}).items():
            parts = curve.items() if isinstance(curve, dict) else [("", curve)]
            for part, records in parts:
                if records:
                    headers = sorted(records[0], key=lambda key: "accuracy" in key)  # the x axis first
                    caption = f"{name}: {curve_name}{f' ({part})' if part else ''}"
                    tables.append(html_table(headers, [[r[h] for h in headers] for r in records], caption, left=0))
    return section("Curves", "".join(tables)) if tables else ""


def calibration_section(speedups: list[dict], claims: list[dict], where: str = "") -> str:
    """A/A: the dense checkpoint timed against itself must come out 1.0 inside its interval."""
    rows = [
        [s["candidate"], s["runtime"], s["batch"], f"{s['speedup']:.3f}", f"[{s['ci'][0]:.3f}, {s['ci'][1]:.3f}]", len(s.get("rounds", [])),
         "yes" if s["ci"][0] <= 1 <= s["ci"][1] else "NO"]
        for s in speedups if s["baseline"] == s["candidate"]
    ]
    calibration = next((c["calibration"] for c in claims if c.get("calibration")), None)
    if calibration:
        rows.append([f"claims: {calibration['what']}", "onnxruntime", "", f"{calibration['ratio']:.3f}",
                     f"[{calibration['ci'][0]:.3f}, {calibration['ci'][1]:.3f}]", len(calibration["rounds"]), "yes" if calibration["covers_one"] else "NO"])
    caption = "A/A: a checkpoint against itself, timed as the speedups are (fresh runners per round, alternating order): 1.0 must lie in its interval."
    headers = ["checkpoint", "runtime", "batch", "ratio", "95% CI", "rounds", "covers 1"]
    return section(f"Timing calibration (A/A){where}", html_table(headers, rows, caption, left=2)) if rows else ""


def knodt_control_section(claims: list[dict]) -> str:
    """Structural dropout's accuracy at every width beside unit-magnitude pruning of the dense and dropout nets."""
    claim = next((c for c in claims if c["id"] == "knodt2022-width" and "curves" in c.get("details", {})), None)
    if not claim:
        return ""
    widths, curves = claim["details"]["widths"], dict(claim["details"]["curves"])
    reference = curves.pop("reference_test_accuracy")
    series = {name: list(zip(widths, accuracy)) for name, accuracy in curves.items()}
    svg = plots.lines(series, "hidden units per layer", "test accuracy % (mean over seeds)", "structural dropout vs magnitude unit pruning", hline=reference)
    return section("Structural dropout against its control", f"<figure>{svg}</figure><p class=\"muted\">{esc(claim['control']['text'])}</p>")


def speedups_section(speedups: list[dict], where: str = "") -> str:
    # A/A records have their own section; a runtime that could not run here has no figure
    speedups = [s for s in speedups if s["baseline"] != s["candidate"] and "skipped" not in s]
    figures = ""
    batch = max((s["batch"] for s in speedups), default=0)
    for runtime in dict.fromkeys(s["runtime"] for s in speedups):
        chosen = [s for s in speedups if s["batch"] == batch and s["runtime"] == runtime]
        svg = plots.paired_bars(
            [s["candidate"] for s in chosen],
            [s["speedup"] for s in chosen],
            [s["flop_ratio"] for s in chosen],
            [tuple(s["ci"]) for s in chosen],
            f"{runtime}, batch {batch}: measured vs theoretical speedup",
        )
        figures += f"<figure>{svg}</figure>"
    rows = [
        [
            s["candidate"],
            s["runtime"],
            s["batch"],
            f"{s['speedup']:.2f}x",
            f"[{s['ci'][0]:.2f}, {s['ci'][1]:.2f}]",
            f"{s['flop_ratio']:.2f}x",
            f"{s['realisation']:.2f}",
        ]
        for s in speedups
    ]
    headers = ["checkpoint", "runtime", "batch", "measured speedup", "95% CI", "FLOP ratio", "realisation"]
    caption = "Interleaved speedup over the dense baseline of the same architecture; realisation = measured / FLOP ratio."
    return section(f"Speedups{where}", figures + html_table(headers, rows, caption, left=2) if rows else '<p class="muted">no compacted runs</p>')


def bench_section(bench: list[dict], where: str = "") -> str:
    """Latency per checkpoint x runtime x batch; torch-compile's compile time apart, skipped runtimes with their reason."""
    rows = [
        [b["checkpoint"], b["runtime"], b["batch"], *["-"] * 4, f"skipped: {b['skipped']}"] if "skipped" in b else [
            b["checkpoint"],
            b["runtime"],
            b["batch"],
            format_seconds(b["median_s"]),
            format_seconds(b["iqr_s"]),
            f"{b['samples_per_s']:.0f}",
            f"{b['compile_s']:.1f} s" if "compile_s" in b else "-",
            "; ".join(b["warnings"]),
        ]
        for b in bench
    ]
    headers = ["checkpoint", "runtime", "batch", "median", "IQR", "samples/s", "compile", "warnings"]
    return section(f"Inference latency{where}", html_table(headers, rows, left=2))


def fingerprint_section(profile: dict, fingerprint: dict, where: str = "") -> str:
    rows = [[k, v] for k, v in {**{f"profile.{k}": v for k, v in profile.items()}, **fingerprint}.items()]
    return section(f"Hardware{where}", html_table(["key", "value"], rows, left=2))


SPEED_CAPTION = "measured speedup (realisation = measured / FLOP ratio) per profile"


def profiles_section(names: list[str], claims: list[dict], speedups: list[dict]) -> str:
    """Several profiles side by side: each claim's verdict, each speedup and its realisation, per profile."""
    verdicts: dict[str, dict[str, dict]] = {}
    for c in claims:
        verdicts.setdefault(c["id"], {})[c["profile"]] = c
    claim_rows = [[claim, *(f"{by[n]['verdict']} ({by[n]['measured']:.3g} {by[n]['unit']})" if n in by and by[n]["measured"] is not None
                            else by.get(n, {}).get("verdict", "-") for n in names)] for claim, by in verdicts.items()]
    timed: dict[tuple, dict[str, dict]] = {}
    for s in speedups:
        if s["baseline"] != s["candidate"] and "skipped" not in s:
            timed.setdefault((s["candidate"], s["runtime"], s["batch"]), {})[s["profile"]] = s
    speed_rows = [[*key, f"{next(iter(by.values()))['flop_ratio']:.2f}x",
                   *(f"{by[n]['speedup']:.2f}x ({by[n]['realisation']:.2f})" if n in by else "-" for n in names)] for key, by in timed.items()]
    figures = ""
    batch = max((key[2] for key in timed), default=0)
    for runtime in dict.fromkeys(key[1] for key in timed):
        chosen = {key[0]: by for key, by in timed.items() if key[1] == runtime and key[2] == batch and len(by) == len(names)}
        series = {n: ([by[n]["speedup"] for by in chosen.values()], [tuple(by[n]["ci"]) for by in chosen.values()]) for n in names}
        flops = [next(iter(by.values()))["flop_ratio"] for by in chosen.values()]
        if chosen:
            figures += f"<figure>{plots.grouped_bars(list(chosen), series, flops, f'{runtime}, batch {batch}: speedup over dense per profile')}</figure>"
    tables = [
        html_table(["claim", *names], claim_rows, "verdict (measured) per profile") if claim_rows else "",
        figures,
        html_table(["checkpoint", "runtime", "batch", "FLOP ratio", *names], speed_rows, SPEED_CAPTION, left=2) if speed_rows else "",
    ]
    return section("Profiles side by side", "".join(tables))


def comparison_section(name_a: str, a: dict[str, Any], name_b: str, b: dict[str, Any]) -> str:
    """The figures two outputs share, side by side: claim verdicts, speedups, latencies (B / A)."""

    def keyed(records: list[dict], *keys: str) -> dict[tuple, dict]:
        return {tuple(r[k] for k in keys): r for r in records if "skipped" not in r}

    claims_a, claims_b = keyed(a["claims"], "id"), keyed(b["claims"], "id")
    claim_rows = [[key[0], claims_a[key]["verdict"], claims_a[key]["measured"], claims_b[key]["verdict"], claims_b[key]["measured"]]
                  for key in claims_a if key in claims_b]
    speed_a, speed_b = keyed(a["speedups"], "candidate", "runtime", "batch"), keyed(b["speedups"], "candidate", "runtime", "batch")
    speed_rows = [[*key, f"{speed_a[key]['speedup']:.2f}x", f"{speed_b[key]['speedup']:.2f}x", f"{speed_b[key]['speedup'] / speed_a[key]['speedup']:.2f}"]
                  for key in speed_a if key in speed_b]
    bench_a, bench_b = keyed(a["bench"], "checkpoint", "runtime", "batch"), keyed(b["bench"], "checkpoint", "runtime", "batch")
    bench_rows = [[*key, format_seconds(bench_a[key]["median_s"]), format_seconds(bench_b[key]["median_s"]),
                   f"{bench_b[key]['median_s'] / bench_a[key]['median_s']:.2f}"] for key in bench_a if key in bench_b]
    caption = f"A = {name_a} (profile {', '.join(profile_names(a))}), B = {name_b} (profile {', '.join(profile_names(b))})"
    tables = [
        html_table(["claim", "verdict A", "measured A", "verdict B", "measured B"], claim_rows, caption) if claim_rows else "",
        html_table(["checkpoint", "runtime", "batch", "speedup A", "speedup B", "B / A"], speed_rows, caption, left=2) if speed_rows else "",
        html_table(["checkpoint", "runtime", "batch", "median A", "median B", "B / A"], bench_rows, caption, left=2) if bench_rows else "",
    ]
    return section("Side by side", "".join(tables) or f'<p class="muted">{esc(caption)}: no figures in common</p>')


def context_profiles(context: dict[str, Any]) -> list[dict[str, Any]]:
    """The profiles of a report context: `profiles`, or the one `profile` of an older caller."""
    return context.get("profiles") or [context["profile"]]


def profile_names(context: dict[str, Any]) -> list[str]:
    return [p["name"] for p in context_profiles(context)]


def write_report(path: Path, context: dict[str, Any]) -> None:
    """Write the reproduce report from its context (manifests, bench, speedups, `profiles` or one `profile`, ...;
    `seconds` None for a re-rendered output, `comparison` the side-by-side section of `dropbench report --compare`)."""
    profiles = context_profiles(context)
    names = [p["name"] for p in profiles]
    several = len(names) > 1

    def each_profile(render) -> list[str]:
        """One section per profile, its own records only (all of them when there is one profile)."""
        if not several:
            return [render(lambda records: records, "", profiles[0])]
        return [render(lambda records, n=p["name"]: [r for r in records if r.get("profile") == n], f" on {p['name']}", p) for p in profiles]

    def hardware(of, where, profile) -> str:
        fingerprint = next((c["fingerprint"] for c in of(context["claims"]) if c.get("fingerprint")), context["fingerprint"])
        return fingerprint_section(profile, fingerprint, where)

    timing = f"Finished in {context['seconds']:.0f} s" if context["seconds"] is not None else "Re-rendered from recorded figures, measured"
    sections = [
        f'<p class="muted">{timing} on profile{"s" if several else ""} {esc(", ".join(names))}.</p>',
        context.get("comparison", ""),
        profiles_section(names, context["claims"], context["speedups"]) if several else "",
        claims_section(context["claims"], show_profile=several),
        runs_section(context["manifests"]),
        pareto_section(context["manifests"]),
        *each_profile(lambda of, where, _: calibration_section(of(context["speedups"]), of(context["claims"]), where)),
        *each_profile(lambda of, where, _: speedups_section(of(context["speedups"]), where)),
        compaction_sweep_section(context["manifests"]),
        width_section(context["manifests"]),
        knodt_control_section(context["claims"]),
        pruning_section(context["manifests"], context["claims"]),
        curves_section(context["manifests"]),
        *each_profile(lambda of, where, _: bench_section(of(context["bench"]), where)),
        *each_profile(hardware),
    ]
    atomic_write_text(path, page(context["title"], sections))


def rich_table(title: str, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> Table:
    table = Table(title=title)
    for i, h in enumerate(headers):
        table.add_column(h, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*(fmt(v) for v in row))
    return table
