"""The classic engine's gender classifier, its committed model files and the TFJS -> ONNX converters."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from pipeline.classic import ClassicEngine
from pipeline.classic.gender import (
    CHANNEL_MEANS,
    FACEAPI_SCALE,
    FACEAPI_SIZE,
    GenderAgeClassifier,
    _faceapi_crop,
    combine,
)
from pipeline.classic.models import (
    GENDER_FACEAPI_SHA256,
    GENDER_XCEPTION_SHA256,
    classic_model_files,
    ensure_present,
)
from pipeline.errors import ModelUnavailable
from pipeline.face import Face
from pipeline.samples import T1_GENDERS_LEFT_TO_RIGHT
from tools.convert_faceapi_gender import OUTPUT, build_graph, load_weights, store_as_codebooks
from tools.convert_tfjs_gender import ConversionError, load_tfjs, reference_forward, to_onnx


def test_classic_engine_gets_t1_six_of_six(classic_t1_faces: list[Face]) -> None:
    assert tuple(face.gender for face in classic_t1_faces) == T1_GENDERS_LEFT_TO_RIGHT


def test_engine_genders_sources(classic_engine: ClassicEngine, tom_hanks_image, astronaut_image) -> None:
    assert [face.gender.value for face in classic_engine.detect(tom_hanks_image)] == ["male"]
    assert [face.gender.value for face in classic_engine.detect(astronaut_image)][:1] == ["female"]


@pytest.mark.parametrize(
    ("field", "pinned"),
    [("gender_xception_onnx", GENDER_XCEPTION_SHA256), ("gender_faceapi_onnx", GENDER_FACEAPI_SHA256)],
)
def test_committed_models_are_pinned(tmp_path: Path, field: str, pinned: str) -> None:
    files = classic_model_files()
    path: Path = getattr(files, field)
    data = path.read_bytes()
    assert len(data) < 1_000_000
    assert hashlib.sha256(data).hexdigest() == pinned
    empty = tmp_path / path.name
    empty.write_bytes(b"")
    with pytest.raises(ModelUnavailable):
        ensure_present(dataclasses.replace(files, **{field: empty}))


def test_faceapi_network_needs_the_xception_one() -> None:
    files = classic_model_files()
    with pytest.raises(ValueError):
        GenderAgeClassifier(files.gender_onnx, files.age_onnx, None, files.gender_faceapi_onnx)


def test_faceapi_crop_clips_and_pads_to_a_black_square() -> None:
    image = np.full((100, 200, 3), 200, np.uint8)
    crop = _faceapi_crop(image, (150.0, 20.0, 250.0, 80.0))  # 50 x 60 px inside the photo
    assert crop.shape == (FACEAPI_SIZE, FACEAPI_SIZE, 3)
    black, grey = -CHANNEL_MEANS / FACEAPI_SCALE, (200.0 - CHANNEL_MEANS) / FACEAPI_SCALE
    np.testing.assert_allclose(crop[56, 2], black, atol=1e-5)  # left pad (5 of 60 px)
    np.testing.assert_allclose(crop[56, -3], black, atol=1e-5)  # right pad
    np.testing.assert_allclose(crop[2, 56], grey, atol=1e-5)  # no pad above or below
    np.testing.assert_allclose(crop[56, 56], grey, atol=1e-5)


def test_combine_sums_clipped_log_odds() -> None:
    sure_male = np.array([[0.0, 1.0]], np.float32)
    sure_female = np.array([[1.0, 0.0]], np.float32)
    # The mini-Xception network outweighs the CC0 one when both are certain.
    assert combine(sure_male, sure_female)[0, 1] > 0.8
    assert combine(sure_female, sure_male)[0, 1] < 0.2
    even = np.array([[0.5, 0.5]], np.float32)
    assert combine(even, even)[0].tolist() == pytest.approx([0.5, 0.5])
    # The face-api network counts as much as the mini-Xception one.
    assert combine(sure_male, even, sure_female)[0].tolist() == pytest.approx([0.5, 0.5])
    assert combine(even, even, sure_female)[0, 1] < 0.1


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


def _faceapi_weights(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Random weights named and shaped as @vladmandic/face-api's age_gender_model, on 256-level grids."""
    shapes: dict[str, tuple[int, ...]] = {
        "entry_flow/conv_in/filters": (3, 3, 3, 32),
        "entry_flow/conv_in/bias": (32,),
    }

    def separable(prefix: str, cin: int, cout: int) -> None:
        shapes.update({f"{prefix}/depthwise_filter": (3, 3, cin, 1), f"{prefix}/pointwise_filter": (1, 1, cin, cout),
                       f"{prefix}/bias": (cout,)})  # fmt: skip

    def reduction(prefix: str, cin: int, cout: int) -> None:
        separable(f"{prefix}/separable_conv0", cin, cout)
        separable(f"{prefix}/separable_conv1", cout, cout)
        shapes[f"{prefix}/expansion_conv/filters"] = (1, 1, cin, cout)
        shapes[f"{prefix}/expansion_conv/bias"] = (cout,)

    reduction("entry_flow/reduction_block_0", 32, 64)
    reduction("entry_flow/reduction_block_1", 64, 128)
    for block in range(2):
        for conv in range(3):
            separable(f"middle_flow/main_block_{block}/separable_conv{conv}", 128, 128)
    reduction("exit_flow/reduction_block", 128, 256)
    separable("exit_flow/separable_conv", 256, 512)
    shapes.update({"fc/age/weights": (512, 1), "fc/age/bias": (1,)})
    shapes.update({"fc/gender/weights": (512, 2), "fc/gender/bias": (2,)})
    weights = {}
    for name, shape in shapes.items():
        fan_in = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
        grid = rng.integers(0, 256, shape).astype(np.float32) / 255.0 - 0.5
        weights[name] = (grid * (2.0 / np.sqrt(fan_in))).astype(np.float32)
    return weights


def test_faceapi_converter_matches_numpy_reference(tmp_path: Path) -> None:
    import onnx
    import onnxruntime as ort

    weights = _faceapi_weights(np.random.default_rng(3))
    graph = build_graph(weights)
    plain = to_onnx(graph, ["fc/gender", OUTPUT])
    compact = store_as_codebooks(to_onnx(graph, ["fc/gender", OUTPUT]))
    assert compact.ByteSize() < plain.ByteSize() / 3
    path = tmp_path / "faceapi.onnx"
    onnx.save(compact, str(path))
    batch = np.random.default_rng(4).uniform(-0.5, 0.5, (2, 112, 112, 3)).astype(np.float32)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    logits, probabilities = session.run(None, {"input": batch})
    want_logits, want_probabilities = reference_forward(graph, ["fc/gender", OUTPUT], batch)
    np.testing.assert_allclose(logits, want_logits, atol=1e-4)
    np.testing.assert_allclose(probabilities, want_probabilities, atol=1e-5)
    # The package's column 0 is male; the converted network puts it last, as (female, male).
    features = reference_forward(graph, ["pool"], batch)[0]
    package_logits = features @ weights["fc/gender/weights"] + weights["fc/gender/bias"]
    np.testing.assert_allclose(logits, package_logits[:, ::-1], atol=1e-4)


def test_faceapi_converter_refuses_unpinned_files(tmp_path: Path) -> None:
    (tmp_path / "age_gender_model-weights_manifest.json").write_text("[]")
    (tmp_path / "age_gender_model.bin").write_bytes(b"")
    with pytest.raises(ConversionError):
        load_weights(tmp_path)
