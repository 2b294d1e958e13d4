"""The reference swap the engine is measured against: a plain landmark swap as in OpenCV tutorials.

dlib's 68 points on both faces (the judge's own landmarks), a Delaunay triangulation of the target's
points, each source triangle warped affinely onto its target triangle, then `cv2.seamlessClone`
(Poisson, NORMAL_CLONE) of the warped face inside the hull of the target's points. No tone, no masks,
no occluder handling. The harness runs it beside the engine on the same faces; no engine uses it.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from pipeline.face import RGBImage

Points = NDArray[np.float32]
Triangles = NDArray[np.int32]  # N x 3 point indexes


def delaunay(points: Points) -> Triangles:
    """Delaunay triangles of `points`, as index triples."""
    x1, y1 = np.floor(points.min(axis=0)) - 2
    x2, y2 = np.ceil(points.max(axis=0)) + 2
    subdiv = cv2.Subdiv2D((int(x1), int(y1), int(x2 - x1) + 1, int(y2 - y1) + 1))
    for x, y in points:
        subdiv.insert((float(x), float(y)))
    triangles = []
    for tri in subdiv.getTriangleList().reshape(-1, 3, 2):
        indexes = [int(np.argmin(np.hypot(*(points - corner).T))) for corner in tri]
        if len(set(indexes)) == 3:
            triangles.append(indexes)
    return np.array(sorted({tuple(t) for t in triangles}), dtype=np.int32).reshape(-1, 3)


def warp_triangles(
    source: NDArray[np.generic], source_points: Points, target_points: Points, shape_hw: tuple[int, ...],
    triangles: Triangles | None = None,
) -> tuple[NDArray[np.generic], NDArray[np.bool_]]:
    """`source` warped piecewise-affinely so its points land on `target_points`, on a canvas of `shape_hw`,
    and the canvas pixels covered by a triangle."""
    triangles = delaunay(target_points) if triangles is None else triangles
    height, width = shape_hw[:2]
    out = np.zeros((height, width) + source.shape[2:], dtype=np.float32)
    covered = np.zeros((height, width), dtype=np.uint8)
    for tri in triangles:
        src = source_points[tri].astype(np.float32)
        dst = target_points[tri].astype(np.float32)
        x, y, w, h = cv2.boundingRect(np.round(dst).astype(np.int32))
        x0, y0 = max(0, x), max(0, y)
        x1, y1 = min(width, x + w), min(height, y + h)
        if x1 <= x0 or y1 <= y0:
            continue
        matrix = cv2.getAffineTransform(src, dst - np.array([x0, y0], dtype=np.float32))
        patch = cv2.warpAffine(
            source.astype(np.float32), matrix, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
        )
        mask = np.zeros((y1 - y0, x1 - x0), dtype=np.uint8)
        cv2.fillConvexPoly(mask, np.round(dst - np.array([x0, y0])).astype(np.int32), 1)
        inside = mask.astype(bool) & (covered[y0:y1, x0:x1] == 0)
        out[y0:y1, x0:x1][inside] = patch[inside]
        covered[y0:y1, x0:x1][inside] = 1
    return out, covered.astype(bool)


def plain_swap(source: RGBImage, source_points: Points, template: RGBImage, target_points: Points) -> RGBImage:
    """The template with the source face warped onto the target face and Poisson-blended in."""
    warped, covered = warp_triangles(source, source_points, target_points, template.shape)
    hull = cv2.convexHull(np.round(target_points).astype(np.int32))
    mask = np.zeros(template.shape[:2], dtype=np.uint8)
    cv2.fillConvexPoly(mask, hull, 255)
    mask[~covered] = 0
    x, y, w, h = cv2.boundingRect(mask)
    height, width = template.shape[:2]
    if x <= 0 or y <= 0 or x + w >= width or y + h >= height or not mask.any():
        return template.copy()  # seamlessClone needs the region inside the image
    centre = (x + w // 2, y + h // 2)
    canvas = np.clip(warped, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(cv2.seamlessClone(canvas, template, mask, centre, cv2.NORMAL_CLONE))
