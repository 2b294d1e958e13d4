"""A tiny ONNX stand-in for GFPGANv1.4.onnx, made in code.

It keeps the real interface: one input 'input' [1,3,512,512] float32 in [-1, 1] and one output 'output'
of the same shape and range. Its output is the input's negative (clipped to [-1, 1]), so where the
enhancer blended it back, and by how much, shows plainly in the pixels: a value v becomes 255 - v.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import onnx
from onnx import TensorProto, helper

from pipeline.enhance.model_files import ENHANCER_LABEL, ENHANCER_ROLE, GFPGAN_1_4_ONNX
from pipeline.model_download import Download, ModelFile, ModelManifest

OPSET = 13
IR_VERSION = 8


def build_enhancer(side: int = 512) -> onnx.ModelProto:
    low = helper.make_tensor("low", TensorProto.FLOAT, [], [-1.0])
    high = helper.make_tensor("high", TensorProto.FLOAT, [], [1.0])
    nodes = [
        helper.make_node("Neg", ["input"], ["negated"], name="negate"),
        helper.make_node("Clip", ["negated", "low", "high"], ["output"], name="clip"),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny_gfpgan_1_4",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, side, side])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 3, side, side])],
        [low, high],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="coswap-tests")
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    return model


@dataclass(frozen=True)
class TinyEnhancer:
    directory: Path
    manifest: ModelManifest
    data: bytes


def write_tiny_enhancer(
    directory: Path, *, base_url: str = "http://127.0.0.1:9/tiny", side: int = 512
) -> TinyEnhancer:
    """The stand-in under the real file name, and a manifest pinning its own size and sha256."""
    directory.mkdir(parents=True, exist_ok=True)
    data = build_enhancer(side).SerializeToString()
    name = GFPGAN_1_4_ONNX.file_name
    (directory / name).write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    source = Download(file_name=name, urls=(f"{base_url}/{name}",), sha256=digest, size=len(data))
    manifest = ModelManifest(
        files=(ModelFile(role=ENHANCER_ROLE, name=name, sha256=digest, size=len(data), source=source),),
        label=ENHANCER_LABEL,
    )
    return TinyEnhancer(directory, manifest, data)
