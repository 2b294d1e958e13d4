"""A stand-in for GFPGANv1.4.onnx with the real interface, made in code (the weights are not available
offline): one input 'input' [1,3,512,512] float32 in [-1, 1], one output 'output' of the same shape and
range. Its output is the input's negative, clipped, so where it was blended in shows in the pixels.

The bench times the enhancer on it (alignment, the 512 px crop in and out, paste-back and blend; not the
real network's compute) and the tests use it for loading, blending and the pixel contract.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import onnx
from onnx import TensorProto, helper

from pipeline.enhance.model_files import ENHANCER_LABEL, ENHANCER_ROLE, GFPGAN_1_4_ONNX
from pipeline.model_download import Download, ModelFile, ModelManifest

OPSET = 13
IR_VERSION = 8


def build_enhancer_standin(side: int = 512) -> onnx.ModelProto:
    low = helper.make_tensor("low", TensorProto.FLOAT, [], [-1.0])
    high = helper.make_tensor("high", TensorProto.FLOAT, [], [1.0])
    nodes = [
        helper.make_node("Neg", ["input"], ["negated"], name="negate"),
        helper.make_node("Clip", ["negated", "low", "high"], ["output"], name="clip"),
    ]
    graph = helper.make_graph(
        nodes,
        "standin_gfpgan_1_4",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, side, side])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 3, side, side])],
        [low, high],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="coswap")
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    return model


def write_enhancer_standin(
    directory: Path,
    *,
    side: int = 512,
    model: onnx.ModelProto | None = None,
    base_url: str = "http://127.0.0.1:9/standin",
) -> tuple[bytes, ModelManifest]:
    """Write the stand-in (or `model`) under the real file name; return its bytes and a manifest pinning
    its own size and sha256 (so the enhancer's checks run on it as on the real file)."""
    directory.mkdir(parents=True, exist_ok=True)
    data = (model or build_enhancer_standin(side)).SerializeToString()
    name = GFPGAN_1_4_ONNX.file_name
    (directory / name).write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    source = Download(file_name=name, urls=(f"{base_url}/{name}",), sha256=digest, size=len(data))
    model_file = ModelFile(role=ENHANCER_ROLE, name=name, sha256=digest, size=len(data), source=source)
    return data, ModelManifest(files=(model_file,), label=ENHANCER_LABEL)
