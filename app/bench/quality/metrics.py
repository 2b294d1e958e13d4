"""Colour, seam and clipping measures of one swapped face against the original template face.

All regions come from the ORIGINAL face's dlib 68 points, so every engine is judged on the same pixels:
- inner face: the convex hull of points 0-26 (jaw and brows), eroded by INNER_ERODE x face width;
- ring: the pixels outside that hull, RING_FROM..RING_TO x face width away, below the top of the jaw
  (points 0 and 16): skin of the neck and the cheeks' edge, hair or background "just outside the jaw".
Face width is the jaw line's width (points 0-16).

The seam is judged locally, in SEAM_SECTORS angular sectors around the face centre below the top of the
jaw: in each, the CIELAB vector (mean of the inner face's edge band - mean of the ring) of the result is
compared with the original's; the seam is the largest change (ΔE76). The edge band is the part of the
inner face within EDGE_BAND x face width of its border. A face made brighter, darker or tinted against
unchanged surroundings, or a one-sided step, raises it; a swap that keeps the jump as it was scores 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import cv2
import numpy as np
from numpy.typing import NDArray

from pipeline.face import RGBImage

INNER_ERODE: Final = 0.12
BLUR_SIGMA: Final = 0.05
RING_FROM: Final = 0.03
RING_TO: Final = 0.10
CROP_MARGIN: Final = 0.3
EDGE_BAND: Final = 0.10
SEAM_SECTORS: Final = 3  # left jaw, chin, right jaw
MIN_SECTOR_PIXELS: Final = 20

Mask = NDArray[np.bool_]


@dataclass(frozen=True)
class ColourFigures:
    chroma_p95: float  # 95th percentile of the a*b* distance, result vs original, inner face, low-passed
    seam: float  # largest change, over the sectors, of the inner-edge-to-ring CIELAB jump (0 = unchanged)
    seam_result: float  # ΔE76 between the mean inner face and the mean ring, result
    seam_original: float  # the same on the original (for reference: a face's own jump to its neck)
    clipping: float  # share of inner-face pixels at 0 or 255 in the result and not in the original
    inner_pixels: int


def colour_figures(result: RGBImage, original: RGBImage, points: NDArray[np.float32]) -> ColourFigures:
    """The measures for the face whose original 68 points are `points` (same coordinates in both images)."""
    width = face_width(points)
    x1, y1, x2, y2 = _crop_box(points, width, original.shape[:2])
    res = result[y1:y2, x1:x2]
    orig = original[y1:y2, x1:x2]
    local = points - np.array([x1, y1], dtype=np.float32)
    inner, ring = regions(res.shape[:2], local, width)
    sectors = _sectors(res.shape[:2], local, inner, width)
    if not inner.any():
        raise ValueError("the inner face is empty (face too small or off the image)")
    lab_res = _lab(_low_pass(res, width))
    lab_orig = _lab(_low_pass(orig, width))
    chroma = np.hypot(lab_res[..., 1] - lab_orig[..., 1], lab_res[..., 2] - lab_orig[..., 2])[inner]
    jump_res = _jump(lab_res, inner, ring)
    jump_orig = _jump(lab_orig, inner, ring)
    return ColourFigures(
        chroma_p95=float(np.percentile(chroma, 95)),
        seam=_seam(lab_res, lab_orig, sectors, inner, ring),
        seam_result=jump_res,
        seam_original=jump_orig,
        clipping=clipping_share(res, orig, inner),
        inner_pixels=int(inner.sum()),
    )


def face_width(points: NDArray[np.float32]) -> float:
    jaw = points[:17, 0]
    return max(1.0, float(jaw.max() - jaw.min()))


def regions(shape_hw: tuple[int, ...], points: NDArray[np.float32], width: float) -> tuple[Mask, Mask]:
    """(inner face, ring just outside the jaw) as boolean masks of an image of `shape_hw`."""
    hull = np.zeros(shape_hw[:2], dtype=np.uint8)
    cv2.fillConvexPoly(hull, cv2.convexHull(np.round(points[:27]).astype(np.int32)), 1)
    inside = cv2.distanceTransform(hull, cv2.DIST_L2, 5)
    outside = cv2.distanceTransform(1 - hull, cv2.DIST_L2, 5)
    inner = inside > INNER_ERODE * width
    rows = np.arange(shape_hw[0], dtype=np.float32)[:, None]
    below_jaw_top = rows >= min(float(points[0, 1]), float(points[16, 1]))
    ring = (outside >= RING_FROM * width) & (outside <= RING_TO * width) & below_jaw_top
    return inner, ring


def clipping_share(result: RGBImage, original: RGBImage, inner: Mask) -> float:
    def clipped(image: RGBImage) -> Mask:
        return np.any((image == 0) | (image == 255), axis=2)

    new = clipped(result) & ~clipped(original) & inner
    return float(new.sum()) / float(max(1, inner.sum()))


def _sectors(shape_hw: tuple[int, ...], points: NDArray[np.float32], inner: Mask, width: float) -> NDArray[np.int8]:
    """Sector number (0..SEAM_SECTORS-1) of each pixel below the jaw top around the face centre, else -1;
    inner-face pixels farther than EDGE_BAND x width from the inner face's border are -1 too."""
    height, image_width = shape_hw[:2]
    centre = points[:17].mean(axis=0)
    rows, cols = np.mgrid[0:height, 0:image_width].astype(np.float32)
    angle = np.arctan2(rows - centre[1], cols - centre[0])  # 0 = right, pi/2 = down
    top = min(float(points[0, 1]), float(points[16, 1]))
    sector = np.floor((angle / np.pi) * SEAM_SECTORS).astype(np.int8)  # below the centre: 0..SECTORS-1
    depth = cv2.distanceTransform(inner.astype(np.uint8), cv2.DIST_L2, 5)
    far_inside = inner & (depth > EDGE_BAND * width)
    sector[(rows < top) | (angle < 0) | far_inside] = -1
    return np.clip(sector, -1, SEAM_SECTORS - 1)


def _seam(
    lab_res: NDArray[np.float32], lab_orig: NDArray[np.float32], sectors: NDArray[np.int8], inner: Mask, ring: Mask
) -> float:
    worst = 0.0
    for number in range(SEAM_SECTORS):
        here = sectors == number
        edge = here & inner
        outside = here & ring
        if edge.sum() < MIN_SECTOR_PIXELS or outside.sum() < MIN_SECTOR_PIXELS:
            continue
        jump_res = lab_res[edge].mean(axis=0) - lab_res[outside].mean(axis=0)
        jump_orig = lab_orig[edge].mean(axis=0) - lab_orig[outside].mean(axis=0)
        worst = max(worst, float(np.linalg.norm(jump_res - jump_orig)))
    return worst


def _jump(lab: NDArray[np.float32], inner: Mask, ring: Mask) -> float:
    if not ring.any():
        return 0.0
    return float(np.linalg.norm(lab[inner].mean(axis=0) - lab[ring].mean(axis=0)))


def _low_pass(image: RGBImage, width: float) -> NDArray[np.float32]:
    pixels = image.astype(np.float32) / 255.0
    return cv2.GaussianBlur(pixels, (0, 0), sigmaX=max(0.5, BLUR_SIGMA * width), borderType=cv2.BORDER_REFLECT)


def _lab(rgb01: NDArray[np.float32]) -> NDArray[np.float32]:
    """CIELAB (L 0-100, a* and b* in their own units) of float RGB in 0-1 (sRGB, D65)."""
    return cv2.cvtColor(np.ascontiguousarray(rgb01), cv2.COLOR_RGB2LAB)


def _crop_box(points: NDArray[np.float32], width: float, shape_hw: tuple[int, ...]) -> tuple[int, int, int, int]:
    margin = CROP_MARGIN * width
    height, image_width = shape_hw[:2]
    x1 = max(0, int(points[:, 0].min() - margin))
    y1 = max(0, int(points[:, 1].min() - margin))
    x2 = min(image_width, int(np.ceil(points[:, 0].max() + margin)))
    y2 = min(height, int(np.ceil(points[:, 1].max() + margin)))
    return x1, y1, x2, y2
