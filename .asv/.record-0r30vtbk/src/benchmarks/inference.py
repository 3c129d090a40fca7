"""Inference time and memory of every compacted checkpoint x runtime x batch size x device."""

from dropbench import suites

from .common import CheckpointSuite

CHECKPOINTS = suites.checkpoint_names()
BATCHES = suites.batch_sizes()


class Inference(CheckpointSuite):
    params = (CHECKPOINTS, suites.INFERENCE_RUNTIMES, BATCHES, list(suites.DEVICES))
    param_names = ("checkpoint", "runtime", "batch", "device")

    def setup(self, checkpoints, name, runtime, batch, device):
        self.run = suites.inference(checkpoints, name, runtime, batch, device)

    def time_inference(self, checkpoints, name, runtime, batch, device):
        self.run()

    def peakmem_inference(self, checkpoints, name, runtime, batch, device):
        self.run()


class CompiledInference(CheckpointSuite):
    """torch-compile (inductor): compiled once per checkpoint and batch size in setup; compile time tracked apart."""

    params = (CHECKPOINTS, BATCHES, list(suites.DEVICES))
    param_names = ("checkpoint", "batch", "device")

    def setup(self, checkpoints, name, batch, device):
        self.run = suites.inference(checkpoints, name, "torch-compile", batch, device)

    def time_inference(self, checkpoints, name, batch, device):
        self.run()

    def track_compile_time(self, checkpoints, name, batch, device):
        return self.run.compile_s

    track_compile_time.unit = "seconds"


class InferenceTimeRatio(CheckpointSuite):
    """Time over the dense baseline's, interleaved in one run: 1 / the measured inference speedup."""

    params = (suites.compacted_names(), suites.INFERENCE_RUNTIMES, BATCHES)
    param_names = ("checkpoint", "runtime", "batch")

    def setup(self, checkpoints, name, runtime, batch):
        self.measure = suites.inference_time_ratio(checkpoints, name, runtime, batch)

    def track_time_ratio(self, checkpoints, name, runtime, batch):
        return self.measure()

    track_time_ratio.unit = "x dense time"


class InferenceCudaMemory(CheckpointSuite):
    """torch's peak CUDA allocation in one batch (torch runtimes on cuda profiles only)."""

    params = (CHECKPOINTS, [r for r in suites.INFERENCE_RUNTIMES if r.startswith("torch")], BATCHES)
    param_names = ("checkpoint", "runtime", "batch")

    def setup(self, checkpoints, name, runtime, batch):
        self.run = suites.inference(checkpoints, name, runtime, batch, "cuda")

    def track_cuda_peak_memory(self, checkpoints, name, runtime, batch):
        return suites.cuda_peak_bytes(self.run)

    track_cuda_peak_memory.unit = "bytes"
