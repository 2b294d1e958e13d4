"""Convert the gender head of face-api.js's AgeGenderNet (MIT) from its TFJS weights manifest into ONNX.

The weights ship in the npm package @vladmandic/face-api 1.7.15 (MIT) as `model/age_gender_model.bin`
with `model/age_gender_model-weights_manifest.json`: a weights manifest, not a graph (the architecture
is code in the package's src/xception and src/ageGenderNet). This script rebuilds that architecture as
a TFJS-style node graph and hands it to tools/convert_tfjs_gender.py, which writes the ONNX model and
holds the numpy reference forward pass it is checked against.

The network, as the package's source defines it (TinyXception with 2 main blocks):
- input 112 x 112 RGB, normalised as (pixel - (122.782, 117.001, 104.298)) / 255 (done by the caller);
- entry flow: 3x3 conv stride 2 + ReLU (32), reduction blocks 32 -> 64 (input not activated) and
  64 -> 128; a reduction block is ReLU, separable conv, ReLU, separable conv, 3x3 max pool stride 2,
  plus a 1x1 stride-2 conv of the block input;
- middle flow: 2 main blocks of 3 x (ReLU, separable conv) at 128 channels, plus the block input;
- exit flow: reduction block 128 -> 256, separable conv 256 -> 512 + ReLU; 7x7 average pool (the whole
  7x7 map: a mean); fully connected 512 -> 2; softmax. Every conv is 'same' padded and carries a bias.
The package's gender column 0 is male; this ONNX model swaps the two columns so that its output is
(female, male), the order of the engine's other gender networks. The age head is not exported.

Weights are uint8-quantised in the package; the ONNX file stores each quantised tensor as uint8
indices into its own codebook of at most 256 float32 values (Cast + Gather, folded by onnxruntime at
load time), which reproduces the float32 weights bit for bit at a quarter of the size.

    python tools/convert_faceapi_gender.py PACKAGE_DIR/model OUT.onnx

exits 1 when onnxruntime and the numpy reference differ by more than 1e-4 on random inputs.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
from pathlib import Path
from typing import Final

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.convert_tfjs_gender import ConversionError, Graph, check, sha256, to_onnx  # noqa: E402

MANIFEST: Final = "age_gender_model-weights_manifest.json"
WEIGHTS: Final = "age_gender_model.bin"
PINNED_SHA256: Final = {
    MANIFEST: "74b60bf3ebf981bf4e661e9cca3a185614e10b25d797118b62e2a68d3ff2569f",
    WEIGHTS: "49f92bbc0afef2342c4385e4a2b0acb6d7a727c6f0aa539499719a81acf9abaa",
}
INPUT_SIZE: Final = 112
MAIN_BLOCKS: Final = 2
OUTPUT: Final = "gender/softmax"


def load_weights(model_dir: Path) -> dict[str, np.ndarray]:
    """The manifest's tensors as float32, after checking both files against their pinned sha256."""
    for name, digest in PINNED_SHA256.items():
        if sha256(model_dir / name) != digest:
            raise ConversionError(f"{name} does not match its pinned sha256")
    groups = json.loads((model_dir / MANIFEST).read_text())
    weights: dict[str, np.ndarray] = {}
    for group in groups:
        blob = b"".join((model_dir / path).read_bytes() for path in group["paths"])
        offset = 0
        for spec in group["weights"]:
            count = int(np.prod(spec["shape"]))
            quant = spec.get("quantization")
            if quant is None:
                values = np.frombuffer(blob, np.float32, count, offset)
                offset += 4 * count
            elif quant["dtype"] == "uint8":
                codes = np.frombuffer(blob, np.uint8, count, offset)
                values = (codes.astype(np.float64) * quant["scale"] + quant["min"]).astype(np.float32)
                offset += count
            else:
                raise ConversionError(f"quantisation {quant['dtype']} not handled")
            weights[spec["name"]] = values.reshape(spec["shape"]).copy()
        if offset != len(blob):
            raise ConversionError(f"{len(blob) - offset} bytes left over in {group['paths']}")
    return weights


def _text(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


class _Net:
    """Appends TFJS-style nodes (the dialect tools/convert_tfjs_gender.py reads) for the network."""

    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        self.weights = weights
        self.nodes: dict[str, dict] = {}
        for name in weights:
            self.nodes[name] = {"name": name, "op": "Const"}

    def add(self, name: str, op: str, inputs: list[str], **attr: dict) -> str:
        if name in self.nodes:
            raise ConversionError(f"node {name} defined twice")
        self.nodes[name] = {"name": name, "op": op, "input": inputs, "attr": attr}
        return name

    def conv(self, x: str, prefix: str, stride: int, relu: bool = False) -> str:
        fused = ["BiasAdd", "Relu"] if relu else ["BiasAdd"]
        return self.add(
            prefix, "_FusedConv2D", [x, f"{prefix}/filters", f"{prefix}/bias"],
            strides={"list": {"i": ["1", str(stride), str(stride), "1"]}}, padding={"s": _text("SAME")},
            fused_ops={"list": {"s": [_text(op) for op in fused]}},
        )  # fmt: skip

    def separable(self, x: str, prefix: str, relu: bool = False) -> str:
        """tf.separableConv2d: a 3x3 depthwise conv, then a 1x1 conv with the bias."""
        depthwise = self.add(
            f"{prefix}/depthwise", "DepthwiseConv2dNative", [x, f"{prefix}/depthwise_filter"],
            strides={"list": {"i": ["1", "1", "1", "1"]}}, padding={"s": _text("SAME")},
        )  # fmt: skip
        fused = ["BiasAdd", "Relu"] if relu else ["BiasAdd"]
        return self.add(
            f"{prefix}/pointwise", "_FusedConv2D", [depthwise, f"{prefix}/pointwise_filter", f"{prefix}/bias"],
            strides={"list": {"i": ["1", "1", "1", "1"]}}, padding={"s": _text("VALID")},
            fused_ops={"list": {"s": [_text(op) for op in fused]}},
        )  # fmt: skip

    def relu(self, x: str) -> str:
        name = f"{x}/relu"
        return name if name in self.nodes else self.add(name, "Relu", [x])

    def reduction_block(self, x: str, prefix: str, activate_input: bool = True) -> str:
        out = self.relu(x) if activate_input else x
        out = self.separable(out, f"{prefix}/separable_conv0", relu=True)
        out = self.separable(out, f"{prefix}/separable_conv1")
        out = self.add(
            f"{prefix}/max_pool", "MaxPool", [out], ksize={"list": {"i": ["1", "3", "3", "1"]}},
            strides={"list": {"i": ["1", "2", "2", "1"]}}, padding={"s": _text("SAME")},
        )  # fmt: skip
        return self.add(f"{prefix}/sum", "AddV2", [out, self.conv(x, f"{prefix}/expansion_conv", 2)])

    def main_block(self, x: str, prefix: str) -> str:
        out = self.separable(self.relu(x), f"{prefix}/separable_conv0", relu=True)
        out = self.separable(out, f"{prefix}/separable_conv1", relu=True)
        out = self.separable(out, f"{prefix}/separable_conv2")
        return self.add(f"{prefix}/sum", "AddV2", [out, x])


def build_graph(weights: dict[str, np.ndarray]) -> Graph:
    """The gender half of AgeGenderNet, its fc columns swapped to (female, male)."""
    weights = {name: array for name, array in weights.items() if not name.startswith("fc/age")}
    weights["fc/gender/weights"] = weights["fc/gender/weights"][:, ::-1].copy()
    weights["fc/gender/bias"] = weights["fc/gender/bias"][::-1].copy()
    weights["pool/axes"] = np.array([1, 2], np.int32)
    net = _Net(weights)
    net.nodes["input"] = {"name": "input", "op": "Placeholder"}
    out = net.conv("input", "entry_flow/conv_in", 2, relu=True)
    out = net.reduction_block(out, "entry_flow/reduction_block_0", activate_input=False)
    out = net.reduction_block(out, "entry_flow/reduction_block_1")
    for index in range(MAIN_BLOCKS):
        out = net.main_block(out, f"middle_flow/main_block_{index}")
    out = net.reduction_block(out, "exit_flow/reduction_block")
    out = net.separable(out, "exit_flow/separable_conv", relu=True)
    # avgPool 7x7, stride 2, 'valid' on the 7x7 map (112 / 2^4) is the mean over the map.
    out = net.add("pool", "Mean", [out, "pool/axes"], keep_dims={"b": False})
    out = net.add("fc/gender", "_FusedMatMul", [out, "fc/gender/weights", "fc/gender/bias"],
                  fused_ops={"list": {"s": [_text("BiasAdd")]}})  # fmt: skip
    net.add(OUTPUT, "Softmax", [out])
    used = {name for node in net.nodes.values() for name in node.get("input", [])}
    unused = sorted(name for name in weights if name not in used)
    if unused:
        raise ConversionError(f"weights the architecture does not read: {unused}")
    return Graph(net.nodes, list(net.nodes), weights, "input", [-1, INPUT_SIZE, INPUT_SIZE, 3])


def store_as_codebooks(model: onnx.ModelProto, min_size: int = 1024) -> onnx.ModelProto:
    """Float initializers with at most 256 distinct values become uint8 indices + a codebook (exact)."""
    graph = model.graph
    kept, decode = [], []
    for tensor in graph.initializer:
        array = numpy_helper.to_array(tensor)
        if array.dtype != np.float32 or array.size < min_size:
            kept.append(tensor)
            continue
        book, codes = np.unique(array, return_inverse=True)
        if len(book) > 256:
            kept.append(tensor)
            continue
        name = tensor.name
        kept.append(numpy_helper.from_array(codes.reshape(array.shape).astype(np.uint8), f"{name}_codes"))
        kept.append(numpy_helper.from_array(book.astype(np.float32), f"{name}_book"))
        decode.append(helper.make_node("Cast", [f"{name}_codes"], [f"{name}_index"], to=TensorProto.INT32))
        decode.append(helper.make_node("Gather", [f"{name}_book", f"{name}_index"], [name], axis=0))
    del graph.initializer[:]
    graph.initializer.extend(kept)
    nodes = decode + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.checker.check_model(model)
    return model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir", type=Path, help="the package's model/ folder")
    parser.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    graph = build_graph(load_weights(args.model_dir))
    model = store_as_codebooks(to_onnx(graph, [OUTPUT]))
    model.producer_name = "coswap tools/convert_faceapi_gender.py"
    onnx.save(model, str(args.out))
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes) sha256 {digest}")
    batch = np.random.default_rng(0).uniform(-1.0, 1.0, (4, INPUT_SIZE, INPUT_SIZE, 3)).astype(np.float32)
    worst = check(graph, [OUTPUT], args.out, batch)
    print(f"onnxruntime vs numpy reference: max abs difference {worst:.2e}")
    return 0 if worst <= 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main())
