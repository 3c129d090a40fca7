"""HTML building blocks of the reports: one self-contained page (inline CSS, no external resources,
so it opens offline), tables, sections. Every value is escaped."""

from __future__ import annotations

import html
from typing import Any, Iterable, Sequence

CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: .2em; margin-top: 2em; }
table { border-collapse: collapse; margin: .5em 0 1em; } caption { text-align: left; color: #555; }
th, td { border: 1px solid #ddd; padding: .25em .6em; text-align: right; }
th { background: #f4f4f4; } td.l, th.l { text-align: left; }
.warn { color: #a60; font-size: .9em; } .muted { color: #777; } figure { margin: 1em 0; } svg { max-width: 100%; height: auto; }
td.holds { color: #176b2c; font-weight: bold; } td.fails, td.error { color: #b00020; font-weight: bold; }
td.inconclusive { color: #a60; font-weight: bold; } td.not-run { color: #777; }
.met { color: #176b2c; } .violated { color: #b00020; } .undecided { color: #a60; }
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


def figure(svg: str) -> str:
    return f"<figure>{svg}</figure>"
