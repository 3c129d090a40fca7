"""Training-step time and memory: every registered method (x dropout rate) x model."""

from dropbench import suites

CASES = list(suites.training_cases())
MODELS = list(suites.TRAINING_DATA)


class TrainingStep:
    params = (CASES, MODELS)
    param_names = ("case", "model")
    timeout = 300

    def setup(self, case, model):
        self.step = suites.training_step(case, model)

    def time_step(self, case, model):
        self.step()

    def peakmem_step(self, case, model):
        self.step()


class TrainingTimeRatio:
    """Step time over the dense step's, interleaved in one run: 1 / the measured training speedup."""

    params = ([case for case in CASES if case != "dense"], MODELS)
    param_names = ("case", "model")
    timeout = 300

    def setup(self, case, model):
        self.measure = suites.training_time_ratio(case, model)

    def track_time_ratio(self, case, model):
        return self.measure()

    track_time_ratio.unit = "x dense step time"


class TrainingStepCudaMemory:
    """torch's peak CUDA allocation in one step (cuda profiles only; peakmem_ sees host RSS)."""

    params = (CASES, MODELS)
    param_names = ("case", "model")
    timeout = 300

    def setup(self, case, model):
        suites.usable_profile("cuda")
        self.step = suites.training_step(case, model)

    def track_cuda_peak_memory(self, case, model):
        return suites.cuda_peak_bytes(self.step)

    track_cuda_peak_memory.unit = "bytes"
