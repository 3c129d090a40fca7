"""Tables for the terminal (rich)."""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from rich.table import Table

from .html import fmt


def rich_table(title: str, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> Table:
    table = Table(title=title)
    for i, h in enumerate(headers):
        table.add_column(h, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*(fmt(v) for v in row))
    return table
