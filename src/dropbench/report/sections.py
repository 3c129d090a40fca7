"""The report's sections that every output has (runs, claims, timing, hardware); each paper's own
section lives in its claims module and is rendered from the registry (report.document)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from ..claims.base import Condition
from ..claims.record import ClaimRecord
from ..timing.measurement import format_seconds
from . import plots
from .html import EMPTY, anchor, details, esc, figure, html_table, keyed_figure, section, seeds_words


def accuracy_over_seeds(seeds: list[dict]) -> tuple[float, float, float]:
    """Test accuracy % of a run's seeds (their manifests): mean, lowest, highest."""
    accuracies = [100 * m["metrics"]["accuracy"] for m in seeds]
    return sum(accuracies) / len(accuracies), min(accuracies), max(accuracies)


def compression_words(metrics: dict, dense: dict | None) -> str:
    """Parameters of the setup's dense net / non-zero parameters of this one: a physically shrunk
    net (20,983 of 2,176,010) is ~104x, not its own params / non-zeros (1.0x). None: no dense run."""
    if dense is None:
        return EMPTY
    ratio = dense["metrics"]["params"] / max(metrics["nonzero_params"], 1)
    return f"{ratio:.1f}x" if ratio < 10 else f"{ratio:.0f}x"


def dense_of(group: dict[str, dict]) -> dict | None:
    """The dense run of a setup (its baseline), if it has one."""
    return next((m for m in group.values() if m["method"]["name"] == "dense"), None)


def runs_section(manifests: dict[str, dict], seed_manifests: dict[str, list[dict]]) -> str:
    """Every run as shown (its first seed), its test accuracy over all its seeds beside it; one table per setup."""
    headers = ["run", "method", "shown", "test acc %", "mean (range), seeds", "params", "non-zeros", "compression vs dense", "FLOPs/sample",
               "ONNX |diff|"]
    tables = []
    for setup, group in setups(manifests).items():
        dense = dense_of(group)
        rows = []
        for name, m in group.items():
            metrics = m["metrics"]
            seeds = seed_manifests.get(name, [m])
            mean, low, high = accuracy_over_seeds(seeds)
            rows.append([
                name, m["method"]["name"], seeds_words([m]), f"{100 * metrics['accuracy']:.2f}",
                f"{mean:.2f} ({low:.2f}\u2013{high:.2f}), {len(seeds)}" if len(seeds) > 1 else EMPTY,
                metrics["params"], metrics["nonzero_params"], compression_words(metrics, dense),
                metrics["flops"], f"{m.get('onnx', {}).get('parity_max_abs_diff', float('nan')):.1e}",
            ])
        tables.append(html_table(headers, rows, setup, left=3))
    caption = ('<p class="muted">Each run as timed and shown: its first seed; "mean (range), seeds": its test accuracy over all its '
               "seeds, as the claims use it. Compression: parameters of the setup's dense run / non-zero parameters of this one; "
               "ONNX |diff|: the largest difference between the exported net's outputs and torch's.</p>")
    return section("Runs", details(f"{len(manifests)} runs, one table per model and data set", caption + "".join(tables)))


def setups(manifests: dict[str, dict]) -> dict[str, dict[str, dict]]:
    """Manifests grouped by model and data set: only runs of one setup are comparable."""
    groups: dict[str, dict[str, dict]] = {}
    for name, m in manifests.items():
        groups.setdefault(f"{m['model']} on {m['data']['name']}", {})[name] = m
    return groups


def pareto_section(manifests: dict[str, dict], seed_manifests: dict[str, list[dict]]) -> str:
    """Accuracy (mean over seeds, the range as a bar) against non-zero parameters (first seed), per setup."""
    figures = []
    for setup, group in setups(manifests).items():
        points, keys = [], []
        for name, m in group.items():
            seeds = seed_manifests.get(name, [m])
            mean, low, high = accuracy_over_seeds(seeds)
            points.append((m["method"]["name"], m["metrics"]["nonzero_params"], mean, (low, high)))
            keys.append(f"{name}: {mean:.2f} % ({seeds_words(seeds)}), {m['metrics']['nonzero_params']:,} non-zeros")
        svg = plots.scatter_by_group(points, "non-zero parameters (log)", "test accuracy %, mean over seeds", setup, logx=True,
                                     min_yspan=plots.MIN_ACCURACY_SPAN)
        figures.append(keyed_figure(svg, keys))
    caption = (f'<p class="muted">Test accuracy: mean over each run\'s seeds, the bar its range; parameters of the first seed. '
               f"Accuracy axes span at least {plots.MIN_ACCURACY_SPAN:g} points, so a small gap looks small.</p>")
    return section("Accuracy vs parameters", caption + "".join(figures))


def claim_label(record: ClaimRecord, show_profile: bool) -> str:
    return record.id + (" on " + record.profile if show_profile else "")


def summary_section(claims: list[ClaimRecord], show_profile: bool = False) -> str:
    """First on the page: how many claims hold, and each verdict with its figures, linked to its detail."""
    tally = ", ".join(f'<span class="{esc(verdict)}">{n} {esc(verdict)}</span>' for verdict, n in Counter(c.verdict for c in claims).items())
    rows = "".join(
        f'<tr><td class="l"><a href="#{anchor("claim " + claim_label(c, show_profile))}">{esc(claim_label(c, show_profile))}</a></td>'
        f'<td class="l {esc(c.verdict)}">{esc(c.verdict_words)}</td><td>{esc(measured_words(c))}</td><td>{esc(c.interval_words)}</td>'
        f'<td class="l">{esc(c.bound_words)}</td><td>{esc(c.seeds or EMPTY)}</td><td class="l">{esc(short(c.reason or c.verdict, 90))}</td></tr>'
        for c in claims
    )
    headers = ("claim", "verdict", "measured", "CI (its level marked: 5 % split over a verdict's intervals)", "bound", "seeds", "why")
    table = f"<table><thead>{head_row(headers, ('claim', 'verdict', 'bound', 'why'))}</thead><tbody>{rows}</tbody></table>"
    return section("Summary", f"<p>{len(claims)} claims checked: {tally}.</p>{table}" if claims else '<p class="muted">no claims checked</p>')


def head_row(headers: tuple[str, ...], left: tuple[str, ...]) -> str:
    return "<tr>" + "".join(f'<th class="l">{h}</th>' if h in left else f"<th>{h}</th>" for h in headers) + "</tr>"


def measured_words(record: ClaimRecord) -> str:
    return EMPTY if record.measured is None else f"{record.measured:.3g} {record.unit}"


def claims_section(claims: list[ClaimRecord], show_profile: bool = False) -> str:
    """Each claim in full: the verdict coloured, its control, the explanation under the claim."""
    rows = []
    for c in claims:
        control = c.control
        beaten = {True: "beaten", False: "not beaten", None: "no clear winner"}[control.beaten] if control else EMPTY
        cells = [
            f'<td class="l">{esc(claim_label(c, show_profile))}</td>',
            f'<td class="l {esc(c.verdict)}">{esc(c.verdict_words)}</td>',
            f"<td>{esc(measured_words(c))}</td>", f"<td>{esc(c.interval_words)}</td>", f'<td class="l">{esc(c.bound_words)}</td>',
            f"<td>{esc(c.seeds or EMPTY)}</td>", f'<td class="l">{esc(control.name if control else EMPTY)}: {esc(beaten)}</td>',
            f'<td class="l">{esc(c.claim)}{reason_and_conditions(c)}<br><span class="muted">{esc(c.explanation)}</span></td>',
        ]
        rows.append(f'<tr id="{anchor("claim " + claim_label(c, show_profile))}">' + "".join(cells) + "</tr>")
    headers = ("claim", "verdict", "measured", "CI (its level marked)", "bound", "seeds", "control", "paper says / we saw")
    left = ("claim", "verdict", "bound", "control", "paper says / we saw")
    table = f"<table><thead>{head_row(headers, left)}</thead><tbody>{''.join(rows)}</tbody></table>"
    if not claims:
        return section("Claims", '<p class="muted">no claims checked</p>')
    return section("Claims", details("each claim in full: its control, conditions and explanation", table))


def evidence_section(claims: list[ClaimRecord], show_profile: bool = False) -> str:
    """A forest plot per checked claim: its measured interval against the claimed bound and each
    condition's interval against its margin, coloured met / violated / undecided, so the verdict's
    reason is seen at a glance."""
    figures = []
    for c in claims:
        if not c.checked:
            continue
        main = Condition(c.metric, c.measured, c.ci, c.bound, at_most=False)
        rows = [(short(f"measured {c.bound_words}: {c.metric}"), main.estimate, main.ci, main.margin, main.state)]
        rows += [(short(condition.text), condition.estimate, condition.ci, condition.margin, condition.state) for condition in c.conditions]
        figures.append(figure(plots.forest(rows, f"{claim_label(c, show_profile)}: {c.verdict}")))
    caption = ('<p class="muted">Each bar is an interval at the claim\'s level (95 %, or stricter where the verdict\'s 5 % is split '
               'over several), the dot its estimate, the dashed line the claimed bound or the '
               'condition\'s margin. Green: met (the whole interval on the allowed side); red: violated (wholly on the other side); '
               'orange: undecided (it straddles). A claim holds only when every bar is green.</p>')
    return section("Verdicts at a glance", caption + "".join(figures)) if figures else ""


def short(text: str, limit: int = 95) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def reason_and_conditions(record: ClaimRecord) -> str:
    """Why the verdict is what it is, then each condition with its state (met / violated / undecided)."""
    reason = f'<br><b>{esc(record.reason)}</b>' if record.reason else ""
    return reason + "".join(f'<br><span class="{c.state}">{c.state}</span>: {esc(c.text)}' for c in record.conditions)


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
    return section("Curves", details(f"{len(tables)} tables: every run's curves (first seed)", "".join(tables))) if tables else ""


def calibration_section(speedups: list[dict], claims: list[ClaimRecord], where: str = "") -> str:
    """A/A: the dense checkpoint timed against itself must come out 1.0 inside its interval."""
    rows = [
        [s["candidate"], s["runtime"], s["batch"], f"{s['speedup']:.3f}", f"[{s['ci'][0]:.3f}, {s['ci'][1]:.3f}]", len(s.get("rounds", [])),
         "yes" if s["ci"][0] <= 1 <= s["ci"][1] else "NO"]
        for s in speedups if s["baseline"] == s["candidate"]
    ]
    calibration = next((c.calibration for c in claims if c.calibration), None)
    if calibration:
        rows.append([f"claims: {calibration.what}", "onnxruntime", "", f"{calibration.ratio:.3f}",
                     f"[{calibration.ci[0]:.3f}, {calibration.ci[1]:.3f}]", len(calibration.rounds), "yes" if calibration.covers_one else "NO"])
    caption = "A/A: a checkpoint against itself, timed as the speedups are (fresh runners per round, alternating order): 1.0 must lie in its interval."
    headers = ["checkpoint", "runtime", "batch", "ratio", "95% CI", "rounds", "covers 1"]
    return section(f"Timing calibration (A/A){where}", html_table(headers, rows, caption, left=2)) if rows else ""


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
            f"{runtime}, batch {batch}: measured vs theoretical speedup (first seeds)",
        )
        figures += figure(svg, wide=True)
    rows = [
        [
            s["candidate"],
            s["runtime"],
            s["batch"],
            f"{s['speedup']:.2f}x",
            f"[{s['ci'][0]:.2f}, {s['ci'][1]:.2f}]",
            f"{s['flop_ratio']:.2f}x",
            f"{s['realisation']:.2f}",
            _roofline_words(s),
            s.get("cause") or "",
        ]
        for s in speedups
    ]
    headers = ["checkpoint", "runtime", "batch", "measured speedup", "95% CI", "FLOP ratio", "realisation", "vs roofline", "why below 0.8"]
    caption = ("Speedup of each run's first seed (the one timed) over the dense baseline of the same architecture; "
               "realisation = measured / FLOP ratio; at batch 64 the roofline's speedup (from the profile's peak FLOP/s and "
               "bandwidth, where it names them) and the cause of a realisation below 0.8 (timing/explain.py). " + timed_as(speedups))
    table = details(f"{len(rows)} speedups, every runtime and batch size", html_table(headers, rows, caption, left=2))
    return section(f"Speedups{where}", figures + table if rows else '<p class="muted">no compacted runs</p>')


def timed_as(records: list[dict]) -> str:
    """How the records say their runtimes were set up: threads, onnxruntime's spinning, processes
    ("" for records from before they said so)."""
    settings = dict.fromkeys((r["threads"], r.get("ort_spinning"), r.get("one_model_per_process")) for r in records if "threads" in r)
    words = [f"{threads} thread{'s' if threads != 1 else ''}, onnxruntime spinning {'on' if spinning else 'off'}, "
             + ("each model alone in a process of its own" if alone else "the models in one process")
             for threads, spinning, alone in settings]
    return f"Timed with {'; '.join(words)}." if words else ""


def _roofline_words(s: dict) -> str:
    if s.get("roofline_speedup"):
        return f"{s['roofline_speedup']:.2f}x ({s['roofline_realisation']:.2f})"
    return "unknown peaks" if "breakdown" in s else ""


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
    table = html_table(headers, rows, "Each run's first seed, the one timed. " + timed_as(bench), left=2)
    return section(f"Inference latency{where}", details(f"{len(rows)} latencies: checkpoint x runtime x batch", table))


def plan_line(plan: str | None, sha256: str | None) -> str:
    """Under the title: the plan the verdicts came from, by its SHA-256 (fixed before the results)."""
    if not sha256:
        return '<p class="muted">Plan: not recorded (written by a dropbench that did not record it).</p>'
    return f'<p class="muted">Plan {esc(plan or "?")}, SHA-256 <code>{esc(sha256)}</code></p>'


def provenance_header(provenance: dict) -> str:
    """Under the title: the commit (and whether the tree was dirty), dropbench's version, the
    command line and the library versions the figures were taken with (provenance.py)."""
    if not provenance:
        return '<p class="muted">Provenance: not recorded (written by a dropbench that did not record it).</p>'
    dirty = {True: " (uncommitted changes)", False: "", None: " (tree state unknown)"}.get(provenance.get("dirty"), "")
    libraries = ", ".join(f"{name} {version}" for name, version in sorted(dict(provenance.get("libraries") or {}).items()))
    return (
        f'<p class="muted">dropbench {esc(provenance.get("dropbench", "?"))} at commit {esc(provenance.get("commit", "unknown"))}{dirty}, '
        f'{esc(provenance.get("created", ""))}: <code>{esc(provenance.get("command", ""))}</code><br>{esc(libraries)}</p>'
    )


def fingerprint_section(profile: dict, fingerprint: dict, where: str = "") -> str:
    """The profile, then the machine's fingerprint by key (recorded files keep keys sorted: a re-render shows the same rows).
    Values as a reader writes them (html.fmt), not as Python prints them."""
    rows = [*([f"profile.{k}", v] for k, v in profile.items()), *([k, fingerprint[k]] for k in sorted(fingerprint))]
    summary = f"profile {profile.get('name', '?')} on {fingerprint.get('cpu', 'an unrecorded CPU')}"
    return section(f"Hardware{where}", details(summary, html_table(["key", "value"], rows, left=2)))


def verdict_cell(record: ClaimRecord | None) -> str:
    if record is None:
        return "-"
    return f"{record.verdict} ({record.measured:.3g} {record.unit})" if record.measured is not None else record.verdict


SPEED_CAPTION = "measured speedup (realisation = measured / FLOP ratio) per profile"


def profiles_section(names: list[str], claims: list[ClaimRecord], speedups: list[dict]) -> str:
    """Several profiles side by side: each claim's verdict, each speedup and its realisation, per profile."""
    verdicts: dict[str, dict[str, ClaimRecord]] = {}
    for c in claims:
        verdicts.setdefault(c.id, {})[c.profile] = c
    claim_rows = [[claim, *(verdict_cell(by.get(n)) for n in names)] for claim, by in verdicts.items()]
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
            figures += figure(plots.grouped_bars(list(chosen), series, flops, f'{runtime}, batch {batch}: speedup over dense per profile'), wide=True)
    tables = [
        html_table(["claim", *names], claim_rows, "verdict (measured) per profile") if claim_rows else "",
        figures,
        details(f"{len(speed_rows)} speedups per profile", html_table(["checkpoint", "runtime", "batch", "FLOP ratio", *names], speed_rows,
                                                                      SPEED_CAPTION, left=2)) if speed_rows else "",
    ]
    return section("Profiles side by side", "".join(tables))


def comparison_section(name_a: str, a: dict[str, Any], name_b: str, b: dict[str, Any]) -> str:
    """The figures two outputs share, side by side: claim verdicts, speedups, latencies (B / A)."""

    def keyed(records: list[dict], *keys: str) -> dict[tuple, dict]:
        return {tuple(r[k] for k in keys): r for r in records if "skipped" not in r}

    claims_a, claims_b = ({c.id: c for c in side["claims"]} for side in (a, b))
    claim_rows = [[key, claims_a[key].verdict, claims_a[key].measured, claims_b[key].verdict, claims_b[key].measured]
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
        details(f"{len(speed_rows)} speedups in both", html_table(["checkpoint", "runtime", "batch", "speedup A", "speedup B", "B / A"], speed_rows,
                                                                  caption, left=2)) if speed_rows else "",
        details(f"{len(bench_rows)} latencies in both", html_table(["checkpoint", "runtime", "batch", "median A", "median B", "B / A"], bench_rows,
                                                                   caption, left=2)) if bench_rows else "",
    ]
    return section("Side by side", "".join(tables) or f'<p class="muted">{esc(caption)}: no figures in common</p>')


def plans_differ(name_a: str, a: dict[str, Any], name_b: str, b: dict[str, Any]) -> str:
    """The warning above a side-by-side view of two outputs that ran different plans (or one unrecorded)."""
    def which(side: dict[str, Any]) -> str:
        return f"plan {side.get('plan') or '?'} ({side['plan_sha256'][:12]})" if side.get("plan_sha256") else "a plan it did not record"

    return (f'<p class="warn">A = {esc(name_a)} and B = {esc(name_b)} ran different plans: A ran {esc(which(a))}, '
            f'B ran {esc(which(b))}. Their figures come from different runs, data, seeds or claims.</p>')


def context_profiles(context: dict[str, Any]) -> list[dict[str, Any]]:
    """The profiles of a report context: `profiles`, or the one `profile` of an older caller."""
    return context.get("profiles") or [context["profile"]]


def profile_names(context: dict[str, Any]) -> list[str]:
    return [p["name"] for p in context_profiles(context)]
