"""The composite stage: the toned source blended over the target inside the regions' masks."""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from pipeline.classic.regions import Regions
from pipeline.classic.settings import CompositeSettings


def composite(
    target_box: NDArray[np.uint8],
    toned: NDArray[np.float32],
    regions: Regions,
    face_size: float,
    grid_scale: float,
    settings: CompositeSettings,
) -> None:
    """Blend `toned` into `target_box` in place: fully inside the face (feathered towards its edge, on the
    working grid of `grid_scale` pixels per box pixel), never where the target stays in front."""
    alpha_small = feather(regions.face, settings.feather_share * face_size * grid_scale)
    if regions.mouth is not None:
        alpha_small *= 1.0 - regions.mouth
    box_size = (target_box.shape[1], target_box.shape[0])
    alpha = cv2.resize(alpha_small, box_size, interpolation=cv2.INTER_LINEAR) * (1.0 - regions.kept)
    blended = cv2.blendLinear(toned, target_box.astype(np.float32), alpha, 1.0 - alpha)
    target_box[...] = cv2.convertScaleAbs(blended)  # rounded and saturated to 0..255


def feather(mask: NDArray[np.uint8], width: float) -> NDArray[np.float32]:
    """A 0..1 alpha that is 1 deep inside the mask and falls smoothly to 0 before its edge."""
    erosion = max(1, int(round(width)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * erosion + 1, 2 * erosion + 1))
    inner = cv2.erode(mask, kernel)
    alpha = cv2.GaussianBlur(inner.astype(np.float32) / 255.0, (0, 0), max(0.5, erosion / 2.5))
    alpha[mask == 0] = 0.0
    return alpha
