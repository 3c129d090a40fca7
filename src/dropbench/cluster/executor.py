"""Submit Ray tasks, collect their results, retry a lost task once, show progress per node.

A task whose worker or node died (Ray raises a system error) is submitted once more; a task
whose own code raised is not (it would raise again). Either way a failure is reported with its
error when the other tasks are done, never dropped. Ctrl-C cancels every task still pending.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Callable

from ..console import one_line, warn
from ..errors import ClusterError, DropbenchError

ATTEMPTS = 2  # the first try and one retry
POLL_S = 1.0  # how often the progress display is refreshed while tasks run (each refresh is a call to the board)


@dataclass
class Job:
    label: str  # what the user sees: "train dense seed 1", "time cpu-2thread"
    fn: Callable[..., Any]  # a module-level function of dropbench.cluster.tasks
    args: tuple
    options: dict[str, Any]  # Ray resources and scheduling
    attempts: int = 0


class TaskBoard:
    """A Ray actor: each task tells it which node it started on."""

    def __init__(self) -> None:
        self.nodes: dict[str, str] = {}

    def start(self, run_id: str, node: str) -> None:
        self.nodes[run_id] = node

    def snapshot(self) -> dict[str, str]:
        return dict(self.nodes)


def dropbench_task(board: Any, run_id: str, fn: Callable[..., Any], *args: Any) -> Any:
    """What every Ray task runs: report the node, then do the work."""
    from .tasks import node_label

    board.start.remote(run_id, node_label())
    return fn(*args)


@dataclass
class Display:
    """Tasks queued / running / done / failed, in total and per node, as rows of a rich progress."""

    progress: Any
    title: str
    total: int
    done: dict[str, int] = field(default_factory=dict)  # node -> finished tasks
    failed: int = 0
    rows: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.overall = self.progress.add_task(self.title, total=self.total, status="") if self.progress else None

    @property
    def visible(self) -> bool:
        return bool(self.progress) and not self.progress.disable

    def finished(self, node: str | None, ok: bool) -> None:
        if ok:
            self.done[node or "?"] = self.done.get(node or "?", 0) + 1
        else:
            self.failed += 1

    def refresh(self, running: dict[str, list[str]], queued: int) -> None:
        if not self.visible:
            return
        done = sum(self.done.values())
        status = f"{queued} queued · {sum(map(len, running.values()))} running · {done} done · {self.failed} failed"
        self.progress.update(self.overall, completed=done + self.failed, status=status)
        for node in sorted({*running, *self.done}):
            if node not in self.rows:
                self.rows[node] = self.progress.add_task(f"  node {one_line(node)}", total=None, status="")
            labels = ", ".join(running.get(node, []))
            self.progress.update(self.rows[node], status=f"{self.done.get(node, 0)} done · running: {one_line(labels) or '-'}")

    def close(self) -> None:
        """Stop the node rows' spinners: their work is over."""
        for node, row in self.rows.items() if self.progress else []:
            self.progress.update(row, total=self.done.get(node, 0), completed=self.done.get(node, 0))


class Executor:
    def __init__(self, ray: ModuleType, progress: Any = None) -> None:
        self.ray = ray
        self.progress = progress
        self.board = ray.remote(num_cpus=0)(TaskBoard).remote()
        self.task = ray.remote(dropbench_task)
        self.ids = itertools.count()

    def _nodes(self) -> dict[str, str]:
        """Run id -> the node its task started on."""
        return self.ray.get(self.board.snapshot.remote())

    def _submit(self, job: Job) -> tuple[Any, str]:
        job.attempts += 1
        run_id = f"{next(self.ids)}"
        ref = self.task.options(name=job.label.replace(" ", "_"), max_retries=0, **job.options).remote(self.board, run_id, job.fn, *job.args)
        return ref, run_id

    def run(self, title: str, jobs: list[Job], on_result: Callable[[Job, Any], None]) -> None:
        """Run every job, calling on_result(job, value) here as each finishes; raise ClusterError listing the failures."""
        ray = self.ray
        display = Display(self.progress, title, len(jobs))
        pending = {ref: (job, run_id) for job in jobs for ref, run_id in [self._submit(job)]}
        failures: list[str] = []
        try:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1, timeout=POLL_S)
                # which node runs what is asked for only to draw it or to name a failure's node,
                # so a quiet run does not poll while a timing task runs
                nodes = self._nodes() if display.visible else {}
                for ref in ready:
                    job, run_id = pending.pop(ref)
                    try:
                        value = ray.get(ref)
                    except ray.exceptions.RayError as e:
                        node = (nodes or self._nodes()).get(run_id) or "a node"
                        if isinstance(e, ray.exceptions.RayTaskError):  # the task's own code raised: it would again
                            failures.append(f"{job.label} failed on {node}: {_cause(e)}")
                        elif job.attempts < ATTEMPTS:  # the worker or node was lost
                            warn(f"{job.label} was lost on {node} ({type(e).__name__}); retrying it once")
                            retry, retry_id = self._submit(job)
                            pending[retry] = (job, retry_id)
                            continue
                        else:
                            failures.append(f"{job.label} was lost twice, the last time on {node}: {type(e).__name__}: {_first_line(e)}")
                        display.finished(nodes.get(run_id), ok=False)
                    else:
                        on_result(job, value)
                        display.finished(nodes.get(run_id), ok=True)
                running: dict[str, list[str]] = {}
                for job, run_id in pending.values():
                    if run_id in nodes:
                        running.setdefault(nodes[run_id], []).append(job.label)
                display.refresh(running, len(pending) - sum(map(len, running.values())))
        except BaseException:  # Ctrl-C, or on_result refusing a result: nothing may go on running
            for ref in pending:
                ray.cancel(ref, force=True)
            raise
        finally:
            display.close()
        if failures:
            more = f" (and {len(failures) - 1} more: {'; '.join(failures[1:])})" if len(failures) > 1 else ""
            raise ClusterError(f"{failures[0]}{more}")


def _first_line(error: BaseException) -> str:
    return next((line for line in str(error).splitlines() if line.strip()), "")


def _cause(error: Any) -> str:
    """The task's own exception, as `Type: message` (a dropbench error: just its message)."""
    cause = getattr(error, "cause", None) or error
    return _first_line(cause) if isinstance(cause, DropbenchError) else f"{type(cause).__name__}: {_first_line(cause)}"
