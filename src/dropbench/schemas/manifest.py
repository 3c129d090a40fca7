"""The checkpoint manifest's schema: every field the loader relies on, with its type and bounds.

Paths are plain names inside the run directory (`files`) or `variants/<name>` (`variants`):
never absolute, never `..`, never hidden. Fields the loader does not rely on (history, curves,
fingerprint, ...) may hold any JSON; the reader bounds their size and depth.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from ..limits import MAX_LAYERS, MAX_WIDTH

FileName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")]
VariantPath = Annotated[str, StringConstraints(pattern=r"^variants/[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")]
Width = Annotated[int, Field(ge=1, le=MAX_WIDTH)]
Widths = Annotated[list[Width], Field(min_length=1, max_length=MAX_LAYERS)]
Count = Annotated[int, Field(ge=0)]


class Strict(BaseModel):
    """No coercion ("3" is not 3); unknown fields kept, the writer's extras are not our business."""

    model_config = ConfigDict(strict=True, extra="allow")


class FileRecord(Strict):
    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    bytes: Count


class TensorRecord(Strict):
    shape: Annotated[list[Count], Field(max_length=8)]
    dtype: str


class MLPArch(Strict):
    kind: Literal["mlp"]
    input_shape: Annotated[list[Width], Field(min_length=1, max_length=4)]
    widths: Annotated[list[Width], Field(min_length=2, max_length=MAX_LAYERS)]
    input_index: Annotated[list[Count], Field(max_length=MAX_WIDTH)] | None = None

    @model_validator(mode="after")
    def _inputs_fit(self) -> "MLPArch":
        """The first layer reads what the input gives: every feature, or the kept ones (`input_index`), each inside it."""
        features = math.prod(self.input_shape)
        if self.input_index is None and self.widths[0] != features:
            raise ValueError(f"the first layer reads {self.widths[0]} inputs, the input_shape {self.input_shape} gives {features}")
        if self.input_index is not None and len(self.input_index) != self.widths[0]:
            raise ValueError(f"input_index keeps {len(self.input_index)} inputs, the first layer reads {self.widths[0]}")
        if self.input_index and max(self.input_index) >= features:
            raise ValueError(f"input_index {max(self.input_index)} lies past the {features} inputs of input_shape {self.input_shape}")
        return self


class LeNet5Arch(Strict):
    kind: Literal["lenet5"]
    input_shape: Annotated[list[Width], Field(min_length=3, max_length=3)]
    conv: Annotated[list[Width], Field(min_length=2, max_length=2)]
    fc: Widths
    classes: Width
    kernel: Annotated[int, Field(ge=1, le=15)]
    padding: Annotated[int, Field(ge=0, le=15)]


class LSTMArch(Strict):
    kind: Literal["lstm"]
    vocab: Width
    embed: Width
    hidden: Widths
    seq_len: Annotated[int, Field(ge=1, le=MAX_WIDTH)]


class Method(Strict):
    name: str
    params: dict[str, Any]


class Metrics(Strict):
    params: Count
    nonzero_params: Count
    flops: Count


Arch = Annotated[Union[MLPArch, LeNet5Arch, LSTMArch], Field(discriminator="kind")]


class ArchOnly(Strict):
    """An architecture checked alone, before training, as the manifest written after it will be."""

    arch: Arch


class Manifest(Strict):
    format: Literal["dropbench-checkpoint"]
    format_version: Annotated[int, Field(ge=1, le=1)]  # an int, never a bool (strict): `true` is no version
    name: Annotated[str, StringConstraints(max_length=256)] = ""
    arch: Arch
    method: Method
    metrics: Metrics
    files: Annotated[dict[FileName, FileRecord], Field(max_length=16)]
    tensors: Annotated[dict[str, TensorRecord], Field(max_length=4 * MAX_LAYERS)]
    variants: Annotated[dict[FileName, VariantPath], Field(max_length=256)] = {}
