"""A region of the source face filled from the face's other side: each pixel takes the texture of its mirror
counterpart on the mesh (the outer corner of one eye from the outer corner of the other), scaled to the
light of the skin around the region. A lock of hair over one eye's corner and cheek comes out as that
person's own eye corner and cheek, not as a smooth smudge of skin."""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from pipeline.classic.face_geometry import face_size
from pipeline.classic.mesh import CANONICAL_POINTS, CanonicalFace, Mesh

RING_SHARE = 0.06  # the skin ring the light is measured on, this share of the face size wide
EDGE_SHARE = 0.02  # the fill's soft edge, this share of the face size


def _mirrored_texture(
    layers: NDArray[np.float32], mesh: Mesh, canonical: CanonicalFace, region: NDArray[np.bool_]
) -> tuple[NDArray[np.float32], NDArray[np.bool_]]:
    """Over `region`, each pixel's mirror counterpart in `layers` (H x W x C), and where one was found."""
    height, width = region.shape
    out = np.zeros((height, width, layers.shape[2]), np.float32)
    found = np.zeros((height, width), np.uint8)
    rows, cols = np.nonzero(region)
    if rows.size == 0:
        return out, found > 0
    x0, y0, x1, y1 = int(cols.min()), int(rows.min()), int(cols.max()) + 1, int(rows.max()) + 1
    xy = mesh[:CANONICAL_POINTS, :2].astype(np.float32)
    counterpart = xy[canonical.mirror[:CANONICAL_POINTS]]
    depth = mesh[:CANONICAL_POINTS, 2]
    triangles = canonical.triangles
    # Near triangles last, so where a turned face folds, the visible surface wins.
    for index in np.argsort(-depth[triangles].mean(axis=1), kind="stable"):
        dst = xy[triangles[index]]
        bx, by, bw, bh = cv2.boundingRect(np.round(dst).astype(np.int32))
        left, top = max(bx, x0), max(by, y0)
        right, bottom = min(bx + bw, x1), min(by + bh, y1)
        if right <= left or bottom <= top:
            continue
        offset = np.array([left, top], np.float32)
        matrix = cv2.getAffineTransform(counterpart[triangles[index]], dst - offset)
        patch = cv2.warpAffine(layers, matrix, (right - left, bottom - top), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE)
        inside = np.zeros((bottom - top, right - left), np.uint8)
        cv2.fillConvexPoly(inside, np.round(dst - offset).astype(np.int32), 1)
        inside &= region[top:bottom, left:right].astype(np.uint8)
        out[top:bottom, left:right][inside > 0] = patch[inside > 0]
        found[top:bottom, left:right] |= inside
    return out, found > 0


def mirror_fill(
    image: NDArray[np.uint8],
    mesh: Mesh,
    canonical: CanonicalFace,
    region: NDArray[np.bool_],
    clear: NDArray[np.bool_],
) -> tuple[NDArray[np.uint8], NDArray[np.bool_]]:
    """`image` with `region` filled from the face's other side, and the part of `region` left unfilled:
    where its counterpart is not `clear` (the face, free of hair and occluders) or lies in `region` too.
    The light is matched, per channel, on the clear pixels in a ring around the region."""
    size = face_size(mesh)
    ring_px = max(2, int(round(RING_SHARE * size)))
    grown = cv2.dilate(region.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * ring_px + 1,) * 2))
    # The colours and, as a fourth layer, where the face is clear, carried in one pass.
    usable = (clear & ~region).astype(np.float32) * 255.0
    layers = np.dstack([image.astype(np.float32), usable])
    carried, found = _mirrored_texture(layers, mesh, canonical, grown > 0)
    mirrored = carried[..., :3]
    # The counterpart must be clear face: not the same lock again, nor hair at the other side's edge.
    found &= carried[..., 3] > 127
    ring = (grown > 0) & ~region & clear & found
    if ring.sum() < 8:
        return image, region
    here = image[ring].astype(np.float32)
    there = mirrored[ring]
    gain = np.median(here, axis=0) / np.maximum(np.median(there, axis=0), 1.0)
    filled = region & found
    edge = max(1, int(round(EDGE_SHARE * size)))
    spread = cv2.dilate(filled.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * edge + 1,) * 2))
    weight = cv2.GaussianBlur(spread.astype(np.float32), (0, 0), edge / 2.0) * found
    weight = np.where(filled, 1.0, weight)[..., None]
    blended = image * (1.0 - weight) + np.clip(mirrored * gain, 0, 255) * weight
    return np.clip(blended + 0.5, 0, 255).astype(np.uint8), region & ~found
