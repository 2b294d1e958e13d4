"""Hair strands falling over a source's forehead: found, so the source stage fills them with the forehead's
own skin. Pasted, they come out as dark dashes on the target's forehead, cut off where the source's
face ends.

A strand is a thin line much darker than the skin around it (a black-hat of the lightness, the kernel
`strand_width_share` eye distances wide, deeper than `strand_depth` of the forehead's median lightness),
long (`strand_min_length` eye distances), thin on average (area over length at most
`strand_max_thickness` eye distances), and falling (its main axis within `strand_max_tilt` degrees of the
face's vertical). Forehead wrinkles are shallower and lie across the face; brows are left out.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from pipeline.classic.face_geometry import eye_distance, face_down, face_size, main_axis
from pipeline.classic.settings import SourceSettings
from pipeline.mesh_topology import LEFT_EYE, RIGHT_EYE

MIN_EYE_DISTANCE = 8.0  # pixels: smaller faces are left as they are


def forehead_strands(
    image: NDArray[np.uint8],
    xy: NDArray[np.float32],
    oval: NDArray[np.bool_],
    features: NDArray[np.bool_],
    settings: SourceSettings,
) -> NDArray[np.bool_]:
    """The hair strands over the forehead (inside `oval`, above the eyes, outside the `features`), and
    where they go on next to and across the brows (narrow across the face, joined to a strand found on
    the forehead; a brow's own hairs are wide), True where they are. They are looked for with the face
    at most `strand_work_face` pixels large, so the cost stays flat."""
    scale = min(1.0, settings.strand_work_face / max(face_size(xy), 1.0))
    if scale >= 1.0:
        return _strands(image, xy, oval, features, settings)
    height, width = image.shape[:2]
    size = (max(1, int(round(width * scale))), max(1, int(round(height * scale))))

    def reduced(mask: NDArray[np.bool_]) -> NDArray[np.bool_]:
        return cv2.resize(mask.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0

    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    found = _strands(small, xy * scale, reduced(oval), reduced(features), settings)
    return cv2.resize(found.astype(np.uint8) * 255, (width, height), interpolation=cv2.INTER_LINEAR) > 127


def _strands(
    image: NDArray[np.uint8],
    xy: NDArray[np.float32],
    oval: NDArray[np.bool_],
    features: NDArray[np.bool_],
    settings: SourceSettings,
) -> NDArray[np.bool_]:
    found = np.zeros(image.shape[:2], dtype=bool)
    eye = eye_distance(xy)
    above_eyes = oval.copy()
    above_eyes[max(0, int(float(xy[list(RIGHT_EYE + LEFT_EYE), 1].min()))) :] = False
    forehead = above_eyes & ~features
    if eye < MIN_EYE_DISTANCE or not forehead.any():
        return found
    lightness = cv2.cvtColor(image, cv2.COLOR_RGB2LAB)[..., 0].astype(np.float32)
    size = max(3, int(round(settings.strand_width_share * eye)) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    dark = cv2.morphologyEx(lightness, cv2.MORPH_BLACKHAT, kernel)
    depth = settings.strand_depth * float(np.median(lightness[forehead]))
    lines = ((dark > depth) & forehead).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(lines, connectivity=8)
    vertical = face_down(xy)
    for label in range(1, count):
        left, top, width, height, area = (int(value) for value in stats[label])
        if area < 3 or np.hypot(width, height) < settings.strand_min_length * eye:
            continue  # too short along any axis: most of a forehead's dark specks end here
        ys, xs = np.nonzero(labels[top : top + height, left : left + width] == label)
        ys, xs = ys + top, xs + left
        points = np.column_stack([xs, ys]).astype(np.float32)
        length, _, axis = main_axis(points)
        tilt = float(np.degrees(np.arccos(min(1.0, abs(float(axis @ vertical))))))
        if (
            length >= settings.strand_min_length * eye
            and len(points) / max(length, 1.0) <= settings.strand_max_thickness * eye
            and tilt <= settings.strand_max_tilt
        ):
            found[ys, xs] = True
    if not found.any():
        return found
    # Where the strands go on next to and across the brows, only their narrowness across the face tells
    # them from the brows, which are wide.
    across = cv2.morphologyEx(lightness, cv2.MORPH_BLACKHAT, cv2.getStructuringElement(cv2.MORPH_RECT, (size, 1)))
    candidates = (((across > depth) & above_eyes) | found).astype(np.uint8)
    _, joined = cv2.connectedComponents(candidates, connectivity=8)
    strands = np.unique(joined[found])
    return np.isin(joined, strands[strands > 0])
