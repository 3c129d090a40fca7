"""The terminal: one rich console (stderr, so stdout stays clean for JSON) and progress bars."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

# Piped output would otherwise wrap tables and progress lines at 80 columns.
console = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 160)
stdout = Console(highlight=False, width=None if sys.stdout.isatty() else 160)


class LazyProgress(Progress):
    """Shows nothing until the first task: a command that fails early prints only its error."""

    def __enter__(self) -> "LazyProgress":
        return self

    def add_task(self, *args, **kwargs):
        if not self.live.is_started and not self.disable:
            self.start()
        return super().add_task(*args, **kwargs)

    def stop(self) -> None:
        if self.live.is_started:
            super().stop()


def make_progress(quiet: bool = False) -> Progress:
    """A progress display; every task carries a `status` field (epoch, loss, accuracy, stage)."""
    return LazyProgress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), TextColumn("{task.fields[status]}"), console=console, disable=quiet,
    )


def one_line(text: object) -> str:
    """`text` as one line of literal text: rich markup escaped (a path may hold "[/]"), newlines folded."""
    return escape(" ".join(str(text).splitlines()))


def error(message: object) -> None:
    console.print(f"[bold red]error:[/] {one_line(message)}", soft_wrap=True)


def warn(message: object) -> None:
    console.print(f"[yellow]warning:[/] {one_line(message)}", soft_wrap=True)
