"""Advice about a couple member's photo, shown at upload. Engine-neutral: it needs only a `Face`.

Each piece of advice is one short sentence; an empty list means nothing to say.
"""

from __future__ import annotations

from typing import Final

import numpy as np
from numpy.typing import NDArray

from pipeline.classic.glasses import has_glasses
from pipeline.face import Face, RGBImage

GLASSES_ADVICE: Final = "glasses on this photo: results look best without them"
SMALL_FACE_ADVICE: Final = "the face on this photo is small: a closer photo gives a sharper result"
SMALL_FACE_PX: Final = 80.0  # faces narrower than this (bbox width, pixels) get blurry once upscaled
_DENSE_POINT_COUNTS: Final = (68, 468, 478)


def source_advice(image: RGBImage, face: Face) -> list[str]:
    """What to tell the user about this source photo and face (glasses, a small face)."""
    advice: list[str] = []
    points = _eye_points(face)
    if points is not None and has_glasses(np.asarray(image), points):
        advice.append(GLASSES_ADVICE)
    x1, _, x2, _ = face.bbox
    if x2 - x1 < SMALL_FACE_PX:
        advice.append(SMALL_FACE_ADVICE)
    return advice


def _eye_points(face: Face) -> NDArray[np.float32] | None:
    """Dense landmarks when the engine gave them, else the 5 key points (eye centres first)."""
    landmarks = face.landmarks_array()
    if landmarks is not None and len(landmarks) in _DENSE_POINT_COUNTS:
        return landmarks
    if len(face.kps) >= 5:
        return face.kps_array()[:5]
    return None
