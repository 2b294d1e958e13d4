"""Smooth fills of masked pixels from the pixels around them (biharmonic): smooth, with no streaks
(Telea's fill draws lines along the mask's edges, and drew lens outlines back in)."""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray
from skimage.restoration import inpaint_biharmonic


def biharmonic_fill(image: NDArray[np.uint8], mask: NDArray[np.bool_]) -> NDArray[np.uint8]:
    """`image` (RGB) with the pixels under `mask` filled biharmonically from the rest."""
    smooth = inpaint_biharmonic(image.astype(np.float64) / 255.0, mask, channel_axis=-1)
    return np.clip(smooth * 255.0 + 0.5, 0, 255).astype(np.uint8)


def smooth_fill(
    image: NDArray[np.uint8], mask: NDArray[np.bool_], scale: float, ignored: NDArray[np.bool_] | None = None
) -> NDArray[np.uint8]:
    """`image` with the pixels under `mask` replaced by a biharmonic fill, computed on a copy reduced by
    `scale` (at most 1) around the mask's bounding box; the rest untouched. The `ignored` pixels (lips
    beside a cheek) are left out of what the fill grows from."""
    result = image.copy()
    rows, cols = np.nonzero(mask)
    if rows.size == 0:
        return result
    height, width = mask.shape
    margin = max(4, int(round(0.25 * max(np.ptp(rows), np.ptp(cols)))))
    top, bottom = max(0, int(rows.min()) - margin), min(height, int(rows.max()) + margin + 1)
    left, right = max(0, int(cols.min()) - margin), min(width, int(cols.max()) + margin + 1)
    box_h, box_w = bottom - top, right - left
    size = (max(4, int(round(box_w * scale))), max(4, int(round(box_h * scale))))
    small = cv2.resize(image[top:bottom, left:right], size, interpolation=cv2.INTER_AREA)
    unknown = mask if ignored is None else mask | ignored
    small_mask = cv2.resize(unknown[top:bottom, left:right].astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
    small_mask = cv2.dilate(small_mask.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    filled = cv2.resize(biharmonic_fill(small, small_mask), (box_w, box_h), interpolation=cv2.INTER_CUBIC)
    view = result[top:bottom, left:right]
    inside = mask[top:bottom, left:right]
    view[inside] = filled[inside]
    return result
