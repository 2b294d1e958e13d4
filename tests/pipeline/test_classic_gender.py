"""The classic engine's gender classifier, its committed model file and the TFJS -> ONNX converter."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from pipeline.classic import ClassicEngine
from pipeline.classic.gender import combine
from pipeline.classic.models import GENDER_XCEPTION_SHA256, classic_model_files, ensure_present
from pipeline.errors import ModelUnavailable
from pipeline.face import Face
from pipeline.samples import T1_GENDERS_LEFT_TO_RIGHT
from tools.convert_tfjs_gender import load_tfjs, reference_forward, to_onnx


def test_classic_engine_gets_t1_six_of_six(classic_t1_faces: list[Face]) -> None:
    assert tuple(face.gender for face in classic_t1_faces) == T1_GENDERS_LEFT_TO_RIGHT


def test_engine_genders_sources(classic_engine: ClassicEngine, tom_hanks_image, astronaut_image) -> None:
    assert [face.gender.value for face in classic_engine.detect(tom_hanks_image)] == ["male"]
    assert [face.gender.value for face in classic_engine.detect(astronaut_image)][:1] == ["female"]


def test_committed_model_is_pinned(tmp_path: Path) -> None:
    files = classic_model_files()
    data = files.gender_xception_onnx.read_bytes()
    assert len(data) < 1_000_000
    assert hashlib.sha256(data).hexdigest() == GENDER_XCEPTION_SHA256
    empty = tmp_path / "gender_mini_xception.onnx"
    empty.write_bytes(b"")
    elsewhere = dataclasses.replace(files, gender_xception_onnx=empty)
    with pytest.raises(ModelUnavailable):
        ensure_present(elsewhere)


def test_combine_sums_clipped_log_odds() -> None:
    sure_male = np.array([[0.0, 1.0]], np.float32)
    sure_female = np.array([[1.0, 0.0]], np.float32)
    # The mini-Xception network outweighs the CC0 one when both are certain.
    assert combine(sure_male, sure_female)[0, 1] > 0.8
    assert combine(sure_female, sure_male)[0, 1] < 0.2
    even = np.array([[0.5, 0.5]], np.float32)
    assert combine(even, even)[0].tolist() == pytest.approx([0.5, 0.5])


def _tiny_tfjs(folder: Path) -> Path:
    """A small TFJS graph with the ops of the mini-Xception model, random weights."""
    rng = np.random.default_rng(1)
    weights = {
        "w1": rng.normal(size=(3, 3, 1, 4)).astype(np.float32),
        "b1": rng.normal(size=4).astype(np.float32),
        "dw": rng.normal(size=(3, 3, 4, 1)).astype(np.float32),
        "w2": rng.normal(size=(1, 1, 4, 2)).astype(np.float32),
        "b2": rng.normal(size=2).astype(np.float32),
        "axes": np.array([1, 2], np.int32),
    }
    enc = {"BiasAdd": "Qmlhc0FkZA==", "Relu": "UmVsdQ==", "SAME": "U0FNRQ==", "VALID": "VkFMSUQ="}

    def conv(name: str, inputs: list[str], stride: int, padding: str, fused: list[str]) -> dict:
        return {
            "name": name, "op": "_FusedConv2D", "input": inputs,
            "attr": {"strides": {"list": {"i": ["1", str(stride), str(stride), "1"]}},
                     "padding": {"s": enc[padding]}, "fused_ops": {"list": {"s": [enc[f] for f in fused]}}},
        }  # fmt: skip

    nodes = [
        {"name": "x", "op": "Placeholder", "attr": {"shape": {"shape": {"dim": [{"size": "-1"}, {"size": "9"}, {"size": "9"}, {"size": "1"}]}}}},
        *({"name": name, "op": "Const"} for name in weights),
        conv("c1", ["x", "w1", "b1"], 2, "SAME", ["BiasAdd", "Relu"]),
        {"name": "d1", "op": "DepthwiseConv2dNative", "input": ["c1", "dw"],
         "attr": {"strides": {"list": {"i": ["1", "1", "1", "1"]}}, "padding": {"s": enc["SAME"]}}},
        {"name": "a1", "op": "AddV2", "input": ["d1", "c1"]},
        {"name": "p1", "op": "MaxPool", "input": ["a1"],
         "attr": {"ksize": {"list": {"i": ["1", "3", "3", "1"]}}, "strides": {"list": {"i": ["1", "2", "2", "1"]}},
                  "padding": {"s": enc["SAME"]}}},
        conv("c2", ["p1", "w2", "b2"], 1, "VALID", ["BiasAdd"]),
        {"name": "m", "op": "Mean", "input": ["c2", "axes"], "attr": {"keep_dims": {"b": False}}},
        {"name": "out", "op": "Softmax", "input": ["m"]},
    ]  # fmt: skip
    blob = b"".join(array.tobytes() for array in weights.values())
    (folder / "tiny.bin").write_bytes(blob)
    manifest = [{"paths": ["tiny.bin"], "weights": [
        {"name": name, "shape": list(array.shape), "dtype": "int32" if array.dtype == np.int32 else "float32"}
        for name, array in weights.items()
    ]}]  # fmt: skip
    model = folder / "tiny.json"
    model.write_text(json.dumps({"format": "graph-model", "modelTopology": {"node": nodes}, "weightsManifest": manifest}))
    return model


def test_converter_matches_numpy_reference(tmp_path: Path) -> None:
    import onnx
    import onnxruntime as ort

    graph = load_tfjs(_tiny_tfjs(tmp_path))
    model = to_onnx(graph, ["out"])
    path = tmp_path / "tiny.onnx"
    onnx.save(model, str(path))
    batch = np.random.default_rng(2).uniform(-1, 1, (3, 9, 9, 1)).astype(np.float32)
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"input": batch})[0]
    want = reference_forward(graph, ["out"], batch)[0]
    assert got.shape == (3, 2)
    np.testing.assert_allclose(got, want, atol=1e-5)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-5)
