"""What compaction achieved per checkpoint, each lower-is-better (dropbench.suites explains why)."""

from dropbench import suites

from .common import CheckpointSuite


class Compaction(CheckpointSuite):
    params = suites.checkpoint_names()
    param_names = ("checkpoint",)
    processes = 1  # read from the manifests: the same in every process

    def setup(self, checkpoints, name):
        self.figures = suites.compaction_figures(checkpoints, name)

    def track_test_error(self, checkpoints, name):
        return self.figures.test_error

    track_test_error.unit = "% (100 - accuracy)"

    def track_params(self, checkpoints, name):
        return self.figures.params

    track_params.unit = "parameters"

    def track_nonzero_params(self, checkpoints, name):
        return self.figures.nonzero_params

    track_nonzero_params.unit = "non-zero parameters"

    def track_weights_kept(self, checkpoints, name):
        return self.figures.weights_kept

    track_weights_kept.unit = "% of dense weights (100 / compression ratio)"

    def track_flops_kept(self, checkpoints, name):
        return self.figures.flops_kept

    track_flops_kept.unit = "% of dense FLOPs (100 / FLOP ratio)"
