"""The composite stage (pipeline.classic.composite): the blend stays inside the face and behind what is kept."""

from __future__ import annotations

import cv2
import numpy as np

from pipeline.classic.composite import composite, feather
from pipeline.classic.regions import Regions
from pipeline.classic.settings import CompositeSettings


def _scene(size: int = 200) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    target = np.full((size, size, 3), 90, np.uint8)
    toned = np.full((size, size, 3), 200.0, np.float32)
    face = np.zeros((size, size), np.uint8)
    cv2.circle(face, (size // 2, size // 2), size // 3, 255, -1)
    return target, toned, face


def test_feather_is_one_deep_inside_and_zero_outside() -> None:
    for size in (150, 600):
        mask = np.zeros((size, size), np.uint8)
        cv2.circle(mask, (size // 2, size // 2), size // 3, 255, -1)
        alpha = feather(mask, 0.07 * size)
        assert alpha.dtype == np.float32 and alpha.shape == mask.shape
        assert float(alpha[mask == 0].max()) == 0.0
        assert float(alpha[size // 2, size // 2]) > 0.99
        assert 0.0 < float(alpha[size // 2, size // 2 + size // 3 - 2]) < 0.5


def test_nothing_changes_outside_the_face_or_where_the_target_is_kept() -> None:
    target, toned, face = _scene()
    kept = np.zeros(face.shape, np.float32)
    kept[:, :100] = 1.0  # the left half stays the target's (a hand, hair)
    before = target.copy()
    composite(target, toned, Regions(face=face, mouth=None, kept=kept), 130.0, 1.0, CompositeSettings())
    assert np.array_equal(target[face == 0], before[face == 0])
    assert np.array_equal(target[:, :100], before[:, :100])
    assert int(target[100, 140, 0]) == 200  # deep inside the face, on the swapped side: the toned source


def test_a_kept_mouth_stays_the_target_s() -> None:
    target, toned, face = _scene()
    mouth = np.zeros(face.shape, np.float32)
    mouth[120:130, 90:110] = 1.0
    composite(target, toned, Regions(face=face, mouth=mouth, kept=np.zeros(face.shape, np.float32)), 130.0, 1.0, CompositeSettings())
    assert int(target[125, 100, 0]) == 90 and int(target[100, 100, 0]) == 200


def test_the_face_region_on_a_coarser_grid_is_upsampled_to_the_box() -> None:
    target, toned, _ = _scene(400)
    small = np.zeros((100, 100), np.uint8)
    cv2.circle(small, (50, 50), 33, 255, -1)
    composite(target, toned, Regions(face=small, mouth=None, kept=np.zeros((400, 400), np.float32)), 260.0, 0.25, CompositeSettings())
    assert int(target[200, 200, 0]) == 200 and int(target[5, 5, 0]) == 90


def test_a_half_kept_pixel_is_the_rounded_mean_of_the_two() -> None:
    target, toned, face = _scene()
    toned += 1.4  # 201.4 over 90: the mean 145.7 rounds to 146
    composite(target, toned, Regions(face=face, mouth=None, kept=np.full(face.shape, 0.5, np.float32)), 130.0, 1.0, CompositeSettings())
    assert target[100, 100].tolist() == [146, 146, 146] and int(target[2, 2, 0]) == 90
