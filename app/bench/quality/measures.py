"""Measures that each see one defect class of a swapped face, judged on dlib's 68 points (the judge's).

Every measure works on a crop around the face scaled to a jaw width of CANON_WIDTH px, so limits do
not depend on the face size.
- eyes kept: edge energy (mean Sobel magnitude over the median grey) of the result at the target's
  points, over the lower of the source's and the template's (the template's alone when the source's
  eyes are behind sunglasses), in the eye-and-brow band and in the eyes alone; the lower ratio counts.
  A band inpainted into a smudge, or a dark lens pasted over the eyes, scores far below 1.
- cracks: edges of the result inside the face (the hull of the jaw, the brows and the brows raised by
  FOREHEAD, eroded by CRACK_ERODE) that are in neither
  the original template nor the source warped onto it (triangle by triangle, on the 68 points): where
  the result's gradient exceeds by NEW_EDGE_LEVEL the strongest gradient of both within EDGE_SLACK px
  (each crop's grey stretched to its face's 2-98 % range first). Only connected runs at least
  CRACK_MIN_RUN x face width long (their box diagonal) count; the score is their total length in face
  widths.
- occluder leakage: along a source occluder's outline, mapped onto the target face through the 68
  points, where the occluder makes an edge that neither the template nor the clean source (warped
  there) has: the share of it where the result has such an edge too. Colours are not compared: the
  engine's tone transfer recolours a pasted occluder.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import cv2
import numpy as np
from numpy.typing import NDArray

from app.bench.quality.baseline import warp_triangles
from pipeline.face import RGBImage

CANON_WIDTH: Final = 160.0
CROP_MARGIN: Final = 0.35  # face widths around the 68 points
EYE_BAND_GROW: Final = 0.03  # face widths around the eye and brow points
EYE_GROW: Final = 0.02  # face widths around the eye points alone
EYES_KEPT_MIN: Final = 0.62  # result / reference eye-band energy at or above which the eyes are kept
CRACK_ERODE: Final = 0.06  # face widths kept clear of the jaw border (the seam measure looks there)
FOREHEAD: Final = 0.3  # face widths the face region reaches above the brows
EDGE_SLACK: Final = 5  # px (canonical) an edge may move and still be the same edge
EDGE_SIGMA: Final = 1.2  # px (canonical) of smoothing before gradients
NEW_EDGE_LEVEL: Final = 18.0  # gradient (grey levels per px, stretched) above the strongest known one nearby
CRACK_MIN_RUN: Final = 0.2  # face widths
BRIDGE: Final = 4  # px (canonical): gaps this wide in a run of new edges are closed
CRACKS_MAX: Final = 0.2  # face widths of new edge runs
CRACK_COLOUR: Final = (255, 0, 255)  # crack runs as the contact sheet shows them
LEAK_OUTLINE: Final = 2  # px (canonical): half-width of the occluder outline band
LEAK_MIN_OUTLINE: Final = 0.2  # face widths of measurable outline needed
LEAK_EDGE_LEVEL: Final = 8.0  # gradient the occluder's outline stands above the clean source's and template's
LEAK_SHOWN_LEVEL: Final = 6.0  # ... and the result's, where it shows the occluder
LEAKAGE_MAX: Final = 0.3

Points = NDArray[np.float32]
Mask = NDArray[np.bool_]


@dataclass(frozen=True)
class Canon:
    """A crop around a face scaled to CANON_WIDTH: its pixels and the points in it."""

    image: NDArray[np.uint8]
    points: Points
    box: tuple[int, int, int, int]  # x1, y1, x2, y2 in the full image
    scale: float


def canon(image: RGBImage, points: Points, box: tuple[int, int, int, int] | None = None) -> Canon:
    """The face of `points` cropped (or the given `box`) and scaled to a jaw width of CANON_WIDTH."""
    width = max(1.0, float(points[:17, 0].max() - points[:17, 0].min()))
    if box is None:
        margin = CROP_MARGIN * width
        height, image_width = image.shape[:2]
        box = (
            max(0, int(points[:, 0].min() - margin)),
            max(0, int(points[:, 1].min() - 1.5 * margin)),
            min(image_width, int(np.ceil(points[:, 0].max() + margin))),
            min(height, int(np.ceil(points[:, 1].max() + margin))),
        )
    x1, y1, x2, y2 = box
    scale = CANON_WIDTH / width
    crop = image[y1:y2, x1:x2]
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    scaled = cv2.resize(np.ascontiguousarray(crop), size, interpolation=interpolation)
    return Canon(scaled, (points - np.array([x1, y1], np.float32)) * scale, box, scale)


# -- eyes kept -----------------------------------------------------------------------------------


def eye_band(shape_hw: tuple[int, ...], points: Points, *, part: str = "band") -> Mask:
    """"band": brows (17-26) and eyes (36-47), each side's hull grown by EYE_BAND_GROW face widths;
    "eyes": the eyes' own hulls (36-41, 42-47) grown by EYE_GROW."""
    if part == "band":
        groups = [list(range(17, 22)) + list(range(36, 42)), list(range(22, 27)) + list(range(42, 48))]
        grow = EYE_BAND_GROW
    else:
        groups = [list(range(36, 42)), list(range(42, 48))]
        grow = EYE_GROW
    mask = np.zeros(shape_hw[:2], np.uint8)
    for indexes in groups:
        cv2.fillConvexPoly(mask, cv2.convexHull(np.round(points[indexes]).astype(np.int32)), 1)
    size = max(1, int(round(grow * CANON_WIDTH)))
    return cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * size + 1, 2 * size + 1))) > 0


def eye_energy(image: RGBImage, points: Points, *, part: str = "band") -> float:
    """Mean Sobel magnitude in the eye band (or the eyes alone), over the face's median grey."""
    face = canon(image, points)
    grey = cv2.cvtColor(face.image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    grey = cv2.GaussianBlur(grey, (0, 0), 1.0)
    magnitude = np.hypot(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))
    band = eye_band(grey.shape, face.points, part=part)
    hull = np.zeros(grey.shape, np.uint8)
    cv2.fillConvexPoly(hull, cv2.convexHull(np.round(face.points[:27]).astype(np.int32)), 1)
    level = max(8.0, float(np.median(grey[hull > 0]))) if hull.any() else 128.0
    return float(magnitude[band].mean()) / level if band.any() else 0.0


def eyes_kept(result: RGBImage, points: Points, references: list[tuple[RGBImage, Points]]) -> float:
    """The lower, over the eye band and the eyes alone, of the result's energy (at `points`, the target
    face's) over the lowest of the references' (1 = as structured as those eyes)."""
    ratios = []
    for part in ("band", "eyes"):
        reference = min(eye_energy(image, pts, part=part) for image, pts in references)
        ratios.append(eye_energy(result, points, part=part) / max(1e-6, reference))
    return min(ratios)


# -- cracks --------------------------------------------------------------------------------------


def _gradient(image: NDArray[np.uint8], inner: Mask) -> NDArray[np.float32]:
    """Gradient magnitude of the grey crop stretched to its inner face's 2-98 % range (0-255), smoothed."""
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    low, high = np.percentile(grey[inner], (2, 98)) if inner.any() else (0.0, 255.0)
    stretched = np.clip((grey - low) * 255.0 / max(8.0, high - low), 0, 255).astype(np.float32)
    smooth = cv2.GaussianBlur(stretched, (0, 0), EDGE_SIGMA)
    return np.hypot(cv2.Sobel(smooth, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(smooth, cv2.CV_32F, 0, 1, ksize=3)) / 4.0


def face_hull(shape_hw: tuple[int, ...], points: Points) -> NDArray[np.uint8]:
    """The jaw and brow points' hull, with the brows also raised FOREHEAD x face width (the forehead)."""
    brows = points[17:27]
    up = np.array([0.0, FOREHEAD * float(points[:17, 0].max() - points[:17, 0].min())], dtype=np.float32)
    outline = np.vstack([points[:27], brows - up]).astype(np.float32)
    hull = np.zeros(shape_hw[:2], np.uint8)
    cv2.fillConvexPoly(hull, cv2.convexHull(np.round(outline).astype(np.int32)), 1)
    return hull


def new_edges(result: RGBImage, references: list[RGBImage], points: Points) -> tuple[Canon, Mask, Mask]:
    """The canonical crop of the result, its pixels with an edge none of `references` has nearby (gaps of
    BRIDGE px closed), and the inner face (face_hull eroded by CRACK_ERODE)."""
    res = canon(result, points)
    hull = face_hull(res.image.shape, res.points)
    inner = cv2.distanceTransform(hull, cv2.DIST_L2, 5) > CRACK_ERODE * CANON_WIDTH
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * EDGE_SLACK + 1,) * 2)
    known = np.zeros(hull.shape, np.float32)
    for reference in references:
        known = np.maximum(known, cv2.dilate(_gradient(canon(reference, points, res.box).image, hull > 0), kernel))
    new = ((_gradient(res.image, hull > 0) - known > NEW_EDGE_LEVEL) & inner).astype(np.uint8)
    bridge = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * BRIDGE + 1,) * 2)
    new = cv2.morphologyEx(new, cv2.MORPH_CLOSE, bridge) & inner.astype(np.uint8)  # a run crossing a known edge stays one
    return res, new > 0, inner


def crack_map(result: RGBImage, original: RGBImage, warped_source: RGBImage, points: Points) -> tuple[Mask, float]:
    """The new edge runs inside the face (canonical crop) and their total length in face widths."""
    _, new, _ = new_edges(result, [original, warped_source], points)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(new.astype(np.uint8), connectivity=8)
    runs = np.zeros(new.shape, dtype=bool)
    total = 0.0
    for label in range(1, count):
        length = float(np.hypot(stats[label, cv2.CC_STAT_WIDTH], stats[label, cv2.CC_STAT_HEIGHT]))
        if length >= CRACK_MIN_RUN * CANON_WIDTH:
            runs |= labels == label
            total += length
    return runs, total / CANON_WIDTH


def mark_cracks(result: RGBImage, runs: Mask, points: Points) -> RGBImage:
    """`result` with the crack runs of `crack_map` (on the canonical crop of `points`) painted magenta."""
    x1, y1, x2, y2 = canon(result, points).box
    full = np.zeros(result.shape[:2], np.uint8)
    full[y1:y2, x1:x2] = cv2.resize(runs.astype(np.uint8), (x2 - x1, y2 - y1), interpolation=cv2.INTER_NEAREST)
    marked = result.copy()
    marked[cv2.dilate(full, np.ones((3, 3), np.uint8)) > 0] = CRACK_COLOUR
    return marked


def warp_source(source: RGBImage, source_points: Points, template: RGBImage, target_points: Points) -> RGBImage:
    """The source face warped onto the target's points; the template shows where no triangle covers."""
    warped, covered = warp_triangles(source, source_points, target_points, template.shape)
    out = template.copy()
    out[covered] = np.clip(warped[covered], 0, 255).astype(np.uint8)
    return out


# -- occluder leakage ----------------------------------------------------------------------------


def leakage(
    result: RGBImage,
    original: RGBImage,
    source_clean: RGBImage,
    source_occluded: RGBImage,
    occluder: Mask,
    source_points: Points,
    target_points: Points,
) -> float | None:
    """Of the occluder's outline mapped onto the target face, where the occluder makes an edge that neither
    the clean source nor the template has there (by LEAK_EDGE_LEVEL): the share where the result has one
    too (by LEAK_SHOWN_LEVEL); None when too little of the outline is measurable."""
    clean = warp_source(source_clean, source_points, original, target_points)
    occluded = warp_source(source_occluded, source_points, original, target_points)
    mask, covered = warp_triangles(occluder.astype(np.float32), source_points, target_points, original.shape)
    res = canon(result, target_points)
    hull = face_hull(res.image.shape, res.points)
    inner = cv2.distanceTransform(hull, cv2.DIST_L2, 5) > CRACK_ERODE * CANON_WIDTH
    x1, y1, x2, y2 = res.box
    mapped = ((mask > 0.5) & covered)[y1:y2, x1:x2].astype(np.uint8)
    mapped = cv2.resize(mapped, (hull.shape[1], hull.shape[0]), interpolation=cv2.INTER_NEAREST)
    ring = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * LEAK_OUTLINE + 1,) * 2)
    outline = (cv2.morphologyEx(mapped, cv2.MORPH_GRADIENT, ring) > 0) & inner

    def gradient(image: RGBImage) -> NDArray[np.float32]:
        return _gradient(canon(image, target_points, res.box).image, hull > 0)

    g_res = _gradient(res.image, hull > 0)
    g_orig, g_clean, g_occ = gradient(original), gradient(clean), gradient(occluded)
    known = cv2.dilate(np.maximum(g_orig, g_clean), ring)
    distinct = outline & (g_occ - known > LEAK_EDGE_LEVEL)
    if distinct.sum() < LEAK_MIN_OUTLINE * CANON_WIDTH:
        return None
    shown = (g_res - known > LEAK_SHOWN_LEVEL).astype(np.uint8)
    reach = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * EDGE_SLACK + 1,) * 2)
    leaked = distinct & (cv2.dilate(shown, reach) > 0)  # the engine's own warp may put it a few px off
    return float(leaked.sum()) / float(distinct.sum())


def precision_recall(truth: list[bool], found: list[bool]) -> tuple[float, float]:
    """Precision and recall of `found` against `truth` (1.0 where nothing was to be found or reported)."""
    true_pos = sum(t and f for t, f in zip(truth, found))
    reported = sum(found)
    positives = sum(truth)
    return (true_pos / reported if reported else 1.0, true_pos / positives if positives else 1.0)
