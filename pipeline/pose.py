"""Head yaw from face points, and the note shown when a source and a target are turned too differently.

Engine-neutral: it needs only the 5 keypoints (eyes, nose tip, mouth corners) that every engine gives;
a 478-point mesh, when the face has one, is used for a steadier figure.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
from numpy.typing import NDArray

from pipeline.face import Face

# Nose-tip depth in front of the eye line over half the eye distance, on an average face (MediaPipe's
# canonical model: eye centres at x = +-3.1, nose tip 3.9 in front of them).
NOSE_DEPTH_PER_HALF_EYE: Final = 1.25
MAX_YAW_DIFFERENCE: Final = 35.0  # degrees the warp handles between source and target
MAX_SOURCE_YAW: Final = 45.0  # a source turned further shows too little of its far half ...
FAR_HALF_MARGIN: Final = 12.0  # ... for a target at least this much more frontal
MIRROR_BEYOND: Final = 8.0  # both faces turned at least this far, to opposite sides: mirror the source
MESH_NOSE_TIP: Final = 1
MESH_EYE_CORNERS: Final = (33, 133, 362, 263)  # subject's right eye outer/inner, left eye inner/outer


def estimate_yaw(face: Face) -> float:
    """Yaw in degrees: 0 frontal, positive when the nose points to the image right."""
    mesh = face.mesh_array()
    if mesh is not None and len(mesh) > max(MESH_EYE_CORNERS):
        return mesh_yaw(mesh)
    kps = face.kps_array()
    return yaw_from_points(kps[0], kps[1], kps[2])


def mesh_yaw(mesh: NDArray[np.float32]) -> float:
    """Yaw in degrees from a 468/478-point mesh: its eye corners and nose tip."""
    corners = mesh[list(MESH_EYE_CORNERS), :2]
    first, second = sorted([corners[:2].mean(axis=0), corners[2:].mean(axis=0)], key=lambda p: float(p[0]))
    return yaw_from_points(first, second, mesh[MESH_NOSE_TIP, :2])


def yaw_from_points(first_eye: np.ndarray, second_eye: np.ndarray, nose: np.ndarray) -> float:
    """Yaw from the two eye centres (image-left first) and the nose tip.

    The nose tip sits `depth` in front of the eye line, so turning by yaw moves it sideways by
    depth * sin(yaw) while the half eye distance shrinks to half * cos(yaw).
    """
    axis = np.asarray(second_eye, dtype=np.float64) - np.asarray(first_eye, dtype=np.float64)
    half = float(np.hypot(*axis)) / 2.0
    if half < 1e-6:
        return 0.0
    unit = axis / (2.0 * half)
    middle = (np.asarray(first_eye, dtype=np.float64) + np.asarray(second_eye, dtype=np.float64)) / 2.0
    offset = float((np.asarray(nose, dtype=np.float64) - middle) @ unit)
    return math.degrees(math.atan2(offset, NOSE_DEPTH_PER_HALF_EYE * half))


def should_mirror(source_yaw: float, target_yaw: float) -> bool:
    """True when the faces look to opposite sides, each clearly turned: a mirrored source fits better."""
    return source_yaw * target_yaw < 0 and min(abs(source_yaw), abs(target_yaw)) >= MIRROR_BEYOND


def pose_note(source: Face, target: Face) -> str | None:
    """A short note when source and target yaw differ beyond what the warp handles, or the source is turned
    so far that a more frontal target would need its hidden half, else None."""
    source_yaw, target_yaw = estimate_yaw(source), estimate_yaw(target)
    if should_mirror(source_yaw, target_yaw):
        source_yaw = -source_yaw
    difference = abs(source_yaw - target_yaw)
    far_half_hidden = abs(source_yaw) > MAX_SOURCE_YAW and abs(target_yaw) <= abs(source_yaw) - FAR_HALF_MARGIN
    if difference <= MAX_YAW_DIFFERENCE and not far_half_hidden:
        return None
    return (
        f"head turned differently (source {source_yaw:+.0f}°, target {target_yaw:+.0f}°): "
        "the hidden side is mirrored from the visible one, or the template face kept; "
        "a photo facing the same way looks better"
    )
