"""InsightFaceEngine on tiny ONNX models: insightface's routing, pre/post-processing and paste-back run for real."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import onnxruntime
import pytest
from insightface.app.common import Face as InsightFace
from insightface.model_zoo.arcface_onnx import ArcFaceONNX
from insightface.model_zoo.attribute import Attribute
from insightface.model_zoo.inswapper import INSwapper
from insightface.model_zoo.scrfd import SCRFD
from numpy.typing import NDArray

from pipeline.errors import ImageRejected, ModelUnavailable
from pipeline.face import Assignment, Face, Gender, SourceFace
from pipeline.insight.engine import INSIGHTFACE_GENDER, InsightFaceEngine
from pipeline.insight.forward import forward_swap
from pipeline.insight.models import DET_SIZE
from pipeline.insight.providers import CPU, CUDA, choose_providers, ctx_id_for, provider_label
from pipeline.masks import combined_swap_region, swap_region
from pipeline.model_download import ModelFile, ModelManifest
from tests.pipeline.insight_fixtures import TinyModels
from tests.pipeline.tiny_models import TINY_FACES, expected_boxes

Image = NDArray[np.uint8]


def _textured(height: int, width: int, seed: int = 0) -> Image:
    rng = np.random.default_rng(seed)
    return rng.integers(60, 196, size=(height, width, 3), dtype=np.uint8)


def _tinted(image: Image, box: tuple[float, float, float, float], rgb: tuple[int, int, int]) -> Image:
    """Shift the box towards a colour, keeping its texture (the tiny detector wants texture)."""
    out = image.copy()
    x1, y1, x2, y2 = (int(v) for v in box)
    region = out[y1:y2, x1:x2].astype(np.int16)
    out[y1:y2, x1:x2] = np.clip(region // 4 + np.array(rgb, dtype=np.int16) * 3 // 4, 0, 255).astype(np.uint8)
    return out


def _red_left_blue_right(height: int = 443, width: int = 640) -> Image:
    image = _textured(height, width)
    left, right = expected_boxes((height, width))
    return _tinted(_tinted(image, left, (230, 40, 40)), right, (40, 40, 230))


def test_model_files_are_routed_to_insightface_classes(insightface_engine: InsightFaceEngine) -> None:
    models = insightface_engine.models
    assert isinstance(models.detector, SCRFD)
    assert isinstance(models.genderage, Attribute) and models.genderage.taskname == "genderage"
    assert isinstance(models.recognizer, ArcFaceONNX)
    assert isinstance(models.swapper, INSwapper)
    # What insightface derived from the graphs: SCRFD layout from 9 outputs, mean/std from node names, emap.
    assert (models.detector.fmc, models.detector._num_anchors, models.detector.use_kps) == (3, 2, True)
    assert models.detector.input_sizes == [DET_SIZE]
    assert (models.genderage.input_mean, models.genderage.input_std) == (0.0, 1.0)
    assert (models.recognizer.input_mean, models.recognizer.input_std) == (127.5, 127.5)
    assert models.swapper.emap.shape == (512, 512)
    # warmup built the fixed-size 640x640 detector session
    assert DET_SIZE in models.detector.resolution_session_input_sizes


def test_detect_returns_the_faces_left_to_right_where_the_model_puts_them(
    insightface_engine: InsightFaceEngine,
) -> None:
    image = _textured(886, 1280)
    faces = insightface_engine.detect(image)
    assert len(faces) == len(TINY_FACES)
    assert [f.bbox[0] for f in faces] == sorted(f.bbox[0] for f in faces)
    for face, box, tiny in zip(faces, expected_boxes(image.shape[:2]), TINY_FACES, strict=True):
        assert face.bbox == pytest.approx(box, abs=0.5)
        assert face.det_score == pytest.approx(tiny.score, abs=0.01)
        assert len(face.kps) == 5
        x1, y1, x2, y2 = face.bbox
        assert all(x1 < x < x2 and y1 < y < y2 for x, y in face.kps)
        assert face.embedding is None  # only source faces need one


def test_a_flat_image_has_no_face(insightface_engine: InsightFaceEngine) -> None:
    assert insightface_engine.detect(np.full((300, 400, 3), 90, dtype=np.uint8)) == []


def test_gender_codes_are_translated_after_rgb_to_bgr(insightface_engine: InsightFaceEngine) -> None:
    image = _red_left_blue_right()
    left, right = insightface_engine.detect(image)
    assert (left.gender, right.gender) == (Gender.MALE, Gender.FEMALE)
    assert left.gender_score > 0.9 and right.gender_score > 0.9
    # The same pixels read as BGR swap red and blue, and so the genders.
    swapped_left, swapped_right = insightface_engine.detect(np.ascontiguousarray(image[:, :, ::-1]))
    assert (swapped_left.gender, swapped_right.gender) == (Gender.FEMALE, Gender.MALE)


def test_gender_and_age_agree_with_insightface_attribute_get(insightface_engine: InsightFaceEngine) -> None:
    image = _red_left_blue_right()
    bgr = np.ascontiguousarray(image[:, :, ::-1])
    attribute = insightface_engine.models.genderage
    for face in insightface_engine.detect(image):
        code, age = attribute.get(bgr, InsightFace(bbox=np.asarray(face.bbox, dtype=np.float32)))
        assert INSIGHTFACE_GENDER[int(code)] == face.gender
        assert face.age == age


def test_embed_gives_a_normed_512_vector_that_depends_on_the_face(insightface_engine: InsightFaceEngine) -> None:
    image = _red_left_blue_right()
    left, right = insightface_engine.detect(image)
    left_vec = np.asarray(insightface_engine.embed(SourceFace(left, image)).embedding)
    right_vec = np.asarray(insightface_engine.embed(SourceFace(right, image)).embedding)
    assert left_vec.shape == (512,) and np.linalg.norm(left_vec) == pytest.approx(1.0, abs=1e-5)
    assert float(left_vec @ right_vec) < 0.99


def test_swap_pastes_insightface_output_inside_the_region_only(insightface_engine: InsightFaceEngine) -> None:
    template = _textured(886, 1280, seed=1)
    targets = insightface_engine.detect(template)
    source_image = _red_left_blue_right()
    source = SourceFace(insightface_engine.detect(source_image)[1], source_image)
    target = targets[0]

    result = insightface_engine.swap(template, [Assignment(target=target, source=source)])

    assert result.shape == template.shape and result.dtype == np.uint8
    region = swap_region(template.shape[:2], target) > 0
    changed = np.any(result != template, axis=2)
    assert not changed[~region].any()
    assert changed[region].mean() > 0.5
    # Deep inside the region the pixels are exactly INSwapper.get's paste-back.
    models = insightface_engine.models
    reference = models.swapper.get(
        np.ascontiguousarray(template[:, :, ::-1]),
        InsightFace(bbox=np.asarray(target.bbox, dtype=np.float32), kps=target.kps_array()),
        InsightFace(embedding=np.asarray(insightface_engine.embed(source).embedding, dtype=np.float32)),
        paste_back=True,
    )[:, :, ::-1]
    cx, cy = (int(v) for v in target.kps[2])
    core = (slice(cy - 10, cy + 10), slice(cx - 10, cx + 10))
    assert np.abs(result[core].astype(int) - reference[core].astype(int)).max() <= 1


def test_swap_of_two_faces_stays_inside_their_regions(insightface_engine: InsightFaceEngine) -> None:
    template = _textured(600, 800, seed=2)
    targets = insightface_engine.detect(template)
    source_image = _red_left_blue_right()
    husband, wife = insightface_engine.detect(source_image)
    assignments = [
        Assignment(target=targets[0], source=SourceFace(husband, source_image)),
        Assignment(target=targets[1], source=SourceFace(wife, source_image)),
    ]
    result = insightface_engine.swap(template, assignments)
    allowed = combined_swap_region(template.shape[:2], targets) > 0
    changed = np.any(result != template, axis=2)
    assert not changed[~allowed].any()
    for target in targets:
        assert changed[swap_region(template.shape[:2], target) > 0].mean() > 0.5


def test_swap_uses_a_stored_embedding_like_a_computed_one(insightface_engine: InsightFaceEngine) -> None:
    template = _textured(443, 640, seed=3)
    target = insightface_engine.detect(template)[0]
    source_image = _red_left_blue_right()
    plain = SourceFace(insightface_engine.detect(source_image)[0], source_image)
    embedded = SourceFace(insightface_engine.embed(plain), source_image)
    first = insightface_engine.swap(template, [Assignment(target=target, source=plain)])
    second = insightface_engine.swap(template, [Assignment(target=target, source=embedded)])
    assert np.array_equal(first, second)


def test_swap_without_assignments_is_an_identical_copy(insightface_engine: InsightFaceEngine) -> None:
    image = _textured(100, 120)
    result = insightface_engine.swap(image, [])
    assert np.array_equal(result, image) and result is not image


def test_images_that_are_not_rgb_uint8_are_rejected(insightface_engine: InsightFaceEngine) -> None:
    with pytest.raises(ImageRejected):
        insightface_engine.detect(np.zeros((50, 50), dtype=np.uint8))
    with pytest.raises(ImageRejected):
        insightface_engine.detect(np.zeros((50, 50, 3), dtype=np.float32))


def test_provider_choice_prefers_cuda_and_keeps_cpu() -> None:
    assert choose_providers(["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]) == [
        CUDA,
        CPU,
    ]
    assert choose_providers(["AzureExecutionProvider", "CPUExecutionProvider"]) == [CPU]
    assert choose_providers([]) == [CPU]
    assert ctx_id_for([CUDA, CPU]) == 0 and ctx_id_for([CPU]) == -1
    assert provider_label(CUDA) == "CUDA" and provider_label(CPU) == "CPU"


def test_provider_reports_what_the_session_uses(insightface_engine: InsightFaceEngine) -> None:
    provider = insightface_engine.provider
    assert provider == insightface_engine.models.detector.session.get_providers()[0]
    assert provider in onnxruntime.get_available_providers()
    assert provider == choose_providers(onnxruntime.get_available_providers())[0]


def _copy_models(tiny_models: TinyModels, tmp_path: Path) -> Path:
    directory = tmp_path / "models"
    shutil.copytree(tiny_models.directory, directory)
    return directory


def test_a_truncated_file_is_refused_before_onnxruntime_loads_it(tiny_models: TinyModels, tmp_path: Path) -> None:
    directory = _copy_models(tiny_models, tmp_path)
    detector = directory / "det_10g.onnx"
    detector.write_bytes(detector.read_bytes()[:1000])
    engine = InsightFaceEngine(directory, manifest=tiny_models.manifest)
    with pytest.raises(ModelUnavailable, match=r"det_10g\.onnx: wrong size \(1000 bytes") as caught:
        engine.warmup()
    assert "could not be loaded" not in str(caught.value)  # onnxruntime never saw the file
    assert "python app.py models download" in str(caught.value)


def test_a_file_with_another_checksum_is_refused(tiny_models: TinyModels, tmp_path: Path) -> None:
    directory = _copy_models(tiny_models, tmp_path)
    swapper = directory / "inswapper_128.onnx"
    data = bytearray(swapper.read_bytes())
    data[-1] ^= 0xFF  # same size, last emap byte flipped: still loadable, but not the pinned file
    swapper.write_bytes(bytes(data))
    with pytest.raises(ModelUnavailable, match=r"inswapper_128\.onnx: checksum mismatch"):
        InsightFaceEngine(directory, manifest=tiny_models.manifest).detect(np.zeros((8, 8, 3), dtype=np.uint8))


def test_a_model_routed_to_the_wrong_class_is_refused(tiny_models: TinyModels, tmp_path: Path) -> None:
    directory = _copy_models(tiny_models, tmp_path)
    genderage_bytes = (directory / "genderage.onnx").read_bytes()
    (directory / "det_10g.onnx").write_bytes(genderage_bytes)
    manifest = ModelManifest(
        files=tuple(
            ModelFile(role=f.role, name=f.name, sha256=genderage.sha256, size=genderage.size, source=f.source)
            if f.role == "detector"
            else f
            for f in tiny_models.manifest.files
            for genderage in [tiny_models.manifest.for_role("genderage")]
        )
    )
    with pytest.raises(ModelUnavailable, match="routed it to Attribute, expected SCRFD"):
        InsightFaceEngine(directory, manifest=manifest).warmup()


def test_faces_from_the_engine_round_trip_through_json(insightface_engine: InsightFaceEngine) -> None:
    face = insightface_engine.detect(_red_left_blue_right())[0]
    again = Face.from_dict(face.to_dict())
    assert again.gender == face.gender and again.bbox == pytest.approx(face.bbox, abs=0.01)


def test_loading_and_warmup_print_nothing_on_stdout(tiny_models: TinyModels, capfd: pytest.CaptureFixture[str]) -> None:
    """`--json` output goes to stdout; insightface's INSwapper prints its input shape while loading."""
    InsightFaceEngine(tiny_models.directory, manifest=tiny_models.manifest).warmup()
    assert capfd.readouterr().out == ""


def test_windowed_paste_back_matches_insightface_on_the_whole_image(insightface_engine: InsightFaceEngine) -> None:
    template = np.ascontiguousarray(_textured(886, 1280, seed=4)[:, :, ::-1])
    models = insightface_engine.models
    source_image = _red_left_blue_right()
    embedding = np.asarray(
        insightface_engine.embed(SourceFace(insightface_engine.detect(source_image)[0], source_image)).embedding,
        dtype=np.float32,
    )
    for target in insightface_engine.detect(np.ascontiguousarray(template[:, :, ::-1])):
        bbox, kps = np.asarray(target.bbox, dtype=np.float32), target.kps_array()
        whole = models.swapper.get(
            template, InsightFace(bbox=bbox, kps=kps), InsightFace(embedding=embedding), paste_back=True
        )
        windowed = forward_swap(models.swapper, template, bbox, kps, embedding)
        difference = np.abs(windowed.astype(np.int16) - whole.astype(np.int16)).max(axis=2)
        assert np.any(whole != template)
        assert difference.max() <= 2  # bilinear warps round a few pixels differently after a shift
        assert np.count_nonzero(difference) < 0.002 * difference.size
