"""Sunglasses on a source are an occluder (pipeline.classic.regions.sunglasses): the target's own eyes show,
and no grey veil of lenses is pasted; bare eyes and clear glasses are never taken for sunglasses."""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from pipeline.classic import ClassicEngine
from pipeline.classic.regions import sunglasses
from pipeline.classic.settings import ClassicSettings, RegionSettings
from pipeline.classic.source import prepare_source
from pipeline.face import Assignment, SourceFace
from app.bench.sample_portraits import load_portrait

RGB = NDArray[np.uint8]


def _with_sunglasses(image: RGB, points: NDArray[np.float32]) -> RGB:
    """Brown-tinted lenses (85 % opaque) in black frames, a bridge and arms, over dlib's eye points."""
    right, left = points[36:42].mean(axis=0), points[42:48].mean(axis=0)
    distance = float(np.hypot(*(left - right)))
    lenses = np.zeros(image.shape[:2], np.uint8)
    for centre in (right, left):
        x, y = int(centre[0]), int(centre[1])
        half_w, half_h = int(0.34 * distance), int(0.24 * distance)
        cv2.rectangle(lenses, (x - half_w, y - half_h), (x + half_w, y + half_h), 255, -1)
    lenses = cv2.GaussianBlur(lenses, (0, 0), 0.05 * distance)
    alpha = (lenses.astype(np.float32) / 255.0 * 0.85)[..., None]
    out = image.astype(np.float32) * (1 - alpha) + np.array((30, 22, 18), np.float32) * alpha
    out = out.astype(np.uint8)
    thickness = max(1, int(0.05 * distance))
    for centre in (right, left):  # the frames around the lenses
        x, y = int(centre[0]), int(centre[1])
        half_w, half_h = int(0.34 * distance), int(0.24 * distance)
        cv2.rectangle(out, (x - half_w, y - half_h), (x + half_w, y + half_h), (12, 12, 12), thickness)
    y = int((right[1] + left[1]) / 2)
    cv2.line(out, (int(right[0] + 0.3 * distance), y), (int(left[0] - 0.3 * distance), y), (20, 20, 20), thickness)
    cv2.line(out, (int(right[0] - 0.34 * distance), y), (int(right[0] - 0.8 * distance), y), (20, 20, 20), thickness)
    cv2.line(out, (int(left[0] + 0.34 * distance), y), (int(left[0] + 0.8 * distance), y), (20, 20, 20), thickness)
    return out


def test_sunglasses_are_found_and_kept_off_the_swap(
    classic_engine: ClassicEngine, astronaut_image: RGB, t1_image: RGB
) -> None:
    [face] = classic_engine.detect(astronaut_image)
    points = face.landmarks_array()
    assert points is not None
    shaded = _with_sunglasses(astronaut_image, points)
    mesh = face.mesh_array()
    assert mesh is not None
    canonical = classic_engine._loaded().mesher.canonical
    prepared = prepare_source(shaded, mesh, canonical, ClassicSettings())
    assert prepared.had_glasses and prepared.occluder is not None
    offset = mesh[0, :2] - prepared.mesh[0, :2]  # the crop's corner in the photo
    for centre in (points[36:42].mean(axis=0), points[42:48].mean(axis=0)):
        x, y = np.rint(centre - offset).astype(int)
        assert prepared.occluder[y, x] > 0.9
        assert np.array_equal(prepared.image[y, x], shaded[int(round(centre[1])), int(round(centre[0]))])  # not inpainted

    # Swapped onto a template woman, her own eyes show where the lenses were: no dark veil.
    women = [f for f in classic_engine.detect(t1_image) if f.gender == "female"]
    target = max(women, key=lambda f: f.bbox[2] - f.bbox[0])
    result = classic_engine.swap(t1_image, [Assignment(target, SourceFace(classic_engine.prepare_source(SourceFace(face, shaded)), shaded))])
    target_points = target.landmarks_array()
    assert target_points is not None
    for ring in (target_points[36:42], target_points[42:48]):
        x0, y0 = ring.min(axis=0).astype(int)
        x1, y1 = ring.max(axis=0).astype(int) + 1
        lightness = lambda image: float(cv2.cvtColor(image[y0:y1, x0:x1], cv2.COLOR_RGB2LAB)[..., 0].mean())  # noqa: E731
        assert abs(lightness(result) - lightness(t1_image)) < 12.0


def test_bare_eyes_and_clear_glasses_are_not_sunglasses(
    classic_engine: ClassicEngine, astronaut_image: RGB, tom_hanks_image: RGB
) -> None:
    canonical = classic_engine._loaded().mesher.canonical
    for image in (astronaut_image, tom_hanks_image, load_portrait("grace_hopper")):
        face = max(classic_engine.detect(image), key=lambda f: f.bbox[2] - f.bbox[0])
        mesh = face.mesh_array()
        assert mesh is not None
        assert not sunglasses(image, mesh, canonical, RegionSettings()).any()
