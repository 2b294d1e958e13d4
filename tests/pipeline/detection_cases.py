"""Faces made in code for the detection checks: sunglasses drawn on the 68 landmarks, and a face pasted
small on a plain background (used by tests/pipeline/classic/test_full_range.py and tools/detection_recall.py)."""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

RGB = NDArray[np.uint8]
Box = tuple[float, float, float, float]


def sunglasses(image: RGB, landmarks: NDArray[np.float32]) -> RGB:
    """Dark lenses over both eyes, a bridge and the temples, drawn from the 68 landmarks."""
    out = image.copy()
    right_eye, left_eye = landmarks[36:42].mean(axis=0), landmarks[42:48].mean(axis=0)
    distance = float(np.hypot(*(left_eye - right_eye)))
    angle = float(np.degrees(np.arctan2(*(left_eye - right_eye)[::-1])))
    axes = (int(0.47 * distance), int(0.34 * distance))  # wide lenses that nearly meet at the bridge
    thickness = max(1, int(0.06 * distance))
    colour = (18, 18, 22)
    for centre in (right_eye, left_eye):
        cv2.ellipse(out, (int(centre[0]), int(centre[1] + 0.05 * distance)), axes, angle, 0, 360, colour, -1, cv2.LINE_AA)
    cv2.line(out, tuple(int(v) for v in landmarks[39]), tuple(int(v) for v in landmarks[42]), colour, thickness, cv2.LINE_AA)
    for eye, ear in ((right_eye, landmarks[0]), (left_eye, landmarks[16])):
        start = eye + (eye - (left_eye + right_eye) / 2) * 0.75
        cv2.line(out, tuple(int(v) for v in start), (int(ear[0]), int(eye[1])), colour, thickness, cv2.LINE_AA)
    return out


def on_canvas(crop: RGB, box: Box, width_px: int, rng: np.random.Generator) -> tuple[RGB, Box]:
    """`crop` scaled so the face box is `width_px` wide, pasted on a 1280x960 plain background."""
    scale = width_px / (box[2] - box[0])
    small = cv2.resize(crop, (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale))),
                       interpolation=cv2.INTER_AREA)
    canvas = background(1280, 960, rng)
    height, width = small.shape[:2]
    x = int(rng.integers(0, max(1, 1280 - width)))
    y = int(rng.integers(0, max(1, 960 - height)))
    canvas[y : y + height, x : x + width] = small[: 960 - y, : 1280 - x]
    return canvas, (box[0] * scale + x, box[1] * scale + y, box[2] * scale + x, box[3] * scale + y)


def background(width: int, height: int, rng: np.random.Generator) -> RGB:
    """A smooth two-colour gradient with mild noise: no face, no edge a detector could take for one."""
    top, bottom = rng.integers(40, 215, 3), rng.integers(40, 215, 3)
    ramp = np.linspace(0.0, 1.0, height)[:, None, None]
    image = top * (1 - ramp) + bottom * ramp + rng.normal(0, 4, (height, width, 3))
    return np.clip(np.broadcast_to(image, (height, width, 3)), 0, 255).astype(np.uint8)
