"""Landmark-aligned face transfer: similarity warp, light and colour transfer, occlusion, blending.

Everything works on a box around the target face, never on the whole image.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

import cv2
import numpy as np
from numpy.typing import NDArray

from pipeline.classic.detector import Points
from pipeline.classic.occlusion import (
    face_parts_68,
    glasses_keep_mask,
    has_glasses,
    occlusion_mask,
    remove_frames,
)
from pipeline.classic.tone import feather_alpha, match_detail, transfer_light_and_colour
from pipeline.face import Face
from pipeline.masks import face_polygon, face_region

ALIGN_POINTS: Final = slice(17, 68)  # brows, nose, eyes, mouth: the jaw line follows the target
SOURCE_CROP_MARGIN: Final = 0.35  # share of the face size kept around the source face
DOWNSCALE_FIRST_BELOW: Final = 0.8  # shrink the source crop with area averaging before a smaller warp
FEATHER_SHARE: Final = 0.07  # erosion before feathering, as a share of the face size
MIN_FACE_SIZE: Final = 8.0
SOURCE_FOREHEAD_SHARE: Final = 0.08  # take little forehead from the source: fringes and hairlines stay out


@dataclass(frozen=True)
class PreparedSource:
    """A crop of the source photo around its face, with the landmarks in crop pixels."""

    image: NDArray[np.uint8]
    landmarks: Points
    polygon: Points  # outline of the face part to transfer, in crop pixels
    had_glasses: bool = False  # frames were found and inpainted out of `image`


def prepare_source(image: NDArray[np.uint8], face: Face, landmarks: Points) -> PreparedSource:
    """Crop the source photo around the face so later warps touch only what they need."""
    dense_face = _with_landmarks(face, landmarks)
    outline = face_polygon(dense_face)
    blend_outline = face_polygon(dense_face, forehead_share=SOURCE_FOREHEAD_SHARE)
    size = _face_size(outline)
    margin = SOURCE_CROP_MARGIN * size
    height, width = image.shape[:2]
    x0 = int(max(0, np.floor(outline[:, 0].min() - margin)))
    y0 = int(max(0, np.floor(outline[:, 1].min() - margin)))
    x1 = int(min(width, np.ceil(outline[:, 0].max() + margin)))
    y1 = int(min(height, np.ceil(outline[:, 1].max() + margin)))
    offset = np.array([x0, y0], dtype=np.float32)
    crop = np.ascontiguousarray(image[y0:y1, x0:x1])
    crop_landmarks = (landmarks - offset).astype(np.float32)
    # Frames pasted onto another face end at its temples; inpainting them out of the source keeps
    # its eyes (identity) and leaves the target's own look around them.
    glasses = has_glasses(crop, crop_landmarks)
    return PreparedSource(
        image=remove_frames(crop, crop_landmarks) if glasses else crop,
        landmarks=crop_landmarks,
        polygon=(blend_outline - offset).astype(np.float32),
        had_glasses=glasses,
    )


def swap_into(
    result: NDArray[np.uint8], target: Face, target_landmarks: Points, source: PreparedSource
) -> None:
    """Blend `source` onto `target` inside its face mask, writing into `result` in place."""
    target_face = _with_landmarks(target, target_landmarks)
    target_outline = face_polygon(target_face)
    face_size = _face_size(target_outline)
    if face_size < MIN_FACE_SIZE or source.image.size == 0:
        return
    region = face_region(result.shape[:2], target_face)
    if region.is_empty:
        return
    box_origin = np.array([region.left, region.top], dtype=np.float32)
    box_h, box_w = region.face.shape
    matrix = similarity_transform(source.landmarks[ALIGN_POINTS], target_landmarks[ALIGN_POINTS] - box_origin)
    crop, crop_matrix = _shrink_source(source.image, matrix)
    warped = cv2.warpAffine(
        crop, crop_matrix, (box_w, box_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )

    source_mask = np.zeros((box_h, box_w), dtype=np.uint8)
    cv2.fillConvexPoly(source_mask, _pixels(_apply(matrix, source.polygon)), 255)
    source_inside = np.zeros((box_h, box_w), dtype=np.uint8)  # where the source photo has real pixels
    cv2.fillConvexPoly(source_inside, _pixels(_apply(matrix, _inner_corners(source.image))), 255)
    blend_mask = cv2.bitwise_and(cv2.bitwise_and(region.face, source_mask), source_inside)
    if target.landmarks is None or len(target.landmarks) != len(target_landmarks):
        # The caller's face has a coarser outline (e.g. a bbox ellipse): stay inside it too, so the
        # feathered edge lies within the swap region that the final composite allows.
        given_outline = np.zeros((box_h, box_w), dtype=np.uint8)
        cv2.fillConvexPoly(given_outline, _pixels(face_polygon(target) - box_origin), 255)
        blend_mask = cv2.bitwise_and(blend_mask, given_outline)
    if not blend_mask.any():
        return

    target_box = result[region.top : region.bottom, region.left : region.right]
    parts = face_parts_68((box_h, box_w), target_landmarks - box_origin)
    face = blend_mask.astype(np.float32) / 255.0
    corrected = transfer_light_and_colour(warped, target_box, face)
    corrected = match_detail(corrected, target_box, face)
    keep = occlusion_mask(target_box, face, parts.cheeks, parts.exempt)
    keep = np.maximum(keep, glasses_keep_mask(target_box, target_landmarks - box_origin))
    alpha = feather_alpha(blend_mask, FEATHER_SHARE * face_size) * (1.0 - keep)
    blended = corrected * alpha[..., None] + target_box.astype(np.float32) * (1.0 - alpha[..., None])
    target_box[...] = np.clip(blended + 0.5, 0, 255).astype(np.uint8)


def similarity_transform(source: Points, target: Points) -> NDArray[np.float64]:
    """Least-squares rotation, uniform scale and translation taking `source` onto `target` (Umeyama)."""
    src = source.astype(np.float64)
    dst = target.astype(np.float64)
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    covariance = dst_c.T @ src_c / len(src)
    u, singular, vt = np.linalg.svd(covariance)
    sign = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[1, 1] = -1.0
    rotation = u @ sign @ vt
    variance = (src_c**2).sum() / len(src)
    scale = float(np.trace(np.diag(singular) @ sign) / variance) if variance > 0 else 1.0
    translation = dst_mean - scale * rotation @ src_mean
    return np.hstack([scale * rotation, translation[:, None]])


def _shrink_source(
    crop: NDArray[np.uint8], matrix: NDArray[np.float64]
) -> tuple[NDArray[np.uint8], NDArray[np.float64]]:
    scale = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
    if scale >= DOWNSCALE_FIRST_BELOW:
        return crop, matrix
    width = max(1, int(round(crop.shape[1] * scale)))
    height = max(1, int(round(crop.shape[0] * scale)))
    small = cv2.resize(crop, (width, height), interpolation=cv2.INTER_AREA)
    factor_x = crop.shape[1] / width
    factor_y = crop.shape[0] / height
    adjusted = matrix.copy()
    adjusted[:, 0] *= factor_x
    adjusted[:, 1] *= factor_y
    return small, adjusted


def _apply(matrix: NDArray[np.float64], points: Points) -> Points:
    return (points.astype(np.float64) @ matrix[:, :2].T + matrix[:, 2]).astype(np.float32)


def _inner_corners(image: NDArray[np.uint8]) -> Points:
    height, width = image.shape[:2]
    inset = 1.0
    return np.array(
        [
            [inset, inset],
            [width - 1 - inset, inset],
            [width - 1 - inset, height - 1 - inset],
            [inset, height - 1 - inset],
        ],
        dtype=np.float32,
    )


def _pixels(points: Points) -> NDArray[np.int32]:
    return np.rint(points).astype(np.int32)


def _face_size(outline: Points) -> float:
    width, height = np.ptp(outline, axis=0)
    return float(np.sqrt(max(0.0, float(width) * float(height))))


def _with_landmarks(face: Face, landmarks: Points) -> Face:
    return replace(face, landmarks=tuple((float(x), float(y)) for x, y in landmarks))
