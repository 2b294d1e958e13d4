"""Hair strands over a source's forehead are filled with its own skin, not pasted as dark marks
(pipeline.classic.strands, pipeline.classic.source.fill_hair_strands); wrinkles and a bare forehead are left."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
from numpy.typing import NDArray

from pipeline.classic import ClassicEngine
from pipeline.classic.face_geometry import pixels
from pipeline.classic.mesh import CANONICAL_POINTS
from pipeline.classic.regions import face_parts
from pipeline.classic.settings import ClassicSettings
from pipeline.classic.source import prepare_source
from pipeline.classic.strands import hair_strands
from pipeline.mesh_topology import FACE_OVAL, LEFT_BROW, LEFT_EYE, MOUTH_CORNERS, NOSE_TIP, RIGHT_BROW, RIGHT_EYE

RGB = NDArray[np.uint8]


def _lines(
    image: RGB, mesh: NDArray[np.float32], *, falling: bool, end: float = -0.08
) -> tuple[RGB, NDArray[np.bool_]]:
    """Five dark lines over the forehead: falling strands of hair ending `end` eye distances below the
    brows' top, or lines across it (wrinkle-like)."""
    brows = mesh[list(RIGHT_BROW + LEFT_BROW), :2]
    left, right = float(brows[:, 0].min()), float(brows[:, 0].max())
    top = float(brows[:, 1].min())
    eye = (right - left) / 2.0
    mask = np.zeros(image.shape[:2], np.uint8)
    for number in range(5):
        x = left + (0.25 + 0.12 * number) * (right - left)
        if falling:
            start, stop = (x, top - 0.35 * eye), (x + 0.1 * eye, top + end * eye)
        else:
            y = top - (0.2 + 0.1 * number) * eye
            start, stop = (left + 0.3 * eye, y), (right - 0.3 * eye, y)
        cv2.line(mask, (int(start[0]), int(start[1])), (int(stop[0]), int(stop[1])), 255, max(2, int(0.04 * eye)), cv2.LINE_AA)
    return _painted(image, mask)


def _painted(image: RGB, mask: NDArray[np.uint8]) -> tuple[RGB, NDArray[np.bool_]]:
    """Dark brown hair painted where `mask` (0..255, anti-aliased) is set, and where it is mostly hair."""
    alpha = (mask.astype(np.float32) / 255.0 * 0.9)[..., None]
    out = image.astype(np.float32) * (1 - alpha) + np.array((48, 34, 26), np.float32) * alpha
    return np.clip(out, 0, 255).astype(np.uint8), mask > 127


def _features(engine: ClassicEngine, image: RGB, mesh: NDArray[np.float32]) -> NDArray[np.bool_]:
    """The eyes, the brows' band and the lips, as the source stage draws them."""
    xy = mesh[:CANONICAL_POINTS, :2].astype(np.float32)
    regions = replace(ClassicSettings().regions, exempt_grow_share=0.0)
    return face_parts(xy, engine._loaded().mesher.canonical, image.shape[:2], regions)[1] > 0.5


def _found(engine: ClassicEngine, image: RGB, mesh: NDArray[np.float32]) -> NDArray[np.bool_]:
    xy = mesh[:CANONICAL_POINTS, :2].astype(np.float32)
    oval = np.zeros(image.shape[:2], np.uint8)
    cv2.fillPoly(oval, [pixels(xy[list(FACE_OVAL)])], 1)
    return hair_strands(image, xy, oval > 0, _features(engine, image, mesh), ClassicSettings().source)


def _mesh(engine: ClassicEngine, image: RGB) -> NDArray[np.float32]:
    mesh = engine.detect(image)[0].mesh_array()
    assert mesh is not None
    return mesh


def test_strands_joined_where_they_leave_the_hair_are_each_found(
    classic_engine: ClassicEngine, astronaut_image: RGB
) -> None:
    """A fringe's strands touch one another at the top, where they come out of the hair: joined there,
    they make one wide, tilted part, which alone would fail as a strand."""
    mesh = _mesh(classic_engine, astronaut_image)
    strands, truth = _lines(astronaut_image, mesh, falling=True)
    brows = mesh[list(RIGHT_BROW + LEFT_BROW), :2]
    left, right = float(brows[:, 0].min()), float(brows[:, 0].max())
    eye = (right - left) / 2.0
    top = float(brows[:, 1].min()) - 0.35 * eye
    bar = np.zeros(strands.shape[:2], np.uint8)
    start, stop = left + 0.2 * (right - left), left + 0.8 * (right - left)
    cv2.line(bar, (int(start), int(top)), (int(stop), int(top)), 255, 1, cv2.LINE_AA)
    joined, bar_truth = _painted(strands, bar)
    centre_lines = cv2.erode(truth.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    found = _found(classic_engine, joined, mesh)
    assert float(found[centre_lines].mean()) > 0.7  # each strand, if not the pixels right at the bar
    stray = found & ~cv2.dilate((truth | bar_truth).astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    assert int(stray.sum()) < 20


def test_falling_strands_are_found_and_a_bare_forehead_is_not(
    classic_engine: ClassicEngine, astronaut_image: RGB
) -> None:
    mesh = _mesh(classic_engine, astronaut_image)
    strands, truth = _lines(astronaut_image, mesh, falling=True)
    found = _found(classic_engine, strands, mesh)
    centre_lines = cv2.erode(truth.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0  # not their soft edges
    assert float(found[centre_lines].mean()) > 0.8
    assert int((found & ~cv2.dilate(truth.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)).sum()) < 20
    assert int(_found(classic_engine, astronaut_image, mesh).sum()) == 0
    across, _ = _lines(astronaut_image, mesh, falling=False)  # wrinkle-like lines lie across the forehead
    assert int(_found(classic_engine, across, mesh).sum()) == 0


def _colour_change(
    engine: ClassicEngine, image: RGB, mesh: NDArray[np.float32], end: float, *, in_brow_band: bool
) -> tuple[float, float]:
    """Median CIELAB distance to the clean prepared source on the strands' centre lines (on the forehead,
    or in the brows' band where it is skin): as drawn, and after the source stage."""
    strands, truth = _lines(image, mesh, falling=True, end=end)
    band = _features(engine, image, mesh)
    lighter = cv2.cvtColor(image, cv2.COLOR_RGB2LAB)[..., 0].astype(int) - 30 > cv2.cvtColor(
        strands, cv2.COLOR_RGB2LAB
    )[..., 0].astype(int)  # skin under the strand, not a brow's own hair
    truth &= (band & lighter) if in_brow_band else ~band
    canonical = engine._loaded().mesher.canonical
    prepared = prepare_source(strands, mesh, canonical)
    clean = prepare_source(image, mesh, canonical)
    shift = (mesh[:, :2].min(axis=0) - prepared.mesh[:, :2].min(axis=0)).round().astype(int)
    inside = np.zeros(prepared.image.shape[:2], bool)
    ys, xs = np.nonzero(truth)
    inside[ys - shift[1], xs - shift[0]] = True
    core = cv2.erode(inside.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    assert core.sum() > 10

    def lab(picture: RGB) -> NDArray[np.float32]:
        return cv2.cvtColor(picture.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)[core]

    height, width = prepared.image.shape[:2]
    drawn_crop = np.ascontiguousarray(strands[shift[1] : shift[1] + height, shift[0] : shift[0] + width])
    drawn = np.linalg.norm(lab(drawn_crop) - lab(clean.image), axis=1)
    filled = np.linalg.norm(lab(prepared.image) - lab(clean.image), axis=1)
    return float(np.median(drawn)), float(np.median(filled))


def test_the_prepared_source_has_its_own_skin_where_the_strands_were(
    classic_engine: ClassicEngine, astronaut_image: RGB
) -> None:
    mesh = _mesh(classic_engine, astronaut_image)
    drawn, filled = _colour_change(classic_engine, astronaut_image, mesh, -0.08, in_brow_band=False)
    assert drawn > 30.0  # the strands as drawn
    assert filled < 8.0  # filled with the forehead's own colour


def test_strands_down_into_the_brows_band_are_filled_there_too(
    classic_engine: ClassicEngine, astronaut_image: RGB
) -> None:
    """Strands falling into the band drawn around the brows: on its skin, beside the brows' own hairs,
    they are filled too; left, they came out as a comb of dashes above the target's brow."""
    mesh = _mesh(classic_engine, astronaut_image)
    drawn, filled = _colour_change(classic_engine, astronaut_image, mesh, 0.15, in_brow_band=True)
    assert drawn > 30.0
    assert filled < 12.0


def _side_lines(image: RGB, mesh: NDArray[np.float32], *, entering: bool) -> tuple[RGB, NDArray[np.bool_]]:
    """Dark lines down the face's right side (the image's left): four strands of hair entering from the
    temple, past the eye's outer corner, to the cheek; or two lines that start inside the face beside the
    nose and run down past the mouth's corner (smile-fold-like)."""
    xy = mesh[:CANONICAL_POINTS, :2].astype(np.float32)
    oval = xy[list(FACE_OVAL)]
    outer_right, outer_left = xy[RIGHT_EYE[0]], xy[LEFT_EYE[0]]
    span = float(np.hypot(*(outer_left - outer_right)))  # outer eye corner to outer eye corner
    nose_tip, mouth_corner = xy[NOSE_TIP], xy[MOUTH_CORNERS[0]]
    mask = np.zeros(image.shape[:2], np.uint8)
    for number in range(4 if entering else 2):
        if entering:
            x = float(oval[:, 0].min()) + (0.08 + 0.1 * number) * span
            start, stop = (x, float(outer_right[1]) - 0.6 * span), (x + 0.08 * span, float(nose_tip[1]))
        else:
            shift = 0.15 * number * span
            start = (float(nose_tip[0]) - 0.3 * span - shift, float(nose_tip[1]) - 0.15 * span)
            stop = (float(mouth_corner[0]) - 0.1 * span - shift, float(mouth_corner[1]) + 0.1 * span)
        cv2.line(mask, (int(start[0]), int(start[1])), (int(stop[0]), int(stop[1])), 255, max(2, int(0.04 * span)), cv2.LINE_AA)
    return _painted(image, mask)


def test_strands_down_the_side_of_the_face_are_found_and_smile_folds_are_not(
    classic_engine: ClassicEngine, astronaut_image: RGB
) -> None:
    """Hair falls from above: a line entering from the oval's edge (or going on from a strand above it) is
    hair, down to the cheek; a line that starts inside the face below the eyes (a smile fold) is not."""
    mesh = _mesh(classic_engine, astronaut_image)
    below_eyes = np.zeros(astronaut_image.shape[:2], bool)
    below_eyes[int(mesh[RIGHT_EYE[0], 1]) + 4 :] = True
    strands, truth = _side_lines(astronaut_image, mesh, entering=True)
    found = _found(classic_engine, strands, mesh)
    centre_lines = (cv2.erode(truth.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0) & below_eyes
    assert centre_lines.sum() > 50
    assert float(found[centre_lines].mean()) > 0.7
    folds, _ = _side_lines(astronaut_image, mesh, entering=False)
    assert int((_found(classic_engine, folds, mesh) & below_eyes).sum()) == 0
