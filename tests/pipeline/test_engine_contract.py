"""What holds for ANY FaceEngine, whatever its models' quality. Uses only the `face_engine` fixture."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.face import Assignment, Face, FaceEngine, Gender, SourceFace, order_left_to_right
from pipeline.masks import combined_swap_region

# Hand-measured faces, used when an engine (e.g. one on tiny test models) finds none.
T1_ROSS = Face(
    bbox=(452.0, 275.0, 578.0, 425.0),
    kps=((491.0, 321.0), (540.0, 334.0), (509.0, 365.0), (481.0, 368.0), (531.0, 380.0)),
    det_score=0.9,
)
T1_PHOEBE = Face(
    bbox=(1114.0, 280.0, 1231.0, 401.0),
    kps=((1149.0, 328.0), (1192.0, 325.0), (1164.0, 348.0), (1153.0, 367.0), (1197.0, 364.0)),
    det_score=0.9,
)
ASTRONAUT = Face(
    bbox=(179.0, 63.0, 272.0, 178.0),
    kps=((203.0, 102.0), (247.0, 104.0), (225.0, 127.0), (201.0, 140.0), (245.0, 141.0)),
    det_score=0.9,
)


def _check_faces(faces: list[Face], image: np.ndarray) -> None:
    assert isinstance(faces, list)
    assert all(isinstance(face, Face) for face in faces)
    assert faces == order_left_to_right(faces)
    height, width = image.shape[:2]
    for face in faces:
        x1, y1, x2, y2 = face.bbox
        assert x1 < x2 and y1 < y2
        assert -width * 0.1 <= x1 and x2 <= width * 1.1 and -height * 0.1 <= y1 and y2 <= height * 1.1
        assert len(face.kps) == 5
        assert isinstance(face.gender, Gender)
        assert 0.0 <= face.det_score <= 1.0
        assert 0.0 <= face.gender_score <= 1.0


def _targets(engine: FaceEngine, image: np.ndarray) -> list[Face]:
    faces = engine.detect(image)
    return faces[:2] if faces else [T1_ROSS, T1_PHOEBE]


def _source(engine: FaceEngine, image: np.ndarray) -> SourceFace:
    faces = engine.detect(image)
    face = max(faces, key=lambda f: f.prominence) if faces else ASTRONAUT
    return SourceFace(face=face, image=image)


def test_identity(face_engine: FaceEngine) -> None:
    assert face_engine.name in ("classic", "insightface")
    assert isinstance(face_engine.provider, str) and face_engine.provider


def test_detect_returns_ordered_faces_with_scores_in_range(
    face_engine: FaceEngine, t1_image: np.ndarray, astronaut_image: np.ndarray
) -> None:
    for image in (t1_image, astronaut_image):
        _check_faces(face_engine.detect(image), image)


def test_detect_is_deterministic(face_engine: FaceEngine, t1_image: np.ndarray) -> None:
    assert face_engine.detect(t1_image) == face_engine.detect(t1_image)


def test_detect_accepts_small_and_odd_sized_images(face_engine: FaceEngine) -> None:
    rng = np.random.default_rng(1)
    for shape in ((17, 23, 3), (64, 64, 3), (333, 101, 3)):
        image = rng.integers(0, 256, shape, dtype=np.uint8)
        _check_faces(face_engine.detect(image), image)


def test_swap_keeps_shape_and_changes_nothing_outside_the_swap_regions(
    face_engine: FaceEngine, t1_image: np.ndarray, astronaut_image: np.ndarray
) -> None:
    targets = _targets(face_engine, t1_image)
    source = _source(face_engine, astronaut_image)
    result = face_engine.swap(t1_image, [Assignment(target, source) for target in targets])
    assert result.shape == t1_image.shape and result.dtype == np.uint8
    allowed = combined_swap_region(t1_image.shape[:2], targets) > 0
    changed = np.any(result != t1_image, axis=2)
    assert not np.any(changed & ~allowed)


def test_swap_with_hand_built_faces(
    face_engine: FaceEngine, t1_image: np.ndarray, astronaut_image: np.ndarray
) -> None:
    source = SourceFace(face=ASTRONAUT, image=astronaut_image)
    result = face_engine.swap(t1_image, [Assignment(T1_ROSS, source)])
    assert result.shape == t1_image.shape and result.dtype == np.uint8
    allowed = combined_swap_region(t1_image.shape[:2], [T1_ROSS]) > 0
    assert not np.any(np.any(result != t1_image, axis=2) & ~allowed)


def test_swap_with_no_assignment_returns_an_identical_image(
    face_engine: FaceEngine, t1_image: np.ndarray
) -> None:
    result = face_engine.swap(t1_image, [])
    assert result.shape == t1_image.shape and result.dtype == np.uint8
    assert np.array_equal(result, t1_image)


def test_swap_does_not_modify_its_input(
    face_engine: FaceEngine, t1_image: np.ndarray, astronaut_image: np.ndarray
) -> None:
    image = t1_image.copy()
    face_engine.swap(image, [Assignment(T1_ROSS, SourceFace(face=ASTRONAUT, image=astronaut_image))])
    assert np.array_equal(image, t1_image)


@pytest.mark.parametrize("warmups", [2])
def test_warmup_is_repeatable(face_engine: FaceEngine, warmups: int) -> None:
    for _ in range(warmups):
        face_engine.warmup()


def test_forgetting_sources_changes_no_result(
    face_engine: FaceEngine, t1_image: np.ndarray, astronaut_image: np.ndarray
) -> None:
    assignments = [Assignment(T1_ROSS, _source(face_engine, astronaut_image))]
    before = face_engine.swap(t1_image, assignments)
    face_engine.forget_sources()
    assert np.array_equal(face_engine.swap(t1_image, assignments), before)
