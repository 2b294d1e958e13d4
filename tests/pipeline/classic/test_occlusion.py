"""The occlusion mask (pipeline.classic.occlusion) on real photos."""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from pipeline.classic import ClassicEngine
from pipeline.classic.occlusion import _trusted_skin, face_parts_68, occlusion_mask
from tests.pipeline.tone_helpers import face_crop

RGB = NDArray[np.uint8]


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


def test_an_object_over_a_cheek_is_found_by_the_robust_model(
    classic_engine: ClassicEngine, astronaut_image: RGB
) -> None:
    # A dark blue phone over the left cheek covers a good share of the cheek samples, where the skin
    # model is fitted; it does not reach the oval's edge, and is found by its size alone.
    face = classic_engine.detect(astronaut_image)[0]
    crop, points = face_crop(astronaut_image, face)
    oval, cheeks, exempt = _parts(crop, points)
    phone = np.zeros(crop.shape[:2], np.uint8)
    width = float(np.ptp(points[:17, 0]))
    centre = points[[15, 14, 13, 35, 47]].mean(axis=0)  # the left cheek, where the skin is sampled
    box = cv2.boxPoints(((float(centre[0]), float(centre[1])), (0.25 * width, 0.45 * width), 15.0))
    cv2.fillConvexPoly(phone, np.round(box).astype(np.int32), 255)
    occluded = crop.copy()
    occluded[phone > 0] = (28, 36, 92)
    on_phone = (phone > 0) & (oval > 0.5) & (exempt < 0.5)
    assert float((cheeks > 0.5)[phone > 0].sum()) > 0.3 * float((cheeks > 0.5).sum())  # the case this is about

    robust = occlusion_mask(occluded, oval, cheeks, exempt, large_share=0.04, reaching_edge=False, robust=True)

    assert float(robust[on_phone].mean()) > 0.8
    assert float(robust[(oval > 0.5) & (phone == 0) & (exempt < 0.5)].mean()) < 0.05
    clean = occlusion_mask(crop, oval, cheeks, exempt, large_share=0.04, reaching_edge=False, robust=True)
    assert float(clean[oval > 0.5].mean()) < 0.02


def test_trusted_skin_drops_the_samples_that_are_not_skin() -> None:
    rng = np.random.default_rng(0)
    skin = np.column_stack([rng.normal(60, 4, 600), rng.normal(14, 1.5, 600), rng.normal(18, 1.5, 600)])
    phone = np.column_stack([rng.normal(17, 1, 400), rng.normal(17, 1, 400), rng.normal(-34, 1, 400)])
    samples = np.vstack([skin, phone]).astype(np.float32)
    trusted = _trusted_skin(samples)
    assert 500 <= len(trusted) <= 600 and float(trusted[:, 2].min()) > 5.0  # every phone sample is gone
    assert len(_trusted_skin(skin.astype(np.float32))) > 570  # clean skin loses (almost) nothing
