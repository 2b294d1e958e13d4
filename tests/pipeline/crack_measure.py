"""A crack measure: long thin lines inside a swapped face that the template did not have.

A turned source once came out with a jagged dark line from brow to chin (the seam between its own half and
a mirrored half, or where overstretched triangles kept the template). Such a line is an edge in the result
that is in neither photo. The measure: thin-line strength (Hessian) on the result's skin (the face oval, eroded,
without eyes and brows, whose edges the source brings) above the template's own (dilated, so a
shifted edge is not counted), kept only where it forms connected lines 15 % of the face tall or more;
the score is the share of the skin on such lines, in per cent.
"""

from __future__ import annotations

from typing import Final

import cv2
import numpy as np
from numpy.typing import NDArray

from pipeline.classic.mesh import CanonicalFace, mirror_mesh
from pipeline.mesh_topology import FACE_OVAL, LEFT_BROW, LEFT_EYE, RIGHT_BROW, RIGHT_EYE

RGB = NDArray[np.uint8]
EDGE_SIGMA_SHARE: Final = 0.004  # gradients at this scale (share of the face size)
NEW_EDGE_LEVEL: Final = 5.0  # line strength (grey levels) above the template's own
LONG_SHARE: Final = 0.15  # a line at least this long (share of the face size) is a crack
ERODE_SHARE: Final = 0.06
JOIN_SHARE: Final = 0.03  # pieces of a line this far apart (share of the face size, vertically) are one line
FEATURE_GROW_SHARE: Final = 0.18  # eyes, brows, nose, lips grown by this share of the eye distance


def skin_region(shape_hw: tuple[int, ...], mesh: NDArray[np.float32]) -> NDArray[np.bool_]:
    xy = mesh[:, :2]
    size = float(np.sqrt(np.prod(np.ptp(xy[list(FACE_OVAL)], axis=0))))
    oval = np.zeros(shape_hw[:2], np.uint8)
    cv2.fillPoly(oval, [np.rint(xy[list(FACE_OVAL)]).astype(np.int32)], 255)
    erode = max(1, int(ERODE_SHARE * size))
    oval = cv2.erode(oval, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * erode + 1, 2 * erode + 1)))
    features = np.zeros(shape_hw[:2], np.uint8)
    for ring in (RIGHT_EYE, LEFT_EYE, RIGHT_BROW, LEFT_BROW):  # nose and lips stay: a crack runs through them
        cv2.fillPoly(features, [np.rint(xy[list(ring)]).astype(np.int32)], 255)
    distance = float(np.hypot(*(xy[list(LEFT_EYE)].mean(axis=0) - xy[list(RIGHT_EYE)].mean(axis=0))))
    grow = max(1, int(FEATURE_GROW_SHARE * distance))
    features = cv2.dilate(features, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
    return (oval > 0) & (features == 0)


def _edges(image: RGB, sigma: float) -> NDArray[np.float32]:
    """Thin-line strength: the larger Hessian eigenvalue magnitude (dark or bright lines), scale-normalised."""
    grey = cv2.GaussianBlur(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32), (0, 0), sigma)
    xx = cv2.Sobel(grey, cv2.CV_32F, 2, 0, ksize=3)
    yy = cv2.Sobel(grey, cv2.CV_32F, 0, 2, ksize=3)
    xy = cv2.Sobel(grey, cv2.CV_32F, 1, 1, ksize=3)
    root = np.sqrt(((xx - yy) / 2.0) ** 2 + xy**2)
    return np.maximum(np.abs((xx + yy) / 2.0 + root), np.abs((xx + yy) / 2.0 - root)) * sigma**2 / 4.0


def crack_map(
    result: RGB, template: RGB, mesh: NDArray[np.float32], source: tuple[RGB, NDArray[np.float32]] | None = None,
    canonical: CanonicalFace | None = None,
) -> NDArray[np.bool_]:
    """Pixels of the face's skin on long lines that neither the template nor (when given with the
    canonical face) the source has; the source's lines, and its mirror image's, are warped onto the
    target's mesh first."""
    xy = mesh[:, :2]
    size = float(np.sqrt(np.prod(np.ptp(xy[list(FACE_OVAL)], axis=0))))
    sigma = max(0.8, EDGE_SIGMA_SHARE * size)
    region = skin_region(result.shape, mesh)
    grow = max(1, int(round(1.5 * sigma)))
    known = _edges(template, sigma)
    if source is not None and canonical is not None:
        image, source_mesh = source
        source_size = float(np.sqrt(np.prod(np.ptp(source_mesh[list(FACE_OVAL), :2], axis=0))))
        lines = _edges(image, max(0.8, EDGE_SIGMA_SHARE * source_size))
        mirrored = np.ascontiguousarray(lines[:, ::-1])
        mirrored_mesh = mirror_mesh(source_mesh, image.shape[1], canonical.mirror)
        for values, points in ((lines, source_mesh), (mirrored, mirrored_mesh)):
            np.maximum(known, _warped(values, points, mesh, canonical.triangles, result.shape[:2]), out=known)
    own = cv2.dilate(known, np.ones((2 * grow + 1, 2 * grow + 1), np.uint8))
    new = (_edges(result, sigma) - own > NEW_EDGE_LEVEL) & region
    # A crack is broken where it crosses the nose and lips: pieces a little apart along it are joined.
    reach = max(1, int(round(JOIN_SHARE * size)))
    joined = cv2.dilate(new.astype(np.uint8), np.ones((2 * reach + 1, 3), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    long = np.zeros(count, bool)
    long[1:] = stats[1:, cv2.CC_STAT_HEIGHT] >= LONG_SHARE * size  # cracks run brow to chin
    return long[labels] & new


def crack_score(
    result: RGB, template: RGB, mesh: NDArray[np.float32], source: tuple[RGB, NDArray[np.float32]] | None = None,
    canonical: CanonicalFace | None = None,
) -> float:
    """Per cent of the face's skin on long lines in neither photo (0 on a clean swap)."""
    region = skin_region(result.shape, mesh)
    if not region.any():
        return 0.0
    return 100.0 * float(crack_map(result, template, mesh, source, canonical).sum()) / float(region.sum())


def _warped(
    values: NDArray[np.float32], source_mesh: NDArray[np.float32], target_mesh: NDArray[np.float32],
    triangles: NDArray[np.int32], shape_hw: tuple[int, ...],
) -> NDArray[np.float32]:
    """`values` (in source pixels) carried onto the target mesh, triangle by triangle (0 off the mesh)."""
    out = np.zeros(shape_hw[:2], np.float32)
    src, dst = source_mesh[:, :2].astype(np.float32), target_mesh[:, :2].astype(np.float32)
    for tri in triangles:
        d = dst[tri]
        x0, y0 = np.floor(d.min(axis=0)).astype(int)
        x1, y1 = np.ceil(d.max(axis=0)).astype(int) + 1
        x0, y0 = max(x0, 0), max(y0, 0)
        x1, y1 = min(x1, shape_hw[1]), min(y1, shape_hw[0])
        if x1 - x0 < 1 or y1 - y0 < 1:
            continue
        matrix = cv2.getAffineTransform((d - [x0, y0]).astype(np.float32), src[tri])
        patch = cv2.warpAffine(values, matrix, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                               borderMode=cv2.BORDER_CONSTANT)
        inside = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillConvexPoly(inside, np.rint(d - [x0, y0]).astype(np.int32), 1)
        view = out[y0:y1, x0:x1]
        np.maximum(view, np.where(inside > 0, patch, 0.0), out=view)
    return out
