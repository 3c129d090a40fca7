"""The terminal: one rich console (stderr, so stdout stays clean for JSON) and progress bars."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

console = Console(stderr=True, highlight=False)
stdout = Console(highlight=False)


def make_progress(quiet: bool = False) -> Progress:
    """A progress display; every task carries a `status` field (epoch, loss, accuracy, stage)."""
    return Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), TextColumn("{task.fields[status]}"), console=console, disable=quiet,
    )
