"""Tiny ONNX stand-ins for det_10g, genderage, w600k_r50 and inswapper_128.

They keep the real models' input and output names, counts and shapes (and the emap initializer), so
insightface's own routing and pre- and post-processing run on them. Their outputs are simple,
deterministic functions of the input:

- detector: two faces at fixed places of the 640x640 detector canvas, each reported only when the
  pixels inside its box vary (a flat image has no face);
- genderage: male when the crop is redder than it is blue, female otherwise;
- recognizer: a fixed random projection of an 8x8-pooled crop;
- swapper: the target crop blended halfway towards a colour chosen by the source latent.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from pipeline.insight.model_files import INSIGHTFACE_LABEL, InsightRole
from pipeline.model_download import Download, ModelFile, ModelManifest

OPSET = 13
IR_VERSION = 8
DET_CANVAS = 640
ANCHORS = 2
STRIDES = (8, 16, 32)
FACE_STRIDE = 16  # the stride whose score map carries the faces
MAX_GRID = DET_CANVAS // 8 + 8  # grid cells per side in the constant maps: canvases up to 704 px

# Detector outputs as named in det_10g.onnx: scores, boxes, keypoints for strides 8, 16, 32.
DET_OUTPUT_NAMES = ("448", "471", "494", "451", "474", "497", "454", "477", "500")
KPS_OFFSETS = ((-20.0, -20.0), (20.0, -20.0), (0.0, 5.0), (-16.0, 30.0), (16.0, 30.0))
TEXTURE_VARIANCE = 0.002  # normalized-pixel variance a box needs to count as a face


@dataclass(frozen=True)
class TinyFace:
    """One face the tiny detector reports, in detector-canvas pixels."""

    cell: tuple[int, int]  # grid column, row at FACE_STRIDE
    half_size: tuple[float, float]  # half width, half height
    score: float

    @property
    def centre(self) -> tuple[float, float]:
        return (self.cell[0] * FACE_STRIDE, self.cell[1] * FACE_STRIDE)

    @property
    def box(self) -> tuple[float, float, float, float]:
        cx, cy = self.centre
        hw, hh = self.half_size
        return (cx - hw, cy - hh, cx + hw, cy + hh)


TINY_FACES = (
    TinyFace(cell=(10, 10), half_size=(64.0, 80.0), score=0.9),
    TinyFace(cell=(28, 10), half_size=(64.0, 80.0), score=0.8),
)

MODEL_FILE_NAMES: dict[InsightRole, str] = {
    "detector": "det_10g.onnx",
    "genderage": "genderage.onnx",
    "recognizer": "w600k_r50.onnx",
    "swapper": "inswapper_128.onnx",
}


def det_scale(image_hw: tuple[int, int]) -> float:
    """SCRFD's letterbox scale from image pixels to the 640x640 canvas (as insightface computes it)."""
    height, width = image_hw
    if height / width > 1.0:
        return DET_CANVAS / height
    return int(DET_CANVAS * height / width) / height


def expected_boxes(image_hw: tuple[int, int]) -> list[tuple[float, float, float, float]]:
    """Where the tiny faces land in an image of this size (before clipping to the image)."""
    scale = det_scale(image_hw)
    return [tuple(v / scale for v in face.box) for face in TINY_FACES]  # type: ignore[misc]


# --- detector -------------------------------------------------------------------------------


def _value(name: str, dims: list[int | str]) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, dims)


def _const(name: str, array: np.ndarray) -> onnx.TensorProto:
    return numpy_helper.from_array(np.ascontiguousarray(array), name=name)


def _face_maps() -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """One-hot score map per face, and the box and keypoint maps of the face stride (NHWC)."""
    onehots = []
    boxes = np.zeros((1, MAX_GRID, MAX_GRID, ANCHORS * 4), dtype=np.float32)
    kps = np.zeros((1, MAX_GRID, MAX_GRID, ANCHORS * 10), dtype=np.float32)
    for face in TINY_FACES:
        col, row = face.cell
        onehot = np.zeros((1, MAX_GRID, MAX_GRID, ANCHORS), dtype=np.float32)
        onehot[0, row, col, 0] = face.score
        onehots.append(onehot)
        hw, hh = face.half_size
        boxes[0, row, col, 0:4] = np.array([hw, hh, hw, hh], dtype=np.float32) / FACE_STRIDE
        kps[0, row, col, 0:10] = np.array(KPS_OFFSETS, dtype=np.float32).reshape(-1) / FACE_STRIDE
    return onehots, boxes, kps


def build_detector() -> onnx.ModelProto:
    """det_10g's interface: input 'input.1' [1,3,?,?], nine outputs [N,1] / [N,4] / [N,10]."""
    nodes: list[onnx.NodeProto] = []
    inits: list[onnx.TensorProto] = [
        _const("axes_hw_nchw", np.array([2, 3], dtype=np.int64)),
        _const("axes_hw_nhwc", np.array([1, 2], dtype=np.int64)),
        _const("zeros_2", np.array([0, 0], dtype=np.int64)),
        _const("shape_score", np.array([-1, 1], dtype=np.int64)),
        _const("shape_box", np.array([-1, 4], dtype=np.int64)),
        _const("shape_kps", np.array([-1, 10], dtype=np.int64)),
        _const("gate_gain", np.array(1000.0, dtype=np.float32)),
        _const("gate_threshold", np.array(TEXTURE_VARIANCE, dtype=np.float32)),
    ]
    onehots, face_boxes, face_kps = _face_maps()
    scores: dict[int, str] = {}
    boxes: dict[int, str] = {}
    kpss: dict[int, str] = {}
    for stride in STRIDES:
        pooled = f"pool_{stride}"
        nodes.append(
            helper.make_node(
                "AveragePool",
                ["input.1"],
                [pooled],
                name=f"pool{stride}",
                kernel_shape=[stride, stride],
                strides=[stride, stride],
            )
        )
        nodes.append(helper.make_node("Shape", [pooled], [f"shape_{stride}"], name=f"shape{stride}"))
        nodes.append(
            helper.make_node(
                "Slice",
                [f"shape_{stride}", "axes_hw_nchw_start", "axes_hw_nchw_end"],
                [f"hw_{stride}"],
                name=f"hw{stride}",
            )
        )

        def crop(source: str, out: str, stride: int = stride) -> None:
            nodes.append(
                helper.make_node(
                    "Slice", [source, "zeros_2", f"hw_{stride}", "axes_hw_nhwc"], [out], name=f"crop_{out}"
                )
            )

        if stride == FACE_STRIDE:
            weighted = []
            for index, onehot in enumerate(onehots):
                gate = _texture_gate(nodes, inits, index)
                inits.append(_const(f"onehot_{index}", onehot))
                nodes.append(
                    helper.make_node("Mul", [f"onehot_{index}", gate], [f"weighted_{index}"], name=f"weight{index}")
                )
                weighted.append(f"weighted_{index}")
            nodes.append(helper.make_node("Sum", weighted, [f"scoremap_{stride}"], name=f"sum{stride}"))
            inits.append(_const(f"boxmap_{stride}", face_boxes))
            inits.append(_const(f"kpsmap_{stride}", face_kps))
        else:
            inits.append(_const(f"scoremap_{stride}", np.zeros((1, MAX_GRID, MAX_GRID, ANCHORS), dtype=np.float32)))
            inits.append(_const(f"boxmap_{stride}", np.zeros((1, MAX_GRID, MAX_GRID, ANCHORS * 4), dtype=np.float32)))
            inits.append(_const(f"kpsmap_{stride}", np.zeros((1, MAX_GRID, MAX_GRID, ANCHORS * 10), dtype=np.float32)))
        for kind, shape in (("score", "shape_score"), ("box", "shape_box"), ("kps", "shape_kps")):
            cropped = f"{kind}crop_{stride}"
            crop(f"{kind}map_{stride}", cropped)
            out = f"{kind}_{stride}"
            nodes.append(helper.make_node("Reshape", [cropped, shape], [out], name=f"reshape_{kind}{stride}"))
            {"score": scores, "box": boxes, "kps": kpss}[kind][stride] = out
    inits.append(_const("axes_hw_nchw_start", np.array([2], dtype=np.int64)))
    inits.append(_const("axes_hw_nchw_end", np.array([4], dtype=np.int64)))

    ordered = [scores[s] for s in STRIDES] + [boxes[s] for s in STRIDES] + [kpss[s] for s in STRIDES]
    widths = [1] * 3 + [4] * 3 + [10] * 3
    outputs = []
    for internal, public, width in zip(ordered, DET_OUTPUT_NAMES, widths, strict=True):
        nodes.append(helper.make_node("Identity", [internal], [public], name=f"out_{public}"))
        outputs.append(_value(public, [f"n_{public}", width]))
    graph = helper.make_graph(nodes, "tiny_det_10g", [_value("input.1", [1, 3, "?", "?"])], outputs, inits)
    return _model(graph)


def _texture_gate(nodes: list[onnx.NodeProto], inits: list[onnx.TensorProto], index: int) -> str:
    """A scalar in (0, 1): above one half when the pixels inside face `index`'s box vary."""
    x1, y1, x2, y2 = (int(v) for v in TINY_FACES[index].box)
    inits.append(_const(f"box_start_{index}", np.array([y1, x1], dtype=np.int64)))
    inits.append(_const(f"box_end_{index}", np.array([y2, x2], dtype=np.int64)))
    prefix = f"gate{index}"
    nodes.extend(
        [
            helper.make_node(
                "Slice",
                ["input.1", f"box_start_{index}", f"box_end_{index}", "axes_hw_nchw"],
                [f"{prefix}_crop"],
                name=f"{prefix}crop",
            ),
            helper.make_node("ReduceMean", [f"{prefix}_crop"], [f"{prefix}_mean"], name=f"{prefix}mean", keepdims=0),
            helper.make_node("Mul", [f"{prefix}_crop", f"{prefix}_crop"], [f"{prefix}_sq"], name=f"{prefix}square"),
            helper.make_node("ReduceMean", [f"{prefix}_sq"], [f"{prefix}_sqmean"], name=f"{prefix}sqmean", keepdims=0),
            helper.make_node("Mul", [f"{prefix}_mean", f"{prefix}_mean"], [f"{prefix}_meansq"], name=f"{prefix}meansq"),
            helper.make_node("Sub", [f"{prefix}_sqmean", f"{prefix}_meansq"], [f"{prefix}_var"], name=f"{prefix}var"),
            helper.make_node("Sub", [f"{prefix}_var", "gate_threshold"], [f"{prefix}_excess"], name=f"{prefix}excess"),
            helper.make_node("Mul", [f"{prefix}_excess", "gate_gain"], [f"{prefix}_logit"], name=f"{prefix}logit"),
            helper.make_node("Sigmoid", [f"{prefix}_logit"], [f"{prefix}_gate"], name=f"{prefix}sigmoid"),
        ]
    )
    return f"{prefix}_gate"


# --- genderage, recognizer, swapper ---------------------------------------------------------


def build_genderage() -> onnx.ModelProto:
    """genderage's interface: 'data' [1,3,96,96] -> 'fc1' [1,3] = female, male, age/100.

    The first node is named 'bn_data', as in the real mxnet export, so insightface feeds raw
    0..255 RGB (mean 0, std 1).
    """
    gain = 12.0 / 255.0
    weights = np.array(
        [
            [-gain, gain, 0.0],  # R: towards male
            [0.0, 0.0, 0.5 / 255.0],  # G: age
            [gain, -gain, 0.0],  # B: towards female
        ],
        dtype=np.float32,
    )
    bias = np.array([0.0, 0.0, 0.25], dtype=np.float32)
    nodes = [
        helper.make_node("Identity", ["data"], ["data_bn"], name="bn_data"),
        helper.make_node("ReduceMean", ["data_bn"], ["channel_means"], name="channel_mean", axes=[2, 3], keepdims=0),
        helper.make_node("Gemm", ["channel_means", "ga_weights", "ga_bias"], ["fc1"], name="fc1"),
    ]
    inits = [_const("ga_weights", weights), _const("ga_bias", bias)]
    graph = helper.make_graph(nodes, "tiny_genderage", [_value("data", [1, 3, 96, 96])], [_value("fc1", [1, 3])], inits)
    return _model(graph)


def build_recognizer() -> onnx.ModelProto:
    """w600k_r50's interface: 'input.1' [1,3,112,112] -> '683' [1,512]."""
    rng = np.random.default_rng(600)
    projection = rng.standard_normal((3 * 14 * 14, 512)).astype(np.float32) / 14.0
    nodes = [
        helper.make_node("AveragePool", ["input.1"], ["pooled"], name="pool", kernel_shape=[8, 8], strides=[8, 8]),
        helper.make_node("Flatten", ["pooled"], ["flat"], name="flatten", axis=1),
        helper.make_node("MatMul", ["flat", "projection"], ["683"], name="fc"),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny_w600k_r50",
        [_value("input.1", [1, 3, 112, 112])],
        [_value("683", [1, 512])],
        [_const("projection", projection)],
    )
    return _model(graph)


def build_swapper() -> onnx.ModelProto:
    """inswapper_128's interface: 'target' [1,3,128,128] and 'source' [1,512] -> 'output' [1,3,128,128].

    `emap` (512x512) is the last initializer, which is where insightface reads it from.
    """
    rng = np.random.default_rng(128)
    colour = rng.standard_normal((512, 3)).astype(np.float32)
    emap = (rng.standard_normal((512, 512)) / np.sqrt(512.0)).astype(np.float32)
    nodes = [
        helper.make_node("MatMul", ["source", "emap"], ["source_mapped"], name="source_map"),
        helper.make_node("MatMul", ["source_mapped", "colour_weights"], ["colour_logits"], name="colour"),
        helper.make_node("Sigmoid", ["colour_logits"], ["colour_rgb"], name="colour_sigmoid"),
        helper.make_node("Reshape", ["colour_rgb", "colour_shape"], ["colour_map"], name="colour_reshape"),
        helper.make_node("Add", ["target", "colour_map"], ["blend_sum"], name="blend_add"),
        helper.make_node("Mul", ["blend_sum", "half"], ["output"], name="blend_half"),
    ]
    inits = [
        _const("colour_weights", colour),
        _const("colour_shape", np.array([1, 3, 1, 1], dtype=np.int64)),
        _const("half", np.array(0.5, dtype=np.float32)),
        _const("emap", emap),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny_inswapper_128",
        [_value("target", [1, 3, 128, 128]), _value("source", [1, 512])],
        [_value("output", [1, 3, 128, 128])],
        inits,
    )
    return _model(graph)


def _model(graph: onnx.GraphProto) -> onnx.ModelProto:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="coswap-tests")
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    return model


BUILDERS = {
    "detector": build_detector,
    "genderage": build_genderage,
    "recognizer": build_recognizer,
    "swapper": build_swapper,
}


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_tiny_models(directory: Path, *, base_url: str = "http://127.0.0.1:9/tiny") -> ModelManifest:
    """Write the four tiny models under their real file names; return a manifest pinning them."""
    directory.mkdir(parents=True, exist_ok=True)
    files = []
    for role, name in MODEL_FILE_NAMES.items():
        data = BUILDERS[role]().SerializeToString()
        (directory / name).write_bytes(data)
        digest, size = sha256_bytes(data), len(data)
        source = Download(file_name=name, urls=(f"{base_url}/{name}",), sha256=digest, size=size)
        files.append(ModelFile(role=role, name=name, sha256=digest, size=size, source=source))
    return ModelManifest(files=tuple(files), label=INSIGHTFACE_LABEL)
