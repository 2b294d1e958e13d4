"""Mesh-based face transfer: the source's texture mapped onto the target's mesh triangles.

The target keeps its pose, expression and face outline; a share of the source's inner-face geometry
(eye, nose and mouth shapes and spacing) is added for identity. The warp map and the colour fields are
built on a face-sized working grid of at most WORK_FACE_SIZE pixels and then upsampled (the piecewise
affine map is continuous, so upsampling it is nearly exact); only the final remap and blend run at the
target's resolution. Time per face is therefore nearly flat in the face size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import cv2
import numpy as np
from numpy.typing import NDArray

from pipeline.classic.deblock import BLOCK as JPEG_BLOCK
from pipeline.classic.deblock import deblock
from pipeline.classic.glasses import glasses_keep_mask, has_glasses, remove_frames
from pipeline.classic.mesh import (
    CANONICAL_POINTS,
    CanonicalFace,
    Mesh,
    mirror_mesh,
    mouth_openness,
    similarity_transform,
)
from pipeline.classic.occlusion import beard_mask, occlusion_mask
from pipeline.classic.tone import match_detail, match_edge_light, transfer_light_and_colour
from pipeline.face import Face
from pipeline.masks import face_polygon
from pipeline.mesh_topology import (
    CHIN,
    FACE_OVAL,
    FOREHEAD,
    LEFT_BROW,
    LEFT_EYE,
    LIPS_INNER,
    LIPS_OUTER,
    NOSE_TIP,
    RIGHT_BROW,
    RIGHT_CHEEK,
    RIGHT_EYE,
)
from pipeline.pose import MAX_YAW_DIFFERENCE, should_mirror, yaw_from_points

GEOMETRY_SHARE: Final = 1.0  # share of the source's inner-face geometry put on the target mesh
OUTLINE_SHARE: Final = 0.0  # share of the source's face outline (jaw, cheeks) put on the target mesh
WORK_FACE_SIZE: Final = 160.0  # face size (pixels) of the working grid for the map, masks and colour
SOURCE_FACE_LIMIT: Final = 1.4  # a source face larger than this x the target's is shrunk first
SOURCE_CROP_MARGIN: Final = 0.25  # share of the face size kept around the source mesh
FEATHER_SHARE: Final = 0.05  # erosion before feathering, as a share of the face size
MOUTH_FEATHER_SHARE: Final = 0.015
TONE_FACE_SIZE: Final = 128.0  # light, colour, detail and occlusion run with the face at most this large
EXEMPT_GROW_SHARE: Final = 0.12  # eyes, brows and lips masks grown by this share of the eye distance
EXEMPT_BROW_SHARE: Final = 0.15  # brow band thickness, as a share of the eye distance
EYES_REGION_SHARE: Final = 1.2  # the eyes grown by this share of the eye distance: their light stays the source's
EYES_REGION_EDGE: Final = (0.8, 1.2)  # ... fully inside that ellipse's radius 0.8, fading out by 1.2
MOUTH_OPEN: Final = 0.12  # inner-lip gap / mouth width above which a mouth counts as open
HALF_FILL_YAW: Final = 28.0  # a source turned further: its far half is filled from the mirrored near half
HALF_FILL_MARGIN: Final = 12.0  # ... when the target is at least this much more frontal
FOREHEAD_KEEP: Final = 0.8  # share of the forehead (brows to the oval's top) taken from the source
FOREHEAD_MIN: Final = 0.15  # ... but at least this much, even under a fringe
FOREHEAD_MARGIN: Final = 0.0  # ... and this much less than the source's bare forehead reaches
FOREHEAD_STEPS: Final = 12  # samples from the brows to the forehead's top, per line
FOREHEAD_PATCH_SHARE: Final = 0.06  # sample patch radius, as a share of the eye distance
FOREHEAD_START: Final = 0.25  # sampling starts this far up (clear of the brows themselves)
FOREHEAD_SKIN_DISTANCE: Final = 16.0  # CIELAB distance from the cheeks beyond which it is not skin
FOREHEAD_L_WEIGHT: Final = 0.4  # lightness counts less: a forehead is often lit unlike the cheeks
OVAL_INSET: Final = 0.01  # the whole oval pulled towards the nose tip: the source's own edge (hair, background) stays out
TEMPLE_INSET: Final = 0.04  # upper oval points pulled towards the eyes' middle by up to this share
FRONT_FACING_MIN: Final = 0.05  # a target triangle narrower than this share of its canonical area is hidden
MIN_FACE_SIZE: Final = 8.0
BOX_PAD: Final = 2
DLIB_POINTS: Final = 68
MAX_STRETCH: Final = 3.0  # a triangle enlarged more than this x the face's average keeps the target's skin
MAX_STRETCHED_SHARE: Final = 0.25  # more of the face than this overstretched (and a pose note): the template stays
FAR_BLEND_BAND: Final = (-0.05, 0.3)  # the hidden side's mirrored fill ramps in across this share of the half width
FINGER_GAP_SHARE: Final = 0.15  # finger gaps are found as dark lines narrower than this share of the eye distance
FINGER_LINE_DEPTH: Final = 0.15  # ... this share of the face's median lightness darker than around them
FINGER_LINE_LENGTH: Final = 0.6  # ... at least this many eye distances long
FINGER_LINE_ELONGATION: Final = 4.0  # ... and this many times as wide as high
FINGER_LINES: Final = 2  # ... this many of them on the forehead: a hand lies there
FINGER_GROW: Final = (0.45, 0.2)  # the lines' hull grown by this many eye distances across and along them
SOURCE_OCCLUDER_SHARE: Final = 0.04  # a non-skin region of the source this share of its oval is an occluder
OCCLUDER_GROW_SHARE: Final = 0.02  # ... grown and softened by this share of the face size
SUBNASALE: Final = 2  # mesh point under the nose: a beard region starts below it
BEARD_KEPT_MIN: Final = 0.02  # share of the lower face the target's occluders must cover to look for a beard
BEARD_EDGE_SHARE: Final = 0.08  # the beard region's soft upper edge, as a share of the eye distance
DEGENERATE_AREA: Final = 0.05  # square pixels: a target triangle smaller than this has collapsed


@dataclass(frozen=True)
class PreparedSource:
    """A crop of the source photo around its face, the mesh in crop pixels, and its mirror image."""

    image: NDArray[np.uint8]
    mesh: Mesh
    mirrored_image: NDArray[np.uint8] = field(repr=False)
    mirrored_mesh: Mesh = field(repr=False)
    yaw: float
    mouth_open: bool
    had_glasses: bool = False  # frames were found and inpainted out of `image`
    forehead_skin: float = 1.0  # share of the forehead (brows to the mesh's top) that is bare skin
    occluder: NDArray[np.float32] | None = field(default=None, repr=False)  # 0..1: not the face (an object, a hand)

    @property
    def face_size(self) -> float:
        return face_size(self.mesh)


def prepare_source(image: NDArray[np.uint8], mesh: Mesh, canonical: CanonicalFace) -> PreparedSource:
    """Crop the source photo around its mesh so later warps touch only what they need."""
    size = face_size(mesh)
    margin = SOURCE_CROP_MARGIN * size
    height, width = image.shape[:2]
    # The corner stays on the photo's 8 x 8 grid, so a heavy JPEG's blocks can be found in the crop.
    x0 = int(max(0, np.floor(mesh[:, 0].min() - margin))) // JPEG_BLOCK * JPEG_BLOCK
    y0 = int(max(0, np.floor(mesh[:, 1].min() - margin))) // JPEG_BLOCK * JPEG_BLOCK
    x1 = int(min(width, np.ceil(mesh[:, 0].max() + margin)))
    y1 = int(min(height, np.ceil(mesh[:, 1].max() + margin)))
    crop = np.ascontiguousarray(image[y0:y1, x0:x1])
    local = mesh.copy()
    local[:, 0] -= x0
    local[:, 1] -= y0
    crop = deblock(crop)  # a heavy JPEG's block grid would show as tiles on the target's skin
    # Frames pasted onto another face end at its temples: inpaint them out of the source.
    glasses = has_glasses(crop, local)
    if glasses:
        crop = remove_frames(crop, local)
    return PreparedSource(
        image=crop,
        mesh=local,
        mirrored_image=np.ascontiguousarray(crop[:, ::-1]),
        mirrored_mesh=mirror_mesh(local, crop.shape[1], canonical.mirror),
        yaw=mesh_yaw(local),
        mouth_open=mouth_openness(local) > MOUTH_OPEN,
        had_glasses=glasses,
        forehead_skin=forehead_skin_share(crop, local, canonical),
        occluder=source_occluders(crop, local, canonical),
    )


def source_occluders(image: NDArray[np.uint8], mesh: Mesh, canonical: CanonicalFace) -> NDArray[np.float32]:
    """What covers the source face (an object, a hand of another colour), 0..1 in crop pixels: the skin
    model learnt on the source's own cheeks, where both are seen whole. Those pixels are never pasted;
    the target keeps its own face there. Only large regions count (an object held over a cheek need not
    reach the oval's border); the source's hair at the face's edge is left to the warped-source check in
    _tone."""
    xy = mesh[:CANONICAL_POINTS, :2].astype(np.float32)
    shape_hw = image.shape[:2]
    oval = np.zeros(shape_hw, dtype=np.uint8)
    cv2.fillPoly(oval, [_pixels(xy[list(FACE_OVAL)])], 255)
    cheeks, exempt = _face_parts(xy, canonical, shape_hw)
    oval_mask = oval.astype(np.float32) / 255.0
    by_colour = occlusion_mask(
        image, oval_mask, cheeks, exempt, large_share=SOURCE_OCCLUDER_SHARE, reaching_edge=False, robust=True
    )
    return np.maximum(by_colour, finger_bands(image, xy, oval > 0))


def finger_bands(image: NDArray[np.uint8], xy: NDArray[np.float32], oval: NDArray[np.bool_]) -> NDArray[np.float32]:
    """Fingers across the forehead, 0..1: a skin-coloured hand passes the skin model, but the gaps between
    its fingers are long, straight dark lines that a bare forehead does not have (FINGER_LINES of them,
    each at least FINGER_LINE_LENGTH eye distances long and FINGER_LINE_ELONGATION times as wide as
    high, FINGER_LINE_DEPTH of the face's median lightness darker than their surroundings). The region
    is their hull grown by FINGER_GROW eye distances (the fingers on either side of the gaps, down over
    the brows and eyes they cover)."""
    eye = _eye_distance(xy)
    found = np.zeros(image.shape[:2], dtype=np.float32)
    if eye < MIN_FACE_SIZE or not oval.any():
        return found
    lightness = cv2.cvtColor(image, cv2.COLOR_RGB2LAB)[..., 0].astype(np.float32)
    size = max(3, int(round(FINGER_GAP_SHARE * eye)) | 1)
    gaps = cv2.morphologyEx(lightness, cv2.MORPH_BLACKHAT, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)))
    forehead = oval.copy()
    forehead[max(0, int(float(xy[list(RIGHT_BROW + LEFT_BROW), 1].min()) - 0.05 * eye)) :] = False
    lines = ((gaps > FINGER_LINE_DEPTH * float(np.median(lightness[oval]))) & forehead).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(lines, connectivity=8)
    width, height = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]
    long = [
        i
        for i in range(1, count)
        if width[i] >= FINGER_LINE_LENGTH * eye and width[i] >= FINGER_LINE_ELONGATION * height[i]
    ]
    if len(long) < FINGER_LINES:
        return found
    points = np.column_stack(np.nonzero(np.isin(labels, long))[::-1]).astype(np.int32)
    band = np.zeros(image.shape[:2], dtype=np.uint8)
    cv2.fillConvexPoly(band, cv2.convexHull(points), 255)
    across, along = (max(1, int(round(share * eye))) for share in FINGER_GROW)
    band = cv2.dilate(band, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * along + 1, 2 * across + 1)))
    return (band.astype(np.float32) / 255.0) * oval


def swap_into(
    result: NDArray[np.uint8],
    target: Face,
    target_mesh: Mesh,
    source: PreparedSource,
    canonical: CanonicalFace,
    *,
    geometry_share: float = GEOMETRY_SHARE,
    outline_share: float = OUTLINE_SHARE,
) -> None:
    """Map `source` onto the target face's mesh and blend it in, writing into `result` in place."""
    target_xy = target_mesh[:CANONICAL_POINTS, :2].astype(np.float32)
    size = face_size(target_mesh)
    if size < MIN_FACE_SIZE or source.image.size == 0:
        return
    height, width = result.shape[:2]
    oval = target_xy[list(FACE_OVAL)]
    x0 = int(max(0, np.floor(oval[:, 0].min()) - BOX_PAD))
    y0 = int(max(0, np.floor(oval[:, 1].min()) - BOX_PAD))
    x1 = int(min(width, np.ceil(oval[:, 0].max()) + BOX_PAD + 1))
    y1 = int(min(height, np.ceil(oval[:, 1].max()) + BOX_PAD + 1))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return
    box_w, box_h = x1 - x0, y1 - y0
    origin = np.array([x0, y0], dtype=np.float32)

    target_yaw = mesh_yaw(target_mesh)
    texture, texture_mesh, yaw = source.image, source.mesh, source.yaw
    occluder = source.occluder
    if should_mirror(source.yaw, target_yaw):
        texture, texture_mesh, yaw = source.mirrored_image, source.mirrored_mesh, -source.yaw
        occluder = None if occluder is None else np.ascontiguousarray(occluder[:, ::-1])
    texture_size = texture.shape[1], texture.shape[0]
    texture, texture_mesh = _bounded_source(texture, texture_mesh, face_size(texture_mesh), size)
    if occluder is not None and (texture.shape[1], texture.shape[0]) != texture_size:
        occluder = cv2.resize(occluder, (texture.shape[1], texture.shape[0]), interpolation=cv2.INTER_AREA)
    fill_far_half = abs(yaw) >= HALF_FILL_YAW and abs(target_yaw) <= abs(yaw) - HALF_FILL_MARGIN

    destination = blend_geometry(target_xy, texture_mesh[:CANONICAL_POINTS, :2], geometry_share, outline_share)
    if fill_far_half:
        # The hidden half's shape comes from the mirrored near half too: a turned source's foreshortened
        # far half would put its eye squashed against the nose of a more frontal target.
        mirrored_mesh = mirror_mesh(texture_mesh, texture.shape[1], canonical.mirror)
        mirrored_shape = blend_geometry(target_xy, mirrored_mesh[:CANONICAL_POINTS, :2], geometry_share, outline_share)
        destination = destination + _far_side_weights(canonical, yaw)[:, None] * (mirrored_shape - destination)
    destination = destination - origin
    scale = min(1.0, WORK_FACE_SIZE / size)
    small_w, small_h = max(2, int(round(box_w * scale))), max(2, int(round(box_h * scale)))
    depth = target_mesh[:CANONICAL_POINTS, 2]
    triangle_ids = _triangle_raster(destination * scale, depth, canonical.triangles, (small_h, small_w))
    grid = _full_res_grid(small_w, small_h, box_w, box_h)
    weights = _barycentric(destination, canonical.triangles, triangle_ids, grid)
    map_small = _mapped(weights, texture_mesh[:, :2], canonical.triangles, triangle_ids)
    source_corners = texture_mesh[:CANONICAL_POINTS, :2][canonical.triangles].astype(np.float64)
    far_small: NDArray[np.float32] | None = None
    if fill_far_half:
        # The hidden side comes from the mirrored near side, blended in texture space over a band of the
        # canonical face (never switched along a line: that left a crack from brow to chin).
        mirrored, mirrored_mesh = _mirrored(texture, texture_mesh, canonical)
        mirror_map = _mapped(weights, mirrored_mesh[:, :2], canonical.triangles, triangle_ids)
        far_vertex = _far_side_weights(canonical, yaw)
        far_small = _per_pixel(weights, far_vertex, canonical.triangles, triangle_ids)
        far = far_vertex[canonical.triangles].mean(axis=1) > 0.5
        source_corners[far] = mirrored_mesh[:CANONICAL_POINTS, :2][canonical.triangles[far]]

    mask_small, kept_mouth = _face_mask_small(
        destination, target, origin, scale, (small_h, small_w), target_mesh, source, target_xy, canonical
    )
    inside = _inside(map_small, texture.shape[:2])
    if far_small is not None:
        inside = np.where(far_small > 0.5, _inside(mirror_map, texture.shape[:2]), inside)
    mask_small = cv2.bitwise_and(mask_small, inside)
    stretched = _overstretched(destination[canonical.triangles].astype(np.float64), source_corners)
    stretched_px = (triangle_ids >= 0) & stretched[np.maximum(triangle_ids, 0)] & (mask_small > 0)
    face_px = int(np.count_nonzero(mask_small))
    if face_px == 0:
        return
    if stretched_px.sum() > MAX_STRETCHED_SHARE * face_px and abs(yaw - target_yaw) > MAX_YAW_DIFFERENCE:
        return  # beyond what the warp can do: the template face stays, as pose_note tells the user
    mask_small[stretched_px] = 0
    if not mask_small.any():
        return
    target_box = result[y0:y1, x0:x1]
    full = (box_w, box_h)
    map_full = cv2.resize(map_small, full, interpolation=cv2.INTER_LINEAR)
    warped = cv2.remap(texture, map_full, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    if far_small is not None:
        mirror_full = cv2.resize(mirror_map, full, interpolation=cv2.INTER_LINEAR)
        far_warped = cv2.remap(mirrored, mirror_full, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        far_full = cv2.resize(far_small, full, interpolation=cv2.INTER_LINEAR)[..., None]
        warped = np.clip(warped + far_full * (far_warped.astype(np.float32) - warped) + 0.5, 0, 255).astype(np.uint8)
    corrected, kept = _tone(warped, target_box, mask_small, target_xy - origin, canonical, size)
    if occluder is not None and occluder.any():
        # The source's occluders stay out: the target's own face shows there.
        covered = cv2.remap(occluder, map_full, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        if far_small is not None:
            mirrored_occluder = np.ascontiguousarray(occluder[:, ::-1])
            far_covered = cv2.remap(
                mirrored_occluder, mirror_full, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
            )
            covered = covered + far_full[..., 0] * (far_covered - covered)
        # Grown and softened: the occluder's own outline (its shadow, anti-aliasing) stays out too, and
        # the template's face fades in without an edge.
        grow = max(1, int(round(OCCLUDER_GROW_SHARE * size)))
        covered = cv2.dilate(covered, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
        kept = np.maximum(kept, cv2.GaussianBlur(covered, (0, 0), grow))
    kept = np.maximum(kept, glasses_keep_mask(target_box, _eye_points(target, target_xy) - origin))
    alpha_small = feather(mask_small, FEATHER_SHARE * size * scale)
    if kept_mouth is not None:
        alpha_small *= 1.0 - kept_mouth
    alpha = cv2.resize(alpha_small, full, interpolation=cv2.INTER_LINEAR) * (1.0 - kept)
    alpha = cv2.merge([alpha, alpha, alpha])
    original = target_box.astype(np.float32)
    blended = cv2.add(original, cv2.multiply(cv2.subtract(corrected, original), alpha))  # original + alpha (corrected - original)
    target_box[...] = np.clip(blended + 0.5, 0, 255).astype(np.uint8)


def forehead_skin_share(image: NDArray[np.uint8], mesh: Mesh, canonical: CanonicalFace) -> float:
    """How far up from the brows the source's forehead stays skin (0..1 of the way to the mesh's top).

    Patches are sampled on three lines from the brows towards the top of the forehead and compared in
    CIELAB with the cheeks; the first patch that is not skin (a fringe, a hat) ends the bare forehead.
    """
    xy = mesh[:, :2].astype(np.float32)
    lab = cv2.cvtColor(image.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
    height, width = image.shape[:2]
    cheeks = np.zeros((height, width), dtype=np.uint8)
    left_cheek = [int(canonical.mirror[index]) for index in RIGHT_CHEEK]
    cv2.fillPoly(cheeks, [_pixels(xy[list(RIGHT_CHEEK)]), _pixels(xy[left_cheek])], 255)
    if cheeks.sum() == 0:
        return 1.0
    skin = lab[cheeks > 0].mean(axis=0)
    eye_axis = xy[list(LEFT_EYE)].mean(axis=0) - xy[list(RIGHT_EYE)].mean(axis=0)
    eye_distance = float(np.hypot(*eye_axis))
    brows = xy[list(RIGHT_BROW + LEFT_BROW)].mean(axis=0)
    top = xy[FOREHEAD]
    radius = max(1, int(round(FOREHEAD_PATCH_SHARE * eye_distance)))
    share = 1.0
    for side in (-0.3, 0.0, 0.3):
        offset = eye_axis * side
        for step in range(1, FOREHEAD_STEPS + 1):
            t = FOREHEAD_START + (1.0 - FOREHEAD_START) * step / FOREHEAD_STEPS
            x, y = (brows + offset + (top - brows) * t).round().astype(int)
            patch = lab[max(0, y - radius) : y + radius + 1, max(0, x - radius) : x + radius + 1]
            if patch.size == 0:
                break
            difference = patch.reshape(-1, 3).mean(axis=0) - skin
            distance = float(np.sqrt((FOREHEAD_L_WEIGHT * difference[0]) ** 2 + difference[1] ** 2 + difference[2] ** 2))
            if distance > FOREHEAD_SKIN_DISTANCE:
                share = min(share, FOREHEAD_START + (1.0 - FOREHEAD_START) * (step - 1) / FOREHEAD_STEPS)
                break
    return share


def blend_geometry(
    target: NDArray[np.float32], source: NDArray[np.float32], share: float, outline_share: float = 0.0
) -> NDArray[np.float32]:
    """The target mesh with `share` of the source's inner-face shape and `outline_share` of its outline.

    The source mesh is first aligned to the target's by a similarity (pose and size stay the target's).
    """
    if share <= 0.0 and outline_share <= 0.0:
        return target.copy()
    matrix = similarity_transform(source, target)
    aligned = (source.astype(np.float64) @ matrix[:, :2].T + matrix[:, 2]).astype(np.float32)
    blended = target + share * (aligned - target)
    oval = list(FACE_OVAL)
    blended[oval] = target[oval] + outline_share * (aligned[oval] - target[oval])
    return blended.astype(np.float32)


def blend_outline(mesh_xy: NDArray[np.float32], forehead_keep: float = FOREHEAD_KEEP) -> NDArray[np.float32]:
    """The face oval with its top lowered towards the brows: fringes and hairlines stay the target's.

    Oval points above the eyes move inwards (temples: often the source's hair) and points above the
    brow line move down (along the face's chin-to-forehead axis) by
    (1 - forehead_keep) of their height above it.
    """
    oval = mesh_xy[list(FACE_OVAL)].astype(np.float32)
    up = mesh_xy[FOREHEAD] - mesh_xy[CHIN]
    length = float(np.hypot(*up))
    if length < 1e-6:
        return oval
    up = up / length
    eyes = mesh_xy[list(RIGHT_EYE + LEFT_EYE)]
    eye_middle = eyes.mean(axis=0)
    above_eyes = oval @ up - float(eyes.mean(axis=0) @ up)
    temple = np.clip(above_eyes / max(float(above_eyes.max()), 1e-6), 0.0, 1.0)
    inset = oval + (eye_middle - oval) * (TEMPLE_INSET * temple)[:, None]
    inset = inset + (mesh_xy[NOSE_TIP] - inset) * OVAL_INSET
    brow_line = float((mesh_xy[list(RIGHT_BROW + LEFT_BROW)] @ up).mean())
    height = inset @ up - brow_line
    lowered = inset - np.outer(np.maximum(height, 0.0) * (1.0 - forehead_keep), up)
    return lowered.astype(np.float32)


def feather(mask: NDArray[np.uint8], width: float) -> NDArray[np.float32]:
    """A 0..1 alpha that is 1 deep inside the mask and falls smoothly to 0 before its edge."""
    erosion = max(1, int(round(width)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * erosion + 1, 2 * erosion + 1))
    inner = cv2.erode(mask, kernel)
    alpha = cv2.GaussianBlur(inner.astype(np.float32) / 255.0, (0, 0), max(0.5, erosion / 2.5))
    alpha[mask == 0] = 0.0
    return alpha


def face_size(mesh: Mesh) -> float:
    """Geometric mean of the face oval's width and height, in pixels."""
    oval = mesh[list(FACE_OVAL), :2]
    width, height = np.ptp(oval, axis=0)
    return float(np.sqrt(max(0.0, float(width) * float(height))))


def mesh_yaw(mesh: Mesh) -> float:
    """Yaw in degrees from a mesh (see pipeline.pose)."""
    right_eye = mesh[[33, 133], :2].mean(axis=0)
    left_eye = mesh[[362, 263], :2].mean(axis=0)
    first, second = sorted([right_eye, left_eye], key=lambda p: float(p[0]))
    return yaw_from_points(first, second, mesh[1, :2])


def _tone(
    warped: NDArray[np.uint8],
    target_box: NDArray[np.uint8],
    mask_small: NDArray[np.uint8],
    mesh_xy: NDArray[np.float32],
    canonical: CanonicalFace,
    size: float,
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Light, colour, sharpness and grain matched to the target, and the occluders to keep (0..1).

    For a face larger than TONE_FACE_SIZE this runs on a reduced copy; the source's finer detail
    (the warped source minus its reduced copy) is added back at full size, so time stays flat.
    """
    box_h, box_w = warped.shape[:2]
    tone_scale = min(1.0, TONE_FACE_SIZE / max(size, 1e-3))
    work = (max(2, int(round(box_w * tone_scale))), max(2, int(round(box_h * tone_scale))))
    reduced = tone_scale < 1.0
    warped_t = cv2.resize(warped, work, interpolation=cv2.INTER_AREA) if reduced else warped
    target_t = cv2.resize(target_box, work, interpolation=cv2.INTER_AREA) if reduced else target_box
    face = cv2.resize(mask_small.astype(np.float32) / 255.0, work, interpolation=cv2.INTER_LINEAR)
    scale_xy = np.array([work[0] / box_w, work[1] / box_h], dtype=np.float32)
    cheeks, exempt = _face_parts(mesh_xy * scale_xy, canonical, (work[1], work[0]))
    corrected = transfer_light_and_colour(warped_t, target_t, face, skin_mask=face * (1.0 - exempt))
    corrected = match_detail(corrected, target_t, face)
    eyes = _eyes_region(mesh_xy * scale_xy, (work[1], work[0]))
    corrected = match_edge_light(corrected, target_t, face, size * tone_scale, keep_light=eyes)
    kept = occlusion_mask(target_t, face, cheeks, exempt)  # the target's hair, hands, glasses
    # The same skin model on the warped source: its own side hair is not pasted either.
    source_kept = occlusion_mask(warped_t, face, cheeks, exempt)
    kept, source_kept = _whole_beard(kept, source_kept, warped_t, target_t, mesh_xy * scale_xy, canonical, cheeks)
    kept = np.maximum(kept, source_kept)
    if not reduced:
        return corrected.astype(np.float32), kept
    full = (box_w, box_h)
    detail = cv2.subtract(
        warped.astype(np.float32), cv2.resize(warped_t, full, interpolation=cv2.INTER_LINEAR).astype(np.float32)
    )
    corrected_full = cv2.add(cv2.resize(corrected, full, interpolation=cv2.INTER_LINEAR).astype(np.float32), detail)
    # Added detail must not saturate (the tone stage keeps its own output inside 1..254 too).
    np.clip(corrected_full, 1.0, 254.0, out=corrected_full)
    return corrected_full, cv2.resize(kept, full, interpolation=cv2.INTER_LINEAR)


def _whole_beard(
    kept: NDArray[np.float32],
    source_kept: NDArray[np.float32],
    warped: NDArray[np.uint8],
    target: NDArray[np.uint8],
    mesh_xy: NDArray[np.float32],
    canonical: CanonicalFace,
    cheeks: NDArray[np.float32],
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """A bearded target's beard is kept whole, or replaced whole, never half: kept whole (with a soft
    edge) when the source has none; replaced whole by the source's when it has one. The target's and the
    warped source's occluders to keep are returned changed accordingly."""
    shape_hw = target.shape[:2]
    zone, lips = _lower_face(mesh_xy, shape_hw)
    if float((kept * zone).sum()) < BEARD_KEPT_MIN * float(zone.sum()):
        return kept, source_kept  # nothing of the lower face is kept: a beard there is replaced whole
    beard = beard_mask(target, cheeks, zone, lips)
    if beard is None:
        return kept, source_kept
    if beard_mask(warped, cheeks, zone, lips) is None:
        return np.maximum(kept, beard), source_kept
    return kept * (1.0 - zone), source_kept * (1.0 - zone)


def _lower_face(
    mesh_xy: NDArray[np.float32], shape_hw: tuple[int, int]
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """The face oval below the nose (where a beard grows), softened, and the lips, 0..1 in box pixels."""
    up = mesh_xy[FOREHEAD] - mesh_xy[CHIN]
    up = up / max(float(np.hypot(*up)), 1e-6)
    oval = mesh_xy[list(FACE_OVAL)]
    cut = float(mesh_xy[SUBNASALE] @ up)
    below = oval - np.outer(np.maximum(oval @ up - cut, 0.0), up)  # oval points above the cut moved down onto it
    zone = np.zeros(shape_hw, dtype=np.uint8)
    cv2.fillPoly(zone, [_pixels(below)], 255)
    lips = np.zeros(shape_hw, dtype=np.uint8)
    cv2.fillPoly(lips, [_pixels(mesh_xy[list(LIPS_OUTER)])], 255)
    soft = cv2.GaussianBlur(zone.astype(np.float32) / 255.0, (0, 0), max(0.6, BEARD_EDGE_SHARE * _eye_distance(mesh_xy)))
    return np.where(zone > 0, 1.0, soft).astype(np.float32), lips.astype(np.float32) / 255.0


def _eyes_region(mesh_xy: NDArray[np.float32], shape_hw: tuple[int, int]) -> NDArray[np.float32]:
    """The eyes and the skin around them (sockets, lids, the top of the cheeks), 0..1, in box pixels:
    where the source's lightness carries its identity, so match_edge_light leaves it alone.

    Each eye's box grown by EYES_REGION_SHARE x the eye distance sideways and half that up and down,
    as a soft ellipse computed from the coordinates (no rasterising: stored and fresh meshes, which
    differ by rounding, give the same mask).
    """
    height, width = shape_hw
    eye_distance = _eye_distance(mesh_xy)
    grow = EYES_REGION_SHARE * eye_distance
    rows = np.arange(height, dtype=np.float32)[:, None]
    cols = np.arange(width, dtype=np.float32)[None, :]
    region = np.zeros((height, width), dtype=np.float32)
    for ring in (RIGHT_EYE, LEFT_EYE):
        points = mesh_xy[list(ring)]
        centre_x, centre_y = points.mean(axis=0)
        half_width = float(np.ptp(points[:, 0])) / 2.0 + grow
        half_height = float(np.ptp(points[:, 1])) / 2.0 + grow / 2.0
        radius = np.sqrt(((cols - centre_x) / half_width) ** 2 + ((rows - centre_y) / half_height) ** 2)
        inner, outer = EYES_REGION_EDGE
        np.maximum(region, np.clip((outer - radius) / (outer - inner), 0.0, 1.0), out=region)
    return region


def _eye_distance(mesh_xy: NDArray[np.float32]) -> float:
    return float(np.hypot(*(mesh_xy[list(LEFT_EYE)].mean(axis=0) - mesh_xy[list(RIGHT_EYE)].mean(axis=0))))


def _eye_points(face: Face, mesh_xy: NDArray[np.float32]) -> NDArray[np.float32]:
    """dlib's 68 points when the face has them (the glasses model is tuned on them), else the mesh."""
    landmarks = face.landmarks_array()
    return landmarks if landmarks is not None and len(landmarks) == DLIB_POINTS else mesh_xy


def _face_parts(
    mesh_xy: NDArray[np.float32], canonical: CanonicalFace, shape_hw: tuple[int, int]
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Cheek and exempt (eyes, brows, lips) masks from the target mesh, 0..1, in box pixels.

    The cheeks are where occlusion_mask learns the target's skin colour; the exempt parts are never
    taken for occluders and are left out of the light and colour measurement.
    """
    height, width = shape_hw
    eye_distance = _eye_distance(mesh_xy)
    exempt = np.zeros((height, width), dtype=np.uint8)
    cv2.fillPoly(exempt, [_pixels(mesh_xy[list(ring)]) for ring in (RIGHT_EYE, LEFT_EYE, LIPS_OUTER)], 255)
    thickness = max(1, int(round(EXEMPT_BROW_SHARE * eye_distance)))
    cv2.polylines(exempt, [_pixels(mesh_xy[list(ring)]) for ring in (RIGHT_BROW, LEFT_BROW)], True, 255, thickness)
    grow = max(1, int(round(EXEMPT_GROW_SHARE * eye_distance)))
    exempt = cv2.dilate(exempt, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
    cheeks = np.zeros((height, width), dtype=np.uint8)
    left_cheek = tuple(int(canonical.mirror[index]) for index in RIGHT_CHEEK)
    cv2.fillPoly(cheeks, [_pixels(mesh_xy[list(RIGHT_CHEEK)]), _pixels(mesh_xy[list(left_cheek)])], 255)
    cheeks[exempt > 0] = 0
    return cheeks.astype(np.float32) / 255.0, exempt.astype(np.float32) / 255.0


def _face_mask_small(
    destination: NDArray[np.float32],
    target: Face,
    origin: NDArray[np.float32],
    scale: float,
    shape_hw: tuple[int, int],
    target_mesh: Mesh,
    source: PreparedSource,
    target_xy: NDArray[np.float32],
    canonical: CanonicalFace,
) -> tuple[NDArray[np.uint8], NDArray[np.float32] | None]:
    """Where the source goes, on the working grid: the target's visible face oval; and, when the target's
    open mouth is kept as it is, a soft 0..1 mask of that mouth (it gets its own narrow feather)."""
    mask = np.zeros(shape_hw, dtype=np.uint8)
    forehead = min(FOREHEAD_KEEP, max(FOREHEAD_MIN, source.forehead_skin - FOREHEAD_MARGIN))
    cv2.fillPoly(mask, [_pixels((blend_outline(target_xy, forehead) - origin) * scale)], 255)
    mask = cv2.bitwise_and(mask, _front_facing(destination * scale, canonical, shape_hw))
    if target.mesh is None:
        # The caller's face has another outline (68 landmarks or an ellipse): stay inside it as well,
        # so the feathered edge lies within the swap region that the final composite allows.
        given = np.zeros(shape_hw, dtype=np.uint8)
        cv2.fillPoly(given, [_pixels((face_polygon(target) - origin) * scale)], 255)
        mask = cv2.bitwise_and(mask, given)
    if mouth_openness(target_mesh) > MOUTH_OPEN and not source.mouth_open:
        # One mouth: the target's open mouth (teeth, tongue) stays; the source lips follow its contour.
        mouth = np.zeros(shape_hw, dtype=np.uint8)
        cv2.fillPoly(mouth, [_pixels((target_xy[list(LIPS_INNER)] - origin) * scale)], 255)
        grow = max(1, int(round(MOUTH_FEATHER_SHARE * face_size(target_mesh) * scale)))
        mouth = cv2.dilate(mouth, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
        return mask, cv2.GaussianBlur(mouth.astype(np.float32) / 255.0, (0, 0), max(0.5, grow / 2.0))
    return mask, None


def _front_facing(
    points: NDArray[np.float32], canonical: CanonicalFace, shape_hw: tuple[int, int]
) -> NDArray[np.uint8]:
    """The triangles of the target mesh that face the camera (a turned head hides the far cheek)."""
    corners = points[canonical.triangles].astype(np.float64)
    area = _signed_areas(corners)
    flat = canonical.vertices[:, :2] * np.array([1.0, -1.0], dtype=np.float32)
    reference = _signed_areas(flat[canonical.triangles].astype(np.float64))
    scale = np.sqrt(abs(area.sum()) / max(abs(reference.sum()), 1e-9))
    visible = area * np.sign(reference) > FRONT_FACING_MIN * np.abs(reference) * scale**2
    mask = np.zeros(shape_hw, dtype=np.uint8)
    polygons = list(_pixels(corners[visible]))
    if polygons:
        cv2.fillPoly(mask, polygons, 255)
    return mask


def _overstretched(destination: NDArray[np.float64], source: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Triangles the warp would stretch far beyond the face's average: texture the source photo barely
    shows (a cheek edge seen from the front, put on the near cheek of a turned head). They keep the
    target's own skin rather than a smear."""
    target_area = np.abs(_signed_areas(destination))
    source_area = _signed_areas(source) * np.sign(_signed_areas(destination))
    ratio = target_area.sum() / max(float(np.abs(source_area).sum()), 1e-9)
    return target_area > MAX_STRETCH * ratio * np.maximum(source_area, 1e-9)


def _signed_areas(corners: NDArray[np.float64]) -> NDArray[np.float64]:
    a, b, c = corners[:, 0], corners[:, 1], corners[:, 2]
    return 0.5 * ((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0]))


def _triangle_raster(
    points: NDArray[np.float32],
    depth: NDArray[np.float32],
    triangles: NDArray[np.int32],
    shape_hw: tuple[int, int],
) -> NDArray[np.int32]:
    """Index of the nearest triangle covering each pixel (-1 outside), grown a few pixels past the mesh.

    Triangles are drawn far to near (MediaPipe's z grows away from the camera), so where a turned head
    folds the mesh, the visible surface wins.
    """
    raster = np.full(shape_hw, -1, dtype=np.int32)
    corners = _pixels(points[triangles.reshape(-1)]).reshape(-1, 3, 2)
    for index in np.argsort(-depth[triangles].mean(axis=1), kind="stable"):
        cv2.fillConvexPoly(raster, corners[index], int(index))
    grown = raster.astype(np.float32)
    kernel = np.ones((3, 3), np.uint8)
    for _ in range(3):
        dilated = cv2.dilate(grown, kernel)
        grown = np.where(grown < 0, dilated, grown)
    return grown.astype(np.int32)


def _barycentric(
    destination: NDArray[np.float32],
    triangles: NDArray[np.int32],
    ids: NDArray[np.int32],
    grid: NDArray[np.float32],
) -> NDArray[np.float32]:
    """H x W x 3 barycentric weights of each grid point in its triangle, clamped into the triangle.

    Pixels just outside their triangle (rasterised on a coarse grid, or grown past the mesh edge) are
    projected onto it, so a thin triangle (a closed eye) never throws them far across the source.
    A collapsed triangle gives equal weights.
    """
    corners = destination[triangles].astype(np.float64)  # T x 3 x 2
    homogeneous = np.concatenate([corners, np.ones((len(triangles), 3, 1))], axis=2)  # rows: x y 1
    determinant = np.linalg.det(homogeneous)
    degenerate = np.abs(determinant) < DEGENERATE_AREA * 2.0
    homogeneous[degenerate] = np.eye(3)
    inverse = np.linalg.inv(homogeneous)  # [x y 1] @ inverse = barycentric weights
    inverse[degenerate] = 0.0
    inverse[degenerate, 2, :] = 1.0 / 3.0
    chosen = inverse[np.maximum(ids, 0)].astype(np.float32)  # H x W x 3 x 3
    weights = grid[..., 0:1] * chosen[..., 0, :] + grid[..., 1:2] * chosen[..., 1, :] + chosen[..., 2, :]
    weights = np.maximum(weights, 0.0)
    return weights / np.maximum(weights.sum(axis=2, keepdims=True), 1e-6)


def _mapped(
    weights: NDArray[np.float32],
    source: NDArray[np.float32],
    triangles: NDArray[np.int32],
    ids: NDArray[np.int32],
) -> NDArray[np.float32]:
    """Source coordinates of every grid point; -1e4 (outside any texture) where no triangle covers it."""
    corners = source[triangles].astype(np.float32)[np.maximum(ids, 0)]  # H x W x 3 x 2
    mapped = (weights[..., :, None] * corners).sum(axis=2).astype(np.float32)
    mapped[ids < 0] = -1e4
    return mapped


def _full_res_grid(small_w: int, small_h: int, box_w: int, box_h: int) -> NDArray[np.float32]:
    """Box-pixel coordinates of the working grid's pixel centres (aligned with cv2.resize)."""
    xs = (np.arange(small_w, dtype=np.float32) + 0.5) * (box_w / small_w) - 0.5
    ys = (np.arange(small_h, dtype=np.float32) + 0.5) * (box_h / small_h) - 0.5
    grid_x, grid_y = np.meshgrid(xs, ys)
    return np.stack([grid_x, grid_y], axis=-1)


def _inside(map_small: NDArray[np.float32], shape_hw: tuple[int, ...]) -> NDArray[np.uint8]:
    height, width = shape_hw[0], shape_hw[1]
    x, y = map_small[..., 0], map_small[..., 1]
    inside = (x >= 0) & (y >= 0) & (x <= width - 1) & (y <= height - 1)
    return (inside * 255).astype(np.uint8)


def _bounded_source(
    image: NDArray[np.uint8], mesh: Mesh, source_size: float, target_size: float
) -> tuple[NDArray[np.uint8], Mesh]:
    """Shrink a source much larger than the target (area averaging), so the remap does not alias."""
    if source_size <= SOURCE_FACE_LIMIT * target_size or source_size <= 0:
        return image, mesh
    factor = SOURCE_FACE_LIMIT * target_size / source_size
    width = max(1, int(round(image.shape[1] * factor)))
    height = max(1, int(round(image.shape[0] * factor)))
    small = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
    scaled = mesh.copy()
    scaled[:, 0] *= width / image.shape[1]
    scaled[:, 1] *= height / image.shape[0]
    return small, scaled


def _mirrored(
    image: NDArray[np.uint8], mesh: Mesh, canonical: CanonicalFace
) -> tuple[NDArray[np.uint8], Mesh]:
    return np.ascontiguousarray(image[:, ::-1]), mirror_mesh(mesh, image.shape[1], canonical.mirror)


def _far_side_weights(canonical: CanonicalFace, yaw: float) -> NDArray[np.float32]:
    """Per canonical vertex, 0..1: how much of the mirrored near side fills the side of the face that a
    source turned by `yaw` hides (canonical x < 0 is the subject's right, the image left of a frontal face;
    a positive yaw turns the image-right side away). A smooth ramp across FAR_BLEND_BAND of the half width,
    so the two textures meet in a wide blend, never along a line."""
    x = canonical.vertices[:CANONICAL_POINTS, 0]
    far_x = (x if yaw > 0 else -x) / max(float(np.abs(x).max()), 1e-6)
    start, end = FAR_BLEND_BAND
    t = np.clip((far_x - start) / (end - start), 0.0, 1.0)
    return (t * t * (3.0 - 2.0 * t)).astype(np.float32)


def _per_pixel(
    weights: NDArray[np.float32], values: NDArray[np.float32], triangles: NDArray[np.int32], ids: NDArray[np.int32]
) -> NDArray[np.float32]:
    """A per-vertex value interpolated at every grid point (0 where no triangle covers it)."""
    corners = values[triangles][np.maximum(ids, 0)]  # H x W x 3
    field = (weights * corners).sum(axis=2).astype(np.float32)
    field[ids < 0] = 0.0
    return field


def _pixels(points: NDArray[np.float32]) -> NDArray[np.int32]:
    return np.rint(points).astype(np.int32)
