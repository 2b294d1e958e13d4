"""A lock of hair falling past one eye (strands side by side) is filled from the face's other side
(pipeline.classic.strands.hair_locks, pipeline.classic.mirror_fill): filled from the skin around it, the
skin between its strands is hair too, and the fill came out as a smudge over the eye's corner."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from pipeline.classic import ClassicEngine
from pipeline.classic.face_geometry import eye_distance, pixels
from pipeline.classic.mesh import CANONICAL_POINTS
from pipeline.classic.settings import ClassicSettings
from pipeline.classic.source import prepare_source
from pipeline.classic.strands import hair_locks
from pipeline.mesh_topology import FACE_OVAL, NOSE_TIP, RIGHT_BROW

RGB = NDArray[np.uint8]


def _large(image: RGB) -> RGB:
    """The photo twice as large: a face of about 300 px, with strands several pixels apart."""
    return cv2.resize(image, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_CUBIC)


def _mesh(engine: ClassicEngine, image: RGB) -> NDArray[np.float32]:
    face = min(engine.detect(image), key=lambda found: found.bbox[1])  # her face, not the patch on her suit
    mesh = face.mesh_array()
    assert mesh is not None
    return mesh


def _lock(image: RGB, mesh: NDArray[np.float32], strands: int = 7) -> tuple[RGB, NDArray[np.bool_]]:
    """`strands` dark strands side by side, falling down the face's right side (the image's left): from
    above the brow's outer end, bending past the eye's outer corner, to the cheek beside the nose."""
    xy = mesh[:CANONICAL_POINTS, :2].astype(np.float32)
    eye = eye_distance(xy)
    brows = xy[list(RIGHT_BROW)]
    brow_end = brows[int(np.argmin(brows[:, 0]))]
    oval = xy[list(FACE_OVAL)]
    cheek = oval[int(np.argmin(np.abs(oval[:, 1] - xy[NOSE_TIP, 1]) + 10.0 * (oval[:, 0] > xy[NOSE_TIP, 0])))]
    mask = np.zeros(image.shape[:2], np.uint8)
    for number in range(strands):
        share = number / max(strands - 1, 1)
        start = np.array((brow_end[0] + (share * 0.6 - 0.3) * eye, brow_end[1] - 0.9 * eye))
        end = np.array((cheek[0] + share * 0.5 * eye, cheek[1] + 0.1 * eye))
        bend = (start + end) / 2.0 + np.array((0.25 * eye, 0.0))
        steps = np.linspace(0.0, 1.0, 24)[:, None]
        curve = (1 - steps) ** 2 * start + 2 * (1 - steps) * steps * bend + steps**2 * end
        width = max(2, int(round((0.03 if number % 2 else 0.045) * eye)))
        cv2.polylines(mask, [np.round(curve * 4).astype(np.int32)], False, 255, width, cv2.LINE_AA, shift=2)
    alpha = (mask.astype(np.float32) / 255.0 * 0.9)[..., None]
    out = image.astype(np.float32) * (1 - alpha) + np.array((48, 34, 26), np.float32) * alpha
    inside = np.zeros(image.shape[:2], np.uint8)
    cv2.fillPoly(inside, [pixels(oval)], 1)
    return np.clip(out, 0, 255).astype(np.uint8), (mask > 127) & (inside > 0)


def test_a_lock_is_found_where_it_crosses_the_face_and_a_single_strand_is_not(
    classic_engine: ClassicEngine, astronaut_image: RGB
) -> None:
    image = _large(astronaut_image)
    mesh = _mesh(classic_engine, image)
    xy = mesh[:CANONICAL_POINTS, :2].astype(np.float32)
    settings = ClassicSettings().source
    _, truth = _lock(image, mesh)
    region = hair_locks(truth, xy, settings)
    assert float(region[truth].mean()) > 0.9
    assert region.sum() < 4 * truth.sum()  # the lock's span, not the face
    _, single = _lock(image, mesh, strands=1)
    assert not hair_locks(single, xy, settings).any()


def _tilted(image: RGB, degrees: float) -> RGB:
    height, width = image.shape[:2]
    turn = cv2.getRotationMatrix2D((width / 2.0, height / 2.0), degrees, 1.0)
    return cv2.warpAffine(image, turn, (width, height), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)


@pytest.mark.parametrize("tilt", [0.0, 30.0])
def test_the_prepared_source_shows_the_face_where_the_lock_was(
    classic_engine: ClassicEngine, astronaut_image: RGB, tilt: float
) -> None:
    """Under the lock the prepared source is close to the clean one (its own eye corner and cheek, from
    the other side), far closer than the lock itself, and the lock is not left as an occluder; on a
    tilted head too, where "above the eyes" follows the face, not the photo's rows."""
    image = _tilted(_large(astronaut_image), tilt)
    mesh = _mesh(classic_engine, image)
    canonical = classic_engine._loaded().mesher.canonical
    locked, truth = _lock(image, mesh)
    prepared = prepare_source(locked, mesh, canonical)
    clean = prepare_source(image, mesh, canonical)
    shift = (mesh[:, :2].min(axis=0) - prepared.mesh[:, :2].min(axis=0)).round().astype(int)
    height, width = prepared.image.shape[:2]

    def crop(picture: NDArray[np.generic]) -> NDArray[np.generic]:
        return picture[shift[1] : shift[1] + height, shift[0] : shift[0] + width]

    core = cv2.erode(crop(truth).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    assert core.sum() > 50

    def lab(picture: RGB) -> NDArray[np.float32]:
        return cv2.cvtColor(np.ascontiguousarray(picture).astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)[core]

    drawn = float(np.median(np.linalg.norm(lab(crop(locked)) - lab(clean.image), axis=1)))
    filled = float(np.median(np.linalg.norm(lab(prepared.image) - lab(clean.image), axis=1)))
    assert drawn > 30.0
    assert filled < 20.0  # her two sides differ in light and shape; a strand or two at its edge stays
    occluded = prepared.occluder if prepared.occluder is not None else np.zeros((height, width), np.float32)
    assert float((occluded[core] > 0.5).mean()) < 0.1
