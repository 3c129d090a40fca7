"""What the checkpoint suites share."""

from dropbench import suites


class CheckpointSuite:
    """Base of the suites that time trained checkpoints.

    asv keys setup_cache by the function's module and line, so every subclass shares this one:
    the checkpoints are trained (or taken from the cache) once per commit and environment, in a
    process of their own, and their directories are handed to each benchmark as `checkpoints`.
    """

    timeout = 600

    def setup_cache(self):
        return suites.prepare_checkpoints(suites.checkpoint_cache())

    setup_cache.timeout = 3600
