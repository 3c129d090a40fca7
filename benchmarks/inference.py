"""Inference time and memory of every compacted checkpoint x runtime x batch size x device."""

from .common import CheckpointSuite, api, grid

CHECKPOINTS = grid(api.checkpoint_names)
BATCHES = grid(api.batch_sizes)
RUNTIMES = grid(api.INFERENCE_RUNTIMES)
DEVICES = grid(api.DEVICES)


class Inference(CheckpointSuite):
    version = "1"  # bump when its figures stop meaning what they meant (docs/asv.md)
    params = (CHECKPOINTS, RUNTIMES, BATCHES, DEVICES)
    param_names = ("checkpoint", "runtime", "batch", "device")

    def setup(self, checkpoints, name, runtime, batch, device):
        self.run = api.inference(checkpoints, name, runtime, batch, device)

    def time_inference(self, checkpoints, name, runtime, batch, device):
        self.run()

    def peakmem_inference(self, checkpoints, name, runtime, batch, device):
        self.run()


class CompiledInference(CheckpointSuite):
    """torch-compile (inductor): compiled once per checkpoint and batch size in setup; compile time
    tracked apart."""

    version = "1"  # bump when its figures stop meaning what they meant (docs/asv.md)
    params = (CHECKPOINTS, BATCHES, DEVICES)
    param_names = ("checkpoint", "batch", "device")

    def setup(self, checkpoints, name, batch, device):
        self.run = api.inference(checkpoints, name, "torch-compile", batch, device)

    def time_inference(self, checkpoints, name, batch, device):
        self.run()

    def track_compile_time(self, checkpoints, name, batch, device):
        return self.run.compile_s

    track_compile_time.unit = "seconds"


class InferenceTimeRatio(CheckpointSuite):
    """Time over the dense baseline's, interleaved in one run: 1 / the measured inference speedup."""

    version = "1"  # bump when its figures stop meaning what they meant (docs/asv.md)
    params = (grid(api.compacted_names), RUNTIMES, BATCHES)
    param_names = ("checkpoint", "runtime", "batch")

    def setup(self, checkpoints, name, runtime, batch):
        self.measure = api.inference_time_ratio(checkpoints, name, runtime, batch)

    def track_time_ratio(self, checkpoints, name, runtime, batch):
        return self.measure()

    track_time_ratio.unit = "x dense time"


class InferenceCudaMemory(CheckpointSuite):
    """torch's peak CUDA allocation in one batch (torch runtimes on cuda profiles only)."""

    version = "1"  # bump when its figures stop meaning what they meant (docs/asv.md)
    params = (CHECKPOINTS, [r for r in RUNTIMES if r.startswith("torch")], BATCHES)
    param_names = ("checkpoint", "runtime", "batch")

    def setup(self, checkpoints, name, runtime, batch):
        self.run = api.inference(checkpoints, name, runtime, batch, "cuda")

    def track_cuda_peak_memory(self, checkpoints, name, runtime, batch):
        return api.cuda_peak_bytes(self.run)

    track_cuda_peak_memory.unit = "bytes"
