from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from pipeline.face import Face
from pipeline.masks import (
    combined_mask,
    combined_swap_region,
    face_mask,
    mask_geometry,
    restrict_to_regions,
    swap_region,
)

SHAPE = (300, 400)


def _bbox_face(bbox: tuple[float, float, float, float] = (100.0, 80.0, 200.0, 210.0)) -> Face:
    x1, y1, x2, y2 = bbox
    w, h = x2 - x1, y2 - y1
    kps = (
        (x1 + 0.3 * w, y1 + 0.45 * h),
        (x1 + 0.7 * w, y1 + 0.45 * h),
        (x1 + 0.5 * w, y1 + 0.6 * h),
        (x1 + 0.35 * w, y1 + 0.78 * h),
        (x1 + 0.65 * w, y1 + 0.78 * h),
    )
    return Face(bbox=bbox, kps=kps, det_score=0.9)


def _area(mask: np.ndarray) -> int:
    return int(np.count_nonzero(mask))


def test_bbox_only_face_gets_an_ellipse_inside_its_box() -> None:
    face = _bbox_face()
    mask = face_mask(SHAPE, face)
    assert mask.shape == SHAPE and mask.dtype == np.uint8
    assert set(np.unique(mask)) == {0, 255}
    ys, xs = np.nonzero(mask)
    assert xs.min() >= 99 and xs.max() <= 201 and ys.min() >= 79 and ys.max() <= 211
    ellipse_area = np.pi * 50 * 65
    assert abs(_area(mask) - ellipse_area) / ellipse_area < 0.05
    for x, y in face.kps:
        assert mask[int(y), int(x)] == 255


def test_dense_landmark_mask_covers_the_face_and_the_forehead(
    classic_t1_faces: list[Face], t1_image: np.ndarray
) -> None:
    shape = t1_image.shape[:2]
    for face in classic_t1_faces:
        mask = face_mask(shape, face)
        landmarks = face.landmarks_array()
        assert landmarks is not None
        inside = [mask[int(round(y)), int(round(x))] == 255 for x, y in landmarks[17:68]]
        assert np.mean(inside) > 0.95  # brows, eyes, nose and mouth are inside
        brow_top = landmarks[17:27, 1].min()
        ys = np.nonzero(mask)[0]
        face_height = landmarks[8, 1] - brow_top
        assert brow_top - ys.min() > 0.1 * face_height  # the mask reaches above the brows


def test_swap_region_is_the_mask_grown_by_a_small_margin() -> None:
    face = _bbox_face()
    mask, region = face_mask(SHAPE, face), swap_region(SHAPE, face)
    assert set(np.unique(region)) == {0, 255}
    assert np.all(region[mask > 0] == 255)  # contains the face mask
    assert 1.05 < _area(region) / _area(mask) < 1.6  # grown, but only a little
    far = cv2.dilate(mask, np.ones((41, 41), np.uint8))
    assert not np.any(region[far == 0])  # nothing far from the face


def test_masks_of_faces_across_the_border_are_clipped() -> None:
    face = _bbox_face((-40.0, 250.0, 60.0, 380.0))
    mask, region = face_mask(SHAPE, face), swap_region(SHAPE, face)
    assert mask.shape == region.shape == SHAPE
    assert _area(mask) > 0 and mask[299, 0] == 255


def test_face_entirely_outside_the_image_gives_empty_masks() -> None:
    face = _bbox_face((500.0, 500.0, 600.0, 600.0))
    assert _area(face_mask(SHAPE, face)) == 0
    assert _area(swap_region(SHAPE, face)) == 0


def test_combined_mask_is_the_union() -> None:
    first, second = _bbox_face(), _bbox_face((250.0, 60.0, 330.0, 170.0))
    union = combined_mask(SHAPE, [first, second])
    assert np.array_equal(union, np.maximum(face_mask(SHAPE, first), face_mask(SHAPE, second)))
    assert np.array_equal(
        combined_swap_region(SHAPE, [first, second]),
        np.maximum(swap_region(SHAPE, first), swap_region(SHAPE, second)),
    )
    assert _area(combined_mask(SHAPE, [])) == 0


def test_mask_geometry_is_json_and_redraws_the_mask(
    classic_t1_faces: list[Face], t1_image: np.ndarray
) -> None:
    for face in [*classic_t1_faces, _bbox_face()]:
        geometry = json.loads(json.dumps(mask_geometry(face)))
        assert geometry["kind"] == "polygon" and len(geometry["points"]) >= 3
        assert geometry["swap_margin"] >= 1
        redrawn = np.zeros(t1_image.shape[:2], np.uint8)
        cv2.fillPoly(redrawn, [np.rint(np.array(geometry["points"])).astype(np.int32)], 255)
        original = face_mask(t1_image.shape[:2], face)
        overlap = _area(redrawn & original) / _area(redrawn | original)
        assert overlap > 0.97


@pytest.mark.parametrize("count", [1, 2])
def test_restrict_to_regions_keeps_everything_outside(count: int) -> None:
    faces = [_bbox_face(), _bbox_face((250.0, 60.0, 330.0, 170.0))][:count]
    original = np.zeros((*SHAPE, 3), np.uint8)
    edited = np.full((*SHAPE, 3), 200, np.uint8)
    result = restrict_to_regions(original, edited, faces)
    allowed = combined_swap_region(SHAPE, faces) > 0
    assert np.all(result[allowed] == 200)
    assert np.all(result[~allowed] == 0)
    assert np.all(original == 0)  # inputs untouched
