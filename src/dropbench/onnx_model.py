"""Any ONNX file as a model to time: its inputs from the graph, its FLOPs from shape inference.

A user's model exported elsewhere has no dropbench manifest. Input names, element types and
shapes come from the graph; the first axis, when the graph leaves it dynamic, is the batch axis
(the batch sizes come from the profile); every other dynamic axis needs `--shape NAME=1x3x224x224`.
FLOPs per sample count the MatMul / Gemm / Conv work (2 x multiply-accumulates, as flops.py counts
a checkpoint) on the shapes that ONNX shape inference gives at batch 1, so a FLOP ratio stands
beside a measured speedup for foreign models too. Other ops and subgraphs (If / Loop bodies) are
not counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ConfigError

COUNTED_OPS = ("MatMul", "Gemm", "Conv")


@dataclass(frozen=True)
class GraphInput:
    name: str
    shape: tuple[int, ...]  # concrete, with 1 on a dynamic batch axis
    dtype: np.dtype
    dynamic_batch: bool  # the first axis is dynamic: it takes the batch size

    def array(self, batch: int) -> np.ndarray:
        """Random normal floats, zeros for integer and bool inputs (ids and masks that are always valid)."""
        shape = (batch, *self.shape[1:]) if self.dynamic_batch else self.shape
        if np.issubdtype(self.dtype, np.floating):
            return np.random.default_rng(batch).standard_normal(shape).astype(self.dtype)
        return np.zeros(shape, self.dtype)


@dataclass
class OnnxModel:
    """An ONNX file and its fed inputs. Offers `name`, `metrics` and `is_sparse` as a Checkpoint does."""

    path: Path
    inputs: list[GraphInput]

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def is_sparse(self) -> bool:
        return False  # onnxruntime runs every weight dense; sparse runtimes need a checkpoint

    def feed(self, batch: int) -> dict[str, np.ndarray]:
        return {i.name: i.array(batch) for i in self.inputs}

    @cached_property
    def metrics(self) -> dict[str, int]:
        """params and non-zero params of the initializers, FLOPs per sample (see the module docstring)."""
        import onnx
        from onnx import numpy_helper

        proto = onnx.load(str(self.path))
        weights = [numpy_helper.to_array(t) for t in proto.graph.initializer]
        params = sum(w.size for w in weights if np.issubdtype(w.dtype, np.floating))
        nonzero = sum(int(np.count_nonzero(w)) for w in weights if np.issubdtype(w.dtype, np.floating))
        return {"params": params, "nonzero_params": nonzero, "flops": graph_flops(proto, self.inputs, self.name)}


def parse_shapes(pairs: list[str] | None) -> dict[str, tuple[int, ...]]:
    """`NAME=1x3x224x224` strings -> {name: shape}."""
    shapes = {}
    for pair in pairs or []:
        name, sep, dims = pair.partition("=")
        try:
            shape = tuple(int(d) for d in dims.lower().split("x"))
        except ValueError:
            shape = ()
        if not sep or not name or not shape or min(shape) < 1:
            raise ConfigError(f"--shape expects NAME=DIMS with positive dimensions joined by x, e.g. input=1x3x224x224; got {pair!r}")
        shapes[name] = shape
    return shapes


def load_onnx_model(path: Path | str, shapes: dict[str, tuple[int, ...]] | None = None) -> OnnxModel:
    """Read and check an ONNX file; resolve every input's shape from the graph and `shapes`."""
    import onnx

    path, shapes = Path(path), shapes or {}
    if not path.is_file():
        raise ConfigError(f"no ONNX file at {path}")
    try:
        onnx.checker.check_model(str(path))
        graph = onnx.load(str(path), load_external_data=False).graph
    except Exception as e:  # protobuf decode errors and checker errors come in many types
        raise ConfigError(f"{path} is not a valid ONNX model: {type(e).__name__}: {_first_line(e)}") from None
    initializers = {t.name for t in graph.initializer}
    fed = [i for i in graph.input if i.name not in initializers]
    if not fed or not graph.node:
        raise ConfigError(f"{path} is not a usable ONNX model: its graph has no inputs or no nodes")
    unknown = set(shapes) - {i.name for i in fed}
    if unknown:
        raise ConfigError(f"--shape names {', '.join(sorted(unknown))}, but {path.name}'s inputs are {', '.join(i.name for i in fed)}")
    return OnnxModel(path, [_graph_input(i, shapes.get(i.name), path.name) for i in fed])


def _graph_input(value: Any, given: tuple[int, ...] | None, model: str) -> GraphInput:
    from onnx import TensorProto, helper

    tensor = value.type.tensor_type
    if not value.type.HasField("tensor_type") or tensor.elem_type in (TensorProto.STRING, TensorProto.UNDEFINED):
        raise ConfigError(f"{model}: input {value.name!r} is not a numeric tensor; only numeric tensor inputs can be fed")
    dtype = np.dtype(helper.tensor_dtype_to_np_dtype(tensor.elem_type))
    dims = [d.dim_value if d.HasField("dim_value") else None for d in tensor.shape.dim]
    dynamic_batch = bool(dims) and dims[0] is None
    graph_dims = "x".join(str(d.dim_value) if d.HasField("dim_value") else f"<{d.dim_param or '?'}>" for d in tensor.shape.dim)
    if given is not None:
        if len(given) != len(dims):
            raise ConfigError(f"{model}: input {value.name!r} has {len(dims)} axes, --shape gives {len(given)} ({'x'.join(map(str, given))})")
        fixed = [(axis, d, g) for axis, (d, g) in enumerate(zip(dims, given)) if d is not None and d != g]
        if fixed:
            axis, d, g = fixed[0]
            raise ConfigError(f"{model}: input {value.name!r} has axis {axis} fixed at {d} in the graph, --shape gives {g}")
        dims = list(given)
    missing = [axis for axis, d in enumerate(dims) if d is None and axis > 0]
    if missing:
        raise ConfigError(f"{model}: input {value.name!r} has dynamic axes {missing}; give its full shape: --shape {value.name}={graph_dims}")
    if dynamic_batch:
        dims[0] = 1
    return GraphInput(value.name, tuple(dims), dtype, dynamic_batch)


def graph_flops(proto: Any, inputs: list[GraphInput], model: str = "model") -> int:
    """FLOPs per sample of the MatMul / Gemm / Conv nodes, on shapes inferred at batch 1."""
    import onnx

    proto = _with_input_shapes(proto, inputs)
    inferred = onnx.shape_inference.infer_shapes(proto, data_prop=True)
    shapes = {t.name: tuple(t.dims) for t in inferred.graph.initializer}
    for value in [*inferred.graph.input, *inferred.graph.value_info, *inferred.graph.output]:
        dims = value.type.tensor_type.shape.dim
        if value.type.tensor_type.HasField("shape") and all(d.HasField("dim_value") for d in dims):
            shapes[value.name] = tuple(d.dim_value for d in dims)
    total = 0
    for node in inferred.graph.node:
        if node.op_type in COUNTED_OPS:
            names = [node.input[0], node.input[1], node.output[0]]
            if any(n not in shapes for n in names):
                raise ConfigError(
                    f"{model}: shape inference leaves the shapes of {node.op_type} node {node.name or names[2]!r} unknown, so its FLOPs cannot be counted"
                )
            total += _node_flops(node, *(shapes[n] for n in names))
    batch = max((i.shape[0] for i in inputs if not i.dynamic_batch and i.shape), default=1)
    return total // batch


def _node_flops(node: Any, a: tuple[int, ...], b: tuple[int, ...], out: tuple[int, ...]) -> int:
    """2 x multiply-accumulates of one MatMul, Gemm or Conv node."""
    if node.op_type == "MatMul":
        return 2 * math.prod(out) * a[-1]
    if node.op_type == "Gemm":
        trans_a = next((attr.i for attr in node.attribute if attr.name == "transA"), 0)
        return 2 * math.prod(out) * (a[0] if trans_a else a[1])
    return 2 * math.prod(out) * math.prod(b[1:])  # Conv: weight [C_out, C_in / groups, *kernel]


def _with_input_shapes(proto: Any, inputs: list[GraphInput]) -> Any:
    """A copy of the model whose fed inputs have the concrete shapes (batch 1 on a dynamic batch axis)."""
    import onnx

    proto = onnx.ModelProto.FromString(proto.SerializeToString())
    by_name = {i.name: i for i in inputs}
    for value in proto.graph.input:
        if value.name in by_name:
            for dim, size in zip(value.type.tensor_type.shape.dim, by_name[value.name].shape):
                dim.Clear()
                dim.dim_value = size
    return proto


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [""])[0][:300]
