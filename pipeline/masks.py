"""Face masks: the stored template mask and the region an engine may change.

Contract for every engine: `swap()` changes no pixel outside the union of `swap_region()` of the
assigned target faces. Engines enforce it by compositing through these masks at the end.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from pipeline.mesh_topology import FACE_OVAL, LEFT_BROW, LEFT_EYE, LIPS_INNER, LIPS_OUTER, RIGHT_BROW, RIGHT_EYE
from pipeline.face import Face

Mask = NDArray[np.uint8]  # H x W, values 0 or 255
Polygon = NDArray[np.float32]  # N x 2, x then y

DENSE_68 = 68
FOREHEAD_SHARE = 0.28  # forehead height added above the brows, as a share of brow-to-chin distance
REGION_MARGIN_SHARE = 0.08  # swap_region dilation, as a share of the face size
MIN_REGION_MARGIN = 3  # pixels
ELLIPSE_STEP_DEGREES = 10
DISC_STEPS = 32


@dataclass(frozen=True)
class FaceRegion:
    """The face mask and the allowed-change mask of one face, cropped to a box around them."""

    top: int
    left: int
    face: Mask  # face mask inside the box
    allowed: Mask  # swap region inside the box

    @property
    def bottom(self) -> int:
        return self.top + self.face.shape[0]

    @property
    def right(self) -> int:
        return self.left + self.face.shape[1]

    @property
    def is_empty(self) -> bool:
        return self.face.size == 0


def face_polygon(face: Face, *, forehead_share: float = FOREHEAD_SHARE) -> Polygon:
    """The outline of the face: the mesh's face oval, landmark hull plus forehead, or a bbox ellipse."""
    mesh = face.mesh_array()
    landmarks = face.landmarks_array()
    if mesh is not None and len(mesh) > max(FACE_OVAL):
        oval = mesh[list(FACE_OVAL), :2]
        if landmarks is not None and len(landmarks) == DENSE_68:
            oval = np.concatenate([oval, landmarks[:27]])  # dlib's jaw and brows, where they stray outside
        return _hull(oval)
    if landmarks is not None and len(landmarks) == DENSE_68:
        return _hull(np.concatenate([landmarks[0:17], _forehead_points(landmarks, forehead_share)]))
    if landmarks is not None and len(landmarks) >= 3:
        return _hull(landmarks)
    return _bbox_ellipse(face)


MESH_REGIONS: dict[str, tuple[tuple[int, ...], ...]] = {
    "face_oval": (FACE_OVAL,),
    "lips": (LIPS_OUTER,),
    "mouth_interior": (LIPS_INNER,),
    "eyes": (RIGHT_EYE, LEFT_EYE),
    "brows": (RIGHT_BROW, LEFT_BROW),
}


def mesh_region_polygons(face: Face, region: str) -> list[Polygon]:
    """The closed contours of a mesh region ("face_oval", "lips", "mouth_interior", "eyes", "brows").

    Lips are the ring between the outer and inner lip contours: fill "lips" and clear "mouth_interior".
    Raise ValueError for a face without a mesh or an unknown region.
    """
    mesh = face.mesh_array()
    if mesh is None:
        raise ValueError("this face has no mesh")
    if region not in MESH_REGIONS:
        raise ValueError(f"unknown mesh region {region!r}; known: {', '.join(MESH_REGIONS)}")
    return [mesh[list(ring), :2].astype(np.float32) for ring in MESH_REGIONS[region]]


def mesh_region_mask(shape_hw: tuple[int, int], face: Face, region: str) -> Mask:
    """Full-size 0/255 mask of a mesh region (the lips exclude the mouth opening)."""
    mask = np.zeros((int(shape_hw[0]), int(shape_hw[1])), dtype=np.uint8)
    polygons = [_pixel_points(p, 0, 0) for p in mesh_region_polygons(face, region)]
    cv2.fillPoly(mask, polygons, 255)
    if region == "lips":
        cv2.fillPoly(mask, [_pixel_points(p, 0, 0) for p in mesh_region_polygons(face, "mouth_interior")], 0)
    return mask



def face_region(shape_hw: tuple[int, int], face: Face, *, pad: int = 0) -> FaceRegion:
    """Face and swap-region masks in a box around the face, grown by `pad` and clipped to the image."""
    height, width = int(shape_hw[0]), int(shape_hw[1])
    polygon = face_polygon(face)
    margin = _margin_for(polygon)
    grow = margin + pad + 1
    x0 = max(0, int(np.floor(polygon[:, 0].min())) - grow)
    y0 = max(0, int(np.floor(polygon[:, 1].min())) - grow)
    x1 = min(width, int(np.ceil(polygon[:, 0].max())) + grow + 1)
    y1 = min(height, int(np.ceil(polygon[:, 1].max())) + grow + 1)
    if x1 <= x0 or y1 <= y0:
        empty = np.zeros((0, 0), dtype=np.uint8)
        return FaceRegion(top=0, left=0, face=empty, allowed=empty)
    face_roi = np.zeros((y1 - y0, x1 - x0), dtype=np.uint8)
    cv2.fillConvexPoly(face_roi, _pixel_points(polygon, x0, y0), 255, lineType=cv2.LINE_8)
    # The outline is convex, so its dilation by a disc is the hull of discs around its corners: one
    # polygon fill, whatever the margin (a morphological dilation costs margin x area).
    allowed_roi = np.zeros_like(face_roi)
    cv2.fillConvexPoly(allowed_roi, _pixel_points(_grown(polygon, margin), x0, y0), 255, lineType=cv2.LINE_8)
    np.maximum(allowed_roi, face_roi, out=allowed_roi)
    return FaceRegion(top=y0, left=x0, face=face_roi, allowed=allowed_roi)


def face_mask(shape_hw: tuple[int, int], face: Face) -> Mask:
    """Full-size 0/255 mask of the face (landmark hull with forehead, or an ellipse)."""
    region = face_region(shape_hw, face)
    return _place(shape_hw, region, region.face)


def swap_region(shape_hw: tuple[int, int], face: Face) -> Mask:
    """Full-size 0/255 mask of the pixels an engine may change for this face."""
    region = face_region(shape_hw, face)
    return _place(shape_hw, region, region.allowed)


def combined_mask(shape_hw: tuple[int, int], faces: list[Face]) -> Mask:
    """Union of the face masks of all faces (the stored template mask image)."""
    return _union(shape_hw, faces, lambda region: region.face)


def combined_swap_region(shape_hw: tuple[int, int], faces: list[Face]) -> Mask:
    """Union of swap_region() of the faces: everything an engine may change for them."""
    return _union(shape_hw, faces, lambda region: region.allowed)


def _union(shape_hw: tuple[int, int], faces: list[Face], part: Callable[[FaceRegion], Mask]) -> Mask:
    mask = np.zeros((int(shape_hw[0]), int(shape_hw[1])), dtype=np.uint8)
    for face in faces:
        region = face_region(shape_hw, face)
        if not region.is_empty:
            view = mask[region.top : region.bottom, region.left : region.right]
            np.maximum(view, part(region), out=view)
    return mask


def restrict_to_regions(
    original: NDArray[np.uint8], edited: NDArray[np.uint8], faces: list[Face]
) -> NDArray[np.uint8]:
    """`edited` inside the swap regions of `faces`, `original` everywhere else (a new array)."""
    result = original.copy()
    for face in faces:
        region = face_region(original.shape[:2], face)
        if region.is_empty:
            continue
        rows = slice(region.top, region.bottom)
        cols = slice(region.left, region.right)
        cv2.copyTo(edited[rows, cols], region.allowed, result[rows, cols])  # writes into the view
    return result


def restrict_in_place(original: NDArray[np.uint8], edited: NDArray[np.uint8], faces: list[Face]) -> None:
    """Put `original` back into `edited` outside the union of the swap regions of `faces`.

    For an engine that changed `edited` only inside boxes around `faces`: it avoids a full-image copy.
    """
    height, width = original.shape[:2]
    allowed = np.zeros((height, width), dtype=bool)
    boxes = []
    for face in faces:
        region = face_region((height, width), face)
        if region.is_empty:
            continue
        rows = slice(region.top, region.bottom)
        cols = slice(region.left, region.right)
        allowed[rows, cols] |= region.allowed > 0
        boxes.append((rows, cols))
    for rows, cols in boxes:
        outside = (~allowed[rows, cols]).astype(np.uint8)
        cv2.copyTo(original[rows, cols], outside, edited[rows, cols])  # writes into the view


def mask_geometry(face: Face) -> dict[str, Any]:
    """JSON-serializable description of the face mask, for storage next to the face."""
    polygon = face_polygon(face)
    return {
        "kind": "polygon",
        "points": [[round(float(x), 1), round(float(y), 1)] for x, y in polygon],
        "swap_margin": _margin_for(polygon),
    }


def _margin_for(polygon: Polygon) -> int:
    width, height = np.ptp(polygon, axis=0)
    return max(MIN_REGION_MARGIN, int(round(REGION_MARGIN_SHARE * float(np.sqrt(width * height)))))


def _grown(polygon: Polygon, margin: float) -> Polygon:
    """The convex hull of discs of radius `margin` around the polygon's corners."""
    angles = np.linspace(0.0, 2.0 * np.pi, DISC_STEPS, endpoint=False)
    disc = np.stack([np.cos(angles), np.sin(angles)], axis=1).astype(np.float32) * float(margin)
    return _hull((polygon[:, None, :] + disc[None, :, :]).reshape(-1, 2))


def _forehead_points(landmarks: Polygon, share: float) -> Polygon:
    brows = landmarks[17:27]
    chin = landmarks[8]
    brow_centre = brows.mean(axis=0)
    up = brow_centre - chin
    length = float(np.hypot(*up))
    if length < 1e-6:
        return brows
    return brows + up / length * (share * length)


def _bbox_ellipse(face: Face) -> Polygon:
    x1, y1, x2, y2 = face.bbox
    centre = ((x1 + x2) / 2.0, (y1 + y2) / 2.0)
    axes = (max(1.0, (x2 - x1) / 2.0), max(1.0, (y2 - y1) / 2.0))
    angle = 0.0
    if len(face.kps) >= 2:
        (lx, ly), (rx, ry) = face.kps[0], face.kps[1]
        angle = float(np.degrees(np.arctan2(ry - ly, rx - lx)))
    points = cv2.ellipse2Poly(
        (int(round(centre[0])), int(round(centre[1]))),
        (int(round(axes[0])), int(round(axes[1]))),
        int(round(angle)),
        0,
        360,
        ELLIPSE_STEP_DEGREES,
    )
    return points.astype(np.float32)


def _hull(points: NDArray[np.float32]) -> Polygon:
    hull = cv2.convexHull(np.asarray(points, dtype=np.float32))
    return hull.reshape(-1, 2).astype(np.float32)


def _pixel_points(polygon: Polygon, x0: int, y0: int) -> NDArray[np.int32]:
    shifted = np.rint(polygon - np.array([x0, y0], dtype=np.float32))
    return shifted.astype(np.int32).reshape(-1, 1, 2)


def _place(shape_hw: tuple[int, int], region: FaceRegion, roi: Mask) -> Mask:
    mask = np.zeros((int(shape_hw[0]), int(shape_hw[1])), dtype=np.uint8)
    if not region.is_empty:
        mask[region.top : region.bottom, region.left : region.right] = roi
    return mask


def feathered_weight(region: FaceRegion, feather_share: float) -> NDArray[np.float32]:
    """0..1 weights over the region's box: 1 deep inside its swap area, a soft ramp (`feather_share` of
    the area's size) towards its edge, and exactly 0 outside it (so blending through it keeps the contract)."""
    allowed = region.allowed
    area = int(np.count_nonzero(allowed))
    if region.is_empty or area == 0:
        return np.zeros(allowed.shape, dtype=np.float32)
    ramp = max(1, int(feather_share * np.sqrt(area)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * ramp + 1, 2 * ramp + 1))
    core = cv2.erode(allowed, kernel, borderType=cv2.BORDER_CONSTANT, borderValue=0)
    weight = cv2.GaussianBlur(core.astype(np.float32) / 255.0, (2 * ramp + 1, 2 * ramp + 1), 0)
    weight[allowed == 0] = 0.0
    return weight
