"""HTML building blocks of the reports: one self-contained page (inline CSS, no external resources,
so it opens offline), tables, sections, figures, and how values are worded. Every value is escaped."""

from __future__ import annotations

import html
import re
from typing import Any, Iterable, Sequence

CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: .2em; margin-top: 2em; }
table { border-collapse: collapse; margin: .5em 0 1em; } caption { text-align: left; color: #555; }
th, td { border: 1px solid #ddd; padding: .25em .6em; text-align: right; }
th { background: #f4f4f4; } td.l, th.l { text-align: left; } td:not(.l) { white-space: nowrap; }
.warn { color: #a60; font-size: .9em; } .muted { color: #777; }
figure { display: inline-block; vertical-align: top; width: calc(50% - 1em); margin: .5em .5em 1em 0; }
svg { width: 100%; height: auto; } figure.wide { width: 100%; } figure.wide svg { width: auto; max-width: 100%; } figcaption { font-size: .85em; color: #555; }
details { margin: .5em 0 1em; overflow-x: auto; } summary { cursor: pointer; color: #2a5db0; }
td.holds { color: #176b2c; font-weight: bold; } td.fails, td.error { color: #b00020; font-weight: bold; }
td.inconclusive { color: #a60; font-weight: bold; } td.not-run { color: #777; }
.met { color: #176b2c; } .violated { color: #b00020; } .undecided { color: #a60; }
"""

EMPTY = "\u2014"  # an em dash: no value


def esc(value: Any) -> str:
    return html.escape(str(value))


def fmt(value: Any) -> str:
    """A value as a reader writes it, never as Python prints it: (1, 64) -> 1, 64; None -> an em dash."""
    if value is None:
        return EMPTY
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(fmt(v) for v in value) or EMPTY
    if isinstance(value, dict):
        return ", ".join(f"{k}: {fmt(v)}" for k, v in value.items()) or EMPTY
    return str(value)


def seeds_words(manifests: Iterable[dict]) -> str:
    """Which training seed(s) the manifests were trained with: 'seed 0', 'seeds 0, 1'."""
    seeds = sorted({m.get("train", {}).get("seed") for m in manifests} - {None})
    return f"seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}" if seeds else "seed unknown"


def html_table(headers: Sequence[str], rows: Iterable[Sequence[Any]], caption: str = "", left: int = 1) -> str:
    """A plain HTML table; the first `left` columns are left-aligned (names)."""
    cls = lambda i: ' class="l"' if i < left else ""  # noqa: E731
    head = "".join(f"<th{cls(i)}>{esc(h)}</th>" for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(f"<td{cls(i)}>{esc(fmt(v))}</td>" for i, v in enumerate(row)) + "</tr>" for row in rows)
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def anchor(title: str) -> str:
    """A section's id, from its title: what the summary and the contents link to."""
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def section(title: str, body: str) -> str:
    return f'<section id="{anchor(title)}"><h2>{esc(title)}</h2>{body}</section>'


def details(summary: str, body: str) -> str:
    """A long table folded away: the page stays short, one click opens it."""
    return f"<details><summary>{esc(summary)}</summary>{body}</details>"


def contents(sections: Iterable[str]) -> str:
    """Links to every section of the page, read from the rendered sections' ids and titles."""
    links = re.findall(r'<section id="([^"]+)"><h2>(.*?)</h2>', "".join(sections))
    return '<nav class="muted">Contents: ' + " · ".join(f'<a href="#{i}">{title}</a>' for i, title in links) + "</nav>"


def page(title: str, sections: Iterable[str]) -> str:
    head = f'<meta charset="utf-8"><title>{esc(title)}</title><style>{CSS}</style>'
    return f'<!doctype html><html lang="en"><head>{head}</head><body><h1>{esc(title)}</h1>{"".join(sections)}</body></html>\n'


def figure(svg: str, caption: str = "", wide: bool = False) -> str:
    """A plot, half the page wide (two per row) unless `wide` (bar charts with many labels)."""
    cls = ' class="wide"' if wide else ""
    return f"<figure{cls}>{svg}{f'<figcaption>{esc(caption)}</figcaption>' if caption else ''}</figure>"


def keyed_figure(svg: str, keys: Sequence[str], caption: str = "") -> str:
    """A figure whose points are numbered 1, 2, ... (plots.scatter_by_group), with what each number is."""
    key = "; ".join(f"<b>{i}</b> {esc(k)}" for i, k in enumerate(keys, start=1))
    return f"<figure>{svg}<figcaption>{esc(caption)}{'<br>' if caption else ''}{key}</figcaption></figure>"
