"""What the checkpoint suites share."""

from dropbench import suites


class CheckpointSuite:
    """Base of the suites that time trained checkpoints.

    asv keys setup_cache by the function's module and line, so every subclass shares this one: it
    runs once per asv run in a process of its own, takes the checkpoints from dropbench's run
    cache (training them once per code version) and hands their directories to each benchmark
    as `checkpoints`.
    """

    timeout = 600

    def setup_cache(self):
        return suites.prepare_checkpoints()

    setup_cache.timeout = 3600
