"""The terminal: one rich console (stderr, so stdout stays clean for JSON) and progress bars, or,
when stderr is not a terminal (a CI log), one plain line per finished step."""

from __future__ import annotations

import sys
import time

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TaskID,
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


PLAIN_LINE_INTERVAL_S = 10.0  # a task's steps finished faster than this share one line (a training batch is a step)


class PlainProgress(LazyProgress):
    """Progress for a log: no live display (a log would get every bar at once, at the end), but a
    line when a step of a task finishes (what, how long, how many left and about how long), at
    most one per task every PLAIN_LINE_INTERVAL_S, and always one when the task finishes."""

    def __init__(self, console: Console) -> None:
        super().__init__(console=console, disable=True)
        self.steps: dict[TaskID, tuple[float, float]] = {}  # task -> (completed, time) at its last line

    def add_task(self, description: str, *args, **kwargs) -> TaskID:
        task = super().add_task(description, *args, **kwargs)
        self.steps[task] = (0.0, time.monotonic())
        return task

    def update(self, task_id: TaskID, **kwargs) -> None:
        super().update(task_id, **kwargs)
        self.say_step(task_id)

    def advance(self, task_id: TaskID, advance: float = 1) -> None:
        super().advance(task_id, advance)
        self.say_step(task_id)

    def say_step(self, task_id: TaskID) -> None:
        task = self._tasks[task_id]
        done_before, since = self.steps[task_id]
        now = time.monotonic()
        if task.total is None or task.completed <= done_before or (now - since < PLAIN_LINE_INTERVAL_S and not task.finished):
            return
        self.steps[task_id] = (task.completed, now)
        steps, left = task.completed - done_before, task.total - task.completed
        what = "1 step" if steps == 1 else f"{steps:g} steps"
        eta = f", about {format_duration(left * task.elapsed / task.completed)}" if left and task.elapsed else ""
        status = f" ({task.fields['status']})" if task.fields.get("status") else ""
        self.console.print(one_line(
            f"{task.description.strip()}: {task.completed:g}/{task.total:g}{status}, {what} in {format_duration(now - since)}; "
            f"{f'{left:g} left{eta}' if left else 'done'} ({format_duration(task.elapsed or 0)} elapsed)"
        ), soft_wrap=True)


def format_duration(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 60 else f"{int(seconds // 60)} min {seconds % 60:02.0f} s"


def make_progress(quiet: bool = False) -> Progress:
    """A progress display; every task carries a `status` field (epoch, loss, accuracy, stage). When
    stderr is not a terminal, the plain lines of PlainProgress instead of bars."""
    if not quiet and not console.is_terminal:
        return PlainProgress(console)
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
