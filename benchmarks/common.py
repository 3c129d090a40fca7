"""What the suites share: the names of dropbench they use, and the checkpoint suites' base.

The suites reach dropbench only through `api`, and `api` only through the names in SURFACE:
that is the stable surface of dropbench.suites (docs/asv.md, "Suites that outlive refactors").
A name stays in dropbench.suites with its meaning and signature while a suite uses it
(tests/test_asv_surface.py fails when one disappears). Run against a commit that lacks one,
the suites do not crash: a missing grid (read through `grid`) is one case named after what is missing, and every
benchmark that calls a missing function, or is given that case, is skipped with the reason
(asv's NotImplementedError).
"""

from dropbench import suites

SURFACE = (
    "DEVICES",
    "INFERENCE_RUNTIMES",
    "TRAINING_DATA",
    "batch_sizes",
    "checkpoint_names",
    "claim_figures",
    "claim_ids",
    "claim_records",
    "compacted_names",
    "compaction_figures",
    "cuda_peak_bytes",
    "inference",
    "inference_time_ratio",
    "prepare_checkpoints",
    "training_cases",
    "training_step",
    "training_time_ratio",
    "usable_profile",
    "warm_up",
)


class Unavailable(str):
    """The one case of a grid this commit's dropbench lacks."""


class _Missing:
    """A name of SURFACE this commit's dropbench.suites lacks."""

    def __init__(self, name: str):
        self.reason = f"this commit's dropbench has no suites.{name}"

    def __call__(self, *args, **kwargs):
        raise NotImplementedError(self.reason)

    def __iter__(self):
        return iter([Unavailable(self.reason)])


def _skipping_unavailable(function):
    def call(*args, **kwargs):
        missing = next((a for a in (*args, *kwargs.values()) if isinstance(a, Unavailable)), None)
        if missing is not None:
            raise NotImplementedError(missing)
        return function(*args, **kwargs)

    return call


class _Surface:
    def __getattr__(self, name: str):
        if name not in SURFACE:
            raise AttributeError(f"suites.{name} is not in benchmarks/common.py's SURFACE; add it there (docs/asv.md)")
        value = getattr(suites, name, None)
        if value is None:
            return _Missing(name)
        return _skipping_unavailable(value) if callable(value) else value


api = _Surface()


def grid(values) -> list:
    """A parameter grid: a list from `api` (or a function of it that returns one); one Unavailable
    case where this commit lacks it (calling a missing function here would crash discovery)."""
    try:
        return list(values() if callable(values) else values)
    except NotImplementedError as e:
        return [Unavailable(str(e))]


class CheckpointSuite:
    """Base of the suites that time trained checkpoints.

    asv keys setup_cache by the function's module and line, so every subclass shares this one: it
    runs once per asv run in a process of its own, takes the checkpoints from dropbench's run
    cache (training them once per code version) and hands their directories to each benchmark
    as `checkpoints`.
    """

    timeout = 600

    def setup_cache(self):
        return api.prepare_checkpoints()

    setup_cache.timeout = 3600
