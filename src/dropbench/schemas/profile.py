"""The hardware profile's schema (hardware_profiles/NAME.json): every field bounded."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator, model_validator

from ..limits import MAX_BATCH, MAX_BATCH_SIZES, MAX_THREADS

Provider = Literal["CPUExecutionProvider", "CUDAExecutionProvider", "TensorrtExecutionProvider"]
PositiveFinite = Annotated[float, Field(gt=0, allow_inf_nan=False)]
PROFILE_NAME = r"^[A-Za-z0-9_-]{1,64}$"  # a plain name, never a path: records and asv results name profiles by it
ProfileName = Annotated[str, StringConstraints(pattern=PROFILE_NAME)]


class ProfileSchema(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    name: ProfileName
    device: Literal["cpu", "cuda"]
    threads: Annotated[int, Field(ge=1, le=MAX_THREADS)]
    dtype: Literal["float32", "float16", "bfloat16"] = "float32"
    batch_sizes: Annotated[list[Annotated[int, Field(ge=1, le=MAX_BATCH)]], Field(min_length=1, max_length=MAX_BATCH_SIZES)] = [1, 64]
    ort_providers: Annotated[list[Provider], Field(min_length=1, max_length=3)] = ["CPUExecutionProvider"]
    # onnxruntime's intra-op threads spin while waiting for work: its default, how users deploy it;
    # false for a user who deploys with session.intra_op.allow_spinning = 0
    ort_spinning: bool = True
    description: Annotated[str, StringConstraints(max_length=2000)] = ""
    peak_flops: PositiveFinite | None = None  # FLOP/s of the physical limit, if known
    bandwidth: PositiveFinite | None = None  # bytes/s

    @field_validator("ort_spinning")
    @classmethod
    def _spinning_needs_cpu_threads(cls, value: bool, info: ValidationInfo) -> bool:
        # only a set value is checked (a default is not): spinning is a setting of the intra-op threads
        # that CPUExecutionProvider's kernels run on; a profile without it has nothing it applies to
        if "CPUExecutionProvider" not in info.data.get("ort_providers", ["CPUExecutionProvider"]):
            raise ValueError("spinning is a setting of the threads of CPUExecutionProvider, which this profile's ort_providers lack: "
                             "leave ort_spinning out or add CPUExecutionProvider")
        return value

    @model_validator(mode="after")
    def _cpu_has_no_cuda_provider(self) -> "ProfileSchema":
        if self.device == "cpu" and "CUDAExecutionProvider" in self.ort_providers:
            raise ValueError("a cpu profile cannot use CUDAExecutionProvider")
        return self
