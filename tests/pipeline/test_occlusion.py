"""Occlusion mask, glasses detection and frame removal (pipeline.classic.occlusion) on real photos."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from pipeline.classic import ClassicEngine
from pipeline.classic.glasses import (
    eye_geometry,
    frame_mask,
    glasses_keep_mask,
    glasses_score,
    has_glasses,
    remove_frames,
)
from pipeline.classic.occlusion import face_parts_68, occlusion_mask
from pipeline.face import Assignment, Face, SourceFace
from tests.pipeline.tone_helpers import dim, face_crop, grace_hopper_path, read_rgb

RGB = NDArray[np.uint8]


@pytest.fixture(scope="module")
def grace(classic_engine: ClassicEngine) -> tuple[RGB, Face]:
    image = read_rgb(grace_hopper_path())
    faces = classic_engine.detect(image)
    assert len(faces) == 1
    return image, faces[0]


def _parts(crop: RGB, points: NDArray[np.float32]) -> tuple[NDArray[np.float32], ...]:
    parts = face_parts_68(crop.shape[:2], points)
    return parts.oval, parts.cheeks, parts.exempt


def test_clean_faces_keep_almost_nothing(
    classic_engine: ClassicEngine, astronaut_image: RGB, t1_image: RGB, tom_hanks_image: RGB
) -> None:
    # t1's faces have hair over a temple or the jaw in shadow, the astronaut a strand of hair at the
    # forehead's edge, Tom Hanks half his face in deep shadow (which is skin, not an occluder).
    faces = [(astronaut_image, f, 0.06) for f in classic_engine.detect(astronaut_image)]
    faces += [(tom_hanks_image, f, 0.05) for f in classic_engine.detect(tom_hanks_image)]
    faces += [(t1_image, f, 0.12) for f in classic_engine.detect(t1_image)]
    for image, face, limit in faces:
        crop, points = face_crop(image, face)
        oval, cheeks, exempt = _parts(crop, points)
        keep = occlusion_mask(crop, oval, cheeks, exempt)
        assert keep.dtype == np.float32 and keep.shape == oval.shape
        assert float(keep[oval > 0.5].mean()) < limit
        assert float(keep[exempt > 0.5].max(initial=0.0)) < 0.5


def test_a_hair_fringe_and_a_hand_are_kept(classic_engine: ClassicEngine, astronaut_image: RGB) -> None:
    face = classic_engine.detect(astronaut_image)[0]
    crop, points = face_crop(astronaut_image, face)
    oval, cheeks, exempt = _parts(crop, points)
    occluded = crop.copy()
    top = int(np.nonzero(oval.max(axis=1) > 0.5)[0][0])
    brows = int(points[17:27, 1].min())
    fringe = np.zeros(crop.shape[:2], np.uint8)
    fringe[top : top + (brows - top) * 2 // 3, :] = 255
    fringe &= (oval > 0.5).astype(np.uint8) * 255
    occluded[fringe > 0] = (60, 40, 30)  # dark brown hair
    hand = np.zeros(crop.shape[:2], np.uint8)
    cv2.circle(hand, (int(points[4, 0]), int(points[4, 1])), int(0.15 * np.ptp(points[:, 0])), 255, -1)
    occluded[hand > 0] = (90, 110, 170)  # a blue glove over the left jaw

    keep = occlusion_mask(occluded, oval, cheeks, exempt)

    inside = oval > 0.5
    assert float(keep[(fringe > 0) & inside & (exempt < 0.5)].mean()) > 0.7
    assert float(keep[(hand > 0) & inside & (cheeks < 0.5)].mean()) > 0.6
    assert float(keep[(cheeks > 0.5) & (hand == 0)].mean()) < 0.05


def test_small_dark_spots_inside_the_face_are_not_occluders(
    classic_engine: ClassicEngine, astronaut_image: RGB
) -> None:
    face = classic_engine.detect(astronaut_image)[0]
    crop, points = face_crop(astronaut_image, face)
    oval, cheeks, exempt = _parts(crop, points)
    spotted = crop.copy()
    centre = points[29].astype(int)
    cv2.circle(spotted, (int(centre[0]) - 6, int(centre[1])), 3, (20, 15, 15), -1)  # a mole on the nose
    keep = occlusion_mask(spotted, oval, cheeks, exempt)
    assert float(keep[centre[1] - 4 : centre[1] + 4, centre[0] - 10 : centre[0] - 2].max()) < 0.3


def test_glasses_are_found_on_grace_hopper_only(
    classic_engine: ClassicEngine, grace: tuple[RGB, Face], astronaut_image: RGB, t1_image: RGB,
    tom_hanks_image: RGB,
) -> None:
    image, face = grace
    points = face.landmarks_array()
    assert points is not None
    assert has_glasses(image, points)
    assert has_glasses(image, face.kps_array())  # 5 key points are enough
    assert has_glasses(dim(image), points)
    small = cv2.resize(image, None, fx=0.4, fy=0.4, interpolation=cv2.INTER_AREA)
    assert has_glasses(small, points * 0.4)
    mirrored = np.ascontiguousarray(image[:, ::-1])
    kps = face.kps_array()
    mirrored_kps = kps[[1, 0, 2, 4, 3]] * np.array([-1, 1], np.float32) + np.array([image.shape[1] - 1, 0])
    assert has_glasses(mirrored, mirrored_kps.astype(np.float32))

    for other in (astronaut_image, t1_image, tom_hanks_image):
        for other_face in classic_engine.detect(other):
            other_points = other_face.landmarks_array()
            assert other_points is not None
            assert glasses_score(other, other_points) < 0.45
            assert not has_glasses(other, other_face.kps_array())


def test_eye_geometry_takes_a_mesh_and_refuses_other_counts() -> None:
    mesh = np.zeros((478, 3), np.float32)
    mesh[[33, 133, 362, 263], 0] = [10, 30, 50, 70]
    geometry = eye_geometry(mesh)
    assert geometry.right_inner[0] == 30 and geometry.left_inner[0] == 50
    with pytest.raises(ValueError):
        eye_geometry(np.zeros((10, 2), np.float32))


def test_frames_are_inpainted_out_of_the_source(grace: tuple[RGB, Face]) -> None:
    image, face = grace
    points = face.landmarks_array()
    assert points is not None
    frames = frame_mask(image, points) > 0.5
    geometry = eye_geometry(points)
    assert 0.01 < frames.mean() < 0.1
    cleaned = remove_frames(image, points)
    before = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    after = cv2.cvtColor(cleaned, cv2.COLOR_RGB2GRAY).astype(np.float32)
    assert after[frames].mean() > before[frames].mean() + 15.0  # the dark frame lines got lighter
    assert np.array_equal(cleaned[~frames], image[~frames])
    assert glasses_score(cleaned, points) < glasses_score(image, points)
    centre = ((geometry.right_outer + geometry.right_inner) / 2.0).astype(int)
    assert not frames[centre[1], centre[0]]  # the eye itself is never treated as frame


def test_a_source_with_glasses_leaves_no_frame_on_the_result(
    classic_engine: ClassicEngine, grace: tuple[RGB, Face], astronaut_image: RGB
) -> None:
    image, face = grace
    target = classic_engine.detect(astronaut_image)[0]
    result = classic_engine.swap(astronaut_image, [Assignment(target=target, source=SourceFace(face, image))])
    points = target.landmarks_array()
    assert points is not None
    assert not np.array_equal(result, astronaut_image)
    assert not has_glasses(result, points)


def test_a_target_with_glasses_keeps_its_whole_frames(
    classic_engine: ClassicEngine, grace: tuple[RGB, Face], astronaut_image: RGB
) -> None:
    image, face = grace
    points = face.landmarks_array()
    assert points is not None
    source = classic_engine.detect(astronaut_image)[0]
    result = classic_engine.swap(image, [Assignment(target=face, source=SourceFace(source, astronaut_image))])
    assert has_glasses(result, points)
    frames = glasses_keep_mask(image, points) > 0.5
    assert frames.any()
    changed = np.abs(result.astype(np.int16) - image.astype(np.int16)).max(axis=-1) > 12
    assert float(changed[frames].mean()) < 0.2  # the frame pixels stay the template's
    assert float(changed[face_parts_68(image.shape[:2], points).cheeks > 0.5].mean()) > 0.3  # the face did change


def test_no_glasses_no_keep_mask(classic_engine: ClassicEngine, astronaut_image: RGB) -> None:
    face = classic_engine.detect(astronaut_image)[0]
    points = face.landmarks_array()
    assert points is not None
    assert not glasses_keep_mask(astronaut_image, points).any()
