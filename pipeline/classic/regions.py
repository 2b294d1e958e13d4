"""The regions stage, the one owner of the classic engine's masks.

- On the source: what covers its face (objects, a hand, dark hair at its sides), never pasted.
- On the working grid: where the source goes (the target's visible oval, under its fringe, inside the
  texture, without overstretched triangles) and an open target mouth that stays.
- At tone resolution: the cheeks (the skin model), the parts exempt from it (eyes, brows, lips), the
  eyes' surroundings whose light stays the source's.
- In box pixels: what of the target stays in front (its hair, hands and glasses, a beard kept whole, the
  source's occluders carried over).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
from numpy.typing import NDArray

from pipeline.classic.face_geometry import (
    along_face,
    eye_distance,
    face_down,
    face_size,
    long_parts,
    pixels,
    signed_areas,
)
from pipeline.classic.glasses import FrameMatte, glasses_keep_mask
from pipeline.classic.mesh import CANONICAL_POINTS, CanonicalFace, Mesh, mouth_openness
from pipeline.classic.occlusion import beard_mask, meeting_skin_at_an_edge, occlusion_mask, skin_lightness
from pipeline.classic.settings import RegionSettings
from pipeline.classic.warp import Warp
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
from pipeline.pose import MAX_YAW_DIFFERENCE

SUBNASALE = 2  # mesh point under the nose: a beard region starts below it
DLIB_POINTS = 68
MIN_EYE_DISTANCE = 8.0  # pixels: smaller faces have no finger bands


@dataclass(frozen=True)
class FaceRegion:
    """On the warp's working grid: where the source goes (0/255), and a kept open mouth (0..1) or None."""

    face: NDArray[np.uint8] = field(repr=False)
    mouth: NDArray[np.float32] | None = field(repr=False)


@dataclass(frozen=True)
class ToneParts:
    """Masks at tone resolution, 0..1: the face, its skin (face without eyes, brows, lips), the eyes'
    surroundings, the eyes themselves (with lids and lashes), and the cheeks and exempt parts the skin
    model uses."""

    face: NDArray[np.float32] = field(repr=False)
    skin: NDArray[np.float32] = field(repr=False)
    eyes: NDArray[np.float32] = field(repr=False)
    eye_openings: NDArray[np.float32] = field(repr=False)
    cheeks: NDArray[np.float32] = field(repr=False)
    exempt: NDArray[np.float32] = field(repr=False)


@dataclass(frozen=True)
class Regions:
    """Every mask the composite needs: `face` and `mouth` on the working grid, `kept` (0..1, the target's
    own pixels that stay in front) in box pixels."""

    face: NDArray[np.uint8] = field(repr=False)
    mouth: NDArray[np.float32] | None = field(repr=False)
    kept: NDArray[np.float32] = field(repr=False)


def source_occluders(
    image: NDArray[np.uint8], mesh: Mesh, canonical: CanonicalFace, settings: RegionSettings
) -> NDArray[np.float32]:
    """What covers the source face (an object, a hand of another colour), 0..1 in crop pixels: the skin
    model learnt on the source's own cheeks. Those pixels are never pasted; the target keeps its own face
    there. Only large regions count (an object held over a cheek need not reach the oval's border), and only
    those that meet the skin at a sharp edge (see objects_only); the source's hair at the face's edge is
    left to dark_at_edge and to the warped-source check in kept_region."""
    xy = mesh[:CANONICAL_POINTS, :2].astype(np.float32)
    shape_hw = image.shape[:2]
    oval = np.zeros(shape_hw, dtype=np.uint8)
    cv2.fillPoly(oval, [pixels(xy[list(FACE_OVAL)])], 255)
    cheeks, exempt = face_parts(xy, canonical, shape_hw, settings)
    oval_mask = oval.astype(np.float32) / 255.0
    by_colour = occlusion_mask(
        image, oval_mask, cheeks, exempt, large_share=settings.source_occluder_share, reaching_edge=False, robust=True
    )
    by_colour = objects_only(image, by_colour, (oval > 0) & (exempt < 0.5))
    return np.maximum(by_colour, finger_bands(image, xy, oval > 0, settings))


def dark_at_edge(
    image: NDArray[np.uint8], mesh: Mesh, canonical: CanonicalFace, settings: RegionSettings
) -> NDArray[np.float32]:
    """Hair, or shade too deep to relight, over the side of a source face, 0 or 1 in its pixels: pixels
    darker than `dark_share` x the cheeks' lightness, outside the brows and the middle of the face (eyes,
    nose and mouth), in regions that reach the oval's outer band (`dark_edge_share` of its size) above the
    nose and `dark_reach` eye distances into the face, cut at the nose's height.

    The skin model allows deep shade (a face lit from one side), so a dark lock over the temple, or dark
    hair on dark skin, passes for skin, and pasted it is a stripe down the target's face. A beard grows
    below the nose and is pasted. Runs at full resolution (thin strands fade in a reduced copy), on the
    oval's bounding box.
    """
    xy = mesh[:CANONICAL_POINTS, :2].astype(np.float32)
    oval = np.zeros(image.shape[:2], dtype=np.uint8)
    cv2.fillPoly(oval, [pixels(xy[list(FACE_OVAL)])], 1)
    found = np.zeros(image.shape[:2], dtype=np.float32)
    rows, cols = np.nonzero(oval)
    if rows.size == 0:
        return found
    top, bottom, left, right = int(rows.min()), int(rows.max()) + 1, int(cols.min()), int(cols.max()) + 1
    box = (slice(top, bottom), slice(left, right))
    local = xy - np.float32([left, top])
    cheeks, _ = face_parts(local, canonical, (bottom - top, right - left), settings)
    found[box] = _dark_at_edge(np.ascontiguousarray(image[box]), local, oval[box] > 0, cheeks, settings)
    return found


def _dark_at_edge(
    image: NDArray[np.uint8],
    xy: NDArray[np.float32],
    oval: NDArray[np.bool_],
    cheeks: NDArray[np.float32],
    settings: RegionSettings,
) -> NDArray[np.float32]:
    found = np.zeros(oval.shape, dtype=np.float32)
    level = skin_lightness(image, cheeks)
    eyes_apart = eye_distance(xy)
    if level is None or eyes_apart < MIN_EYE_DISTANCE:
        return found
    # The middle of the face (a dim photo's shade under the eyes and beside the nose is the face itself) and
    # the brows are left out.
    rings = [xy[list(ring)] for ring in (RIGHT_EYE, LEFT_EYE, LIPS_OUTER)] + [xy[[NOSE_TIP, SUBNASALE]]]
    features = np.zeros(oval.shape, dtype=np.uint8)
    cv2.fillConvexPoly(features, np.round(cv2.convexHull(np.concatenate(rings))).astype(np.int32), 255)
    grow = max(1, int(round(settings.dark_middle_share * eyes_apart)))
    features = cv2.dilate(features, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
    brow = max(1, int(round(settings.dark_brow_share * eyes_apart)))
    cv2.polylines(features, [pixels(xy[list(ring)]) for ring in (RIGHT_BROW, LEFT_BROW)], True, 255, brow)
    down = face_down(xy)
    upper = along_face(oval.shape, down) < float(xy[SUBNASALE] @ down)  # above the nose
    lightness = cv2.cvtColor(image, cv2.COLOR_RGB2LAB)[..., 0].astype(np.float32) * (100.0 / 255.0)
    dark = ((lightness < settings.dark_share * level) & oval & (features == 0)).astype(np.uint8)
    dark = cv2.morphologyEx(dark, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    dark_upper = (dark > 0) & upper
    band = max(1, int(round(settings.dark_edge_share * np.sqrt(float(oval.sum())))))
    inner = cv2.erode(oval.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * band + 1, 2 * band + 1)))
    count, labels = cv2.connectedComponents(dark, connectivity=8)
    reaching = np.unique(labels[dark_upper & (inner == 0)])
    reaching = reaching[reaching > 0]
    if reaching.size:  # ... and into the face: a sliver along the oval's edge is hidden by the feather
        depth = cv2.distanceTransform(oval.astype(np.uint8), cv2.DIST_L2, 3)
        deepest = np.zeros(count, dtype=np.float32)
        np.maximum.at(deepest, labels[dark_upper], depth[dark_upper])
        reaching = reaching[deepest[reaching] >= settings.dark_reach * eyes_apart]
    found[np.isin(labels, reaching) & upper] = 1.0
    return found


def objects_only(image: NDArray[np.uint8], not_skin: NDArray[np.float32], face: NDArray[np.bool_]) -> NDArray[np.float32]:
    """`not_skin` (0..1) without its regions whose outline fades into the skin: skin in another light (a
    warm lamp on one side of the face), which is pasted and toned like the rest, not an object. A phone or
    a hand of another colour meets the skin at a sharp chroma edge (occlusion.meeting_skin_at_an_edge).
    Each region's soft rim goes with it: every softened pixel belongs to the region nearest to it."""
    cores = (not_skin > 0.5).astype(np.uint8)
    count, labels = cv2.connectedComponents(cores, connectivity=8)
    parts = [labels == label for label in range(1, count)]
    sharp = meeting_skin_at_an_edge(image, parts, face & (cores == 0))
    if all(sharp):
        return not_skin
    _, nearest = cv2.distanceTransformWithLabels(1 - cores, cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_CCOMP)
    light = {int(nearest[part][0]) for part, is_sharp in zip(parts, sharp, strict=True) if not is_sharp}
    kept = not_skin.copy()
    kept[np.isin(nearest, list(light))] = 0.0
    return kept


def sunglasses(image: NDArray[np.uint8], mesh: Mesh, canonical: CanonicalFace, settings: RegionSettings) -> NDArray[np.float32]:
    """Sunglasses over a source's eyes (lenses, bridge and arms), 0..1 in its pixels; all zero without."""
    xy = mesh[:CANONICAL_POINTS, :2].astype(np.float32)
    cheeks, _ = face_parts(xy, canonical, image.shape[:2], settings)
    return dark_lenses(image, xy, cheeks, settings)


def dark_lenses(
    image: NDArray[np.uint8], xy: NDArray[np.float32], cheeks: NDArray[np.float32], settings: RegionSettings
) -> NDArray[np.float32]:
    """Dark lenses over both eyes, 0..1: the eyes are exempt from the skin model, so sunglasses would
    otherwise be pasted as a grey veil over the target's eyes. A lens is found only at both eyes, when nearly all of the eye opening
    (`lens_eye_share`; a bare eye keeps its bright white) and most of the skin ring around it
    (`lens_ring_share`) are darker than `lens_darkness` x the cheeks' lightness. The region is the dark
    pixels around each eye, closed and grown by `lens_grow_share` eye distances."""
    found = np.zeros(image.shape[:2], dtype=np.float32)
    eye = eye_distance(xy)
    if eye < MIN_EYE_DISTANCE or not (cheeks > 0.5).any():
        return found
    lightness = cv2.cvtColor(image, cv2.COLOR_RGB2LAB)[..., 0].astype(np.float32)
    dark = lightness < settings.lens_darkness * float(np.median(lightness[cheeks > 0.5]))
    lenses = np.zeros(image.shape[:2], dtype=np.uint8)
    for ring in (RIGHT_EYE, LEFT_EYE):
        opening = np.zeros(image.shape[:2], dtype=np.uint8)
        cv2.fillPoly(opening, [pixels(xy[list(ring)])], 255)
        around = np.zeros(image.shape[:2], dtype=np.uint8)
        centre = xy[list(ring)].mean(axis=0)
        axes = (max(1, int(round(settings.lens_reach * eye))), max(1, int(round(0.6 * settings.lens_reach * eye))))
        cv2.ellipse(around, (int(round(centre[0])), int(round(centre[1]))), axes, 0.0, 0.0, 360.0, 255, -1)
        skin_ring = (around > 0) & (opening == 0)
        if not opening.any() or not skin_ring.any():
            return found
        if dark[opening > 0].mean() < settings.lens_eye_share or dark[skin_ring].mean() < settings.lens_ring_share:
            return found  # one bare eye: no sunglasses
        lenses[(around > 0) & dark] = 255
    # The bridge and the arms: dark pixels of the eye band joined to the lenses.
    eye_rows = xy[list(RIGHT_EYE + LEFT_EYE), 1]
    reach = 0.6 * settings.lens_reach * eye
    band = np.zeros(image.shape[:2], dtype=bool)
    band[max(0, int(eye_rows.min() - reach)) : int(np.ceil(eye_rows.max() + reach)) + 1] = True
    count, labels = cv2.connectedComponents(((dark & band) | (lenses > 0)).astype(np.uint8), connectivity=8)
    joined = np.unique(labels[lenses > 0])
    lenses[np.isin(labels, joined[joined > 0])] = 255
    grow = max(1, int(round(settings.lens_grow_share * eye)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
    lenses = cv2.dilate(cv2.morphologyEx(lenses, cv2.MORPH_CLOSE, kernel), kernel)
    return lenses.astype(np.float32) / 255.0


def finger_bands(
    image: NDArray[np.uint8], xy: NDArray[np.float32], oval: NDArray[np.bool_], settings: RegionSettings
) -> NDArray[np.float32]:
    """Fingers across the forehead, 0..1: a skin-coloured hand passes the skin model, but the gaps between
    its fingers are long, straight dark lines that a bare forehead does not have (`finger_lines` of them,
    each `finger_line_length` eye distances long and `finger_line_elongation` times as long as it is wide,
    within `finger_line_max_tilt` degrees of the face's horizontal, `finger_line_depth` of the face's
    median lightness darker than around them). The forehead and the lines are measured in the face's own
    frame, so a tilted head is treated as an upright one. The region is their hull grown by `finger_grow`
    eye distances (the fingers beside the gaps, down over the brows and eyes)."""
    eye = eye_distance(xy)
    found = np.zeros(image.shape[:2], dtype=np.float32)
    if eye < MIN_EYE_DISTANCE or not oval.any():
        return found
    lightness = cv2.cvtColor(image, cv2.COLOR_RGB2LAB)[..., 0].astype(np.float32)
    size = max(3, int(round(settings.finger_gap_share * eye)) | 1)
    gaps = cv2.morphologyEx(lightness, cv2.MORPH_BLACKHAT, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)))
    down = face_down(xy)
    down_the_face = along_face(image.shape, down)
    brows_top = float((xy[list(RIGHT_BROW + LEFT_BROW)] @ down).min())
    forehead = oval & (down_the_face < brows_top - 0.05 * eye)
    lines = (gaps > settings.finger_line_depth * float(np.median(lightness[oval]))) & forehead
    gap_points = []
    for part in long_parts(lines, settings.finger_line_length * eye):
        tilt = float(np.degrees(np.arcsin(min(1.0, abs(float(part.axis @ down))))))
        if part.along >= settings.finger_line_elongation * part.across and tilt <= settings.finger_line_max_tilt:
            gap_points.append(np.column_stack([part.cols, part.rows]))
    if len(gap_points) < settings.finger_lines:
        return found
    points = np.concatenate(gap_points).astype(np.int32)
    band = np.zeros(image.shape[:2], dtype=np.uint8)
    cv2.fillConvexPoly(band, cv2.convexHull(points), 255)
    across, along = (max(1, int(round(share * eye))) for share in settings.finger_grow)
    band = cv2.dilate(band, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * along + 1, 2 * across + 1)))
    return (band.astype(np.float32) / 255.0) * oval


def face_region(
    warp: Warp,
    target: Face,
    target_mesh: Mesh,
    forehead_skin: float,
    source_mouth_openness: float,
    canonical: CanonicalFace,
    settings: RegionSettings,
) -> FaceRegion | None:
    """Where the source goes, on the warp's working grid; None when nothing is swapped or when too much of
    a turned face would come from overstretched triangles (the template face stays; pose_note says so)."""
    target_xy = target_mesh[:CANONICAL_POINTS, :2].astype(np.float32)
    shape_hw = warp.small_hw
    origin, scale = warp.origin, warp.scale
    mask = np.zeros(shape_hw, dtype=np.uint8)
    forehead = min(settings.forehead_keep, max(settings.forehead_min, forehead_skin - settings.forehead_margin))
    cv2.fillPoly(mask, [pixels((blend_outline(target_xy, forehead, settings) - origin) * scale)], 255)
    mask = cv2.bitwise_and(mask, _front_facing(warp.destination * scale, canonical, shape_hw, settings))
    if target.mesh is None:
        # The caller's face has another outline (68 landmarks or an ellipse): stay inside it as well,
        # so the feathered edge lies within the swap region that the final composite allows.
        given = np.zeros(shape_hw, dtype=np.uint8)
        cv2.fillPoly(given, [pixels((face_polygon(target) - origin) * scale)], 255)
        mask = cv2.bitwise_and(mask, given)
    mouth: NDArray[np.float32] | None = None
    if mouth_openness(target_mesh) > settings.mouth_open and source_mouth_openness <= settings.mouth_open:
        # One mouth: the target's open mouth (teeth, tongue) stays; the source lips follow its contour.
        lips = np.zeros(shape_hw, dtype=np.uint8)
        cv2.fillPoly(lips, [pixels((target_xy[list(LIPS_INNER)] - origin) * scale)], 255)
        grow = max(1, int(round(settings.mouth_feather_share * face_size(target_mesh) * scale)))
        lips = cv2.dilate(lips, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
        mouth = cv2.GaussianBlur(lips.astype(np.float32) / 255.0, (0, 0), max(0.5, grow / 2.0))
    mask = cv2.bitwise_and(mask, warp.inside)
    stretched = warp.stretched & (mask > 0)
    face_px = int(np.count_nonzero(mask))
    if face_px == 0:
        return None
    too_turned = abs(warp.yaw - warp.target_yaw) > MAX_YAW_DIFFERENCE
    if stretched.sum() > settings.max_stretched_share * face_px and too_turned:
        return None
    mask[stretched] = 0
    if not mask.any():
        return None
    return FaceRegion(face=mask, mouth=mouth)


def tone_parts(
    face: NDArray[np.uint8],
    work_size: tuple[int, int],
    mesh_xy: NDArray[np.float32],
    canonical: CanonicalFace,
    settings: RegionSettings,
) -> ToneParts:
    """The masks the tone stage and the skin model use, at tone resolution (`mesh_xy` in its pixels)."""
    shape_hw = (work_size[1], work_size[0])
    face_t = cv2.resize(face.astype(np.float32) / 255.0, work_size, interpolation=cv2.INTER_LINEAR)
    cheeks, exempt = face_parts(mesh_xy, canonical, shape_hw, settings)
    return ToneParts(
        face=face_t,
        skin=face_t * (1.0 - exempt),
        eyes=eyes_region(mesh_xy, shape_hw, settings),
        eye_openings=eyes_region(mesh_xy, shape_hw, settings, grow_share=settings.eye_openings_share),
        cheeks=cheeks,
        exempt=exempt,
    )


def kept_region(
    warp: Warp,
    warped_t: NDArray[np.uint8],
    target_t: NDArray[np.uint8],
    target_box: NDArray[np.uint8],
    parts: ToneParts,
    mesh_xy_t: NDArray[np.float32],
    eye_points: NDArray[np.float32],
    size: float,
    settings: RegionSettings,
) -> NDArray[np.float32]:
    """What of the target stays in front, 0..1 in box pixels: its hair, hands and glasses (the skin model
    at tone resolution), the warped source's own side hair, a beard kept whole, and the source's
    occluders carried over by the warp. `eye_points` are in box pixels."""
    kept = occlusion_mask(target_t, parts.face, parts.cheeks, parts.exempt)
    # The same skin model on the warped source: its own side hair is not pasted either, but its skin in
    # another light (a lamp on one side) is.
    source_kept = occlusion_mask(warped_t, parts.face, parts.cheeks, parts.exempt)
    source_kept = objects_only(warped_t, source_kept, (parts.face > 0.5) & (parts.exempt < 0.5))
    kept, source_kept = _whole_beard(kept, source_kept, warped_t, target_t, mesh_xy_t, parts.cheeks, settings)
    kept = np.maximum(kept, source_kept)
    if kept.shape[:2] != target_box.shape[:2]:
        kept = cv2.resize(kept, warp.box_size, interpolation=cv2.INTER_LINEAR)
    if warp.occluder is not None and warp.occluder.any():
        # The source's occluders stay out: the target's own face shows there. Grown and softened: the
        # occluder's outline (its shadow, anti-aliasing) stays out too, and the template fades in. That
        # runs on the working grid: a soft mask loses nothing by being resized up.
        covered = cv2.resize(warp.carry(warp.occluder), warp.small_hw[::-1], interpolation=cv2.INTER_AREA)
        grow = settings.occluder_grow_share * size * warp.scale
        radius = max(1, int(round(grow)))
        covered = cv2.dilate(covered, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1)))
        covered = cv2.GaussianBlur(covered, (0, 0), max(grow, 0.5))
        kept = np.maximum(kept, cv2.resize(covered, warp.box_size, interpolation=cv2.INTER_LINEAR))
    frames = glasses_keep_mask(
        target_box,
        eye_points,
        shade_below_eyes=settings.kept_frames_shade,
        matte=FrameMatte(settings.kept_frames_contrast, settings.kept_frames_line_share),
    )
    return np.maximum(kept, frames)


def target_eye_points(face: Face, mesh_xy: NDArray[np.float32]) -> NDArray[np.float32]:
    """dlib's 68 points when the face has them (the glasses model is tuned on them), else the mesh."""
    landmarks = face.landmarks_array()
    return landmarks if landmarks is not None and len(landmarks) == DLIB_POINTS else mesh_xy


def blend_outline(
    mesh_xy: NDArray[np.float32], forehead_keep: float, settings: RegionSettings | None = None
) -> NDArray[np.float32]:
    """The face oval with its top lowered towards the brows: fringes and hairlines stay the target's.

    Oval points above the eyes move inwards (temples: often the source's hair) and points above the
    brow line move down (along the face's chin-to-forehead axis) by (1 - forehead_keep) of their
    height above it.
    """
    settings = settings or RegionSettings()
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
    inset = oval + (eye_middle - oval) * (settings.temple_inset * temple)[:, None]
    inset = inset + (mesh_xy[NOSE_TIP] - inset) * settings.oval_inset
    brow_line = float((mesh_xy[list(RIGHT_BROW + LEFT_BROW)] @ up).mean())
    height = inset @ up - brow_line
    lowered = inset - np.outer(np.maximum(height, 0.0) * (1.0 - forehead_keep), up)
    return lowered.astype(np.float32)


def face_parts(
    mesh_xy: NDArray[np.float32], canonical: CanonicalFace, shape_hw: tuple[int, int], settings: RegionSettings
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Cheek and exempt (eyes, brows, lips) masks from a mesh, 0..1, in its pixels.

    The cheeks are where occlusion_mask learns the skin colour; the exempt parts are never taken for
    occluders and are left out of the light and colour measurement.
    """
    height, width = shape_hw
    eyes_apart = eye_distance(mesh_xy)
    exempt = np.zeros((height, width), dtype=np.uint8)
    cv2.fillPoly(exempt, [pixels(mesh_xy[list(ring)]) for ring in (RIGHT_EYE, LEFT_EYE, LIPS_OUTER)], 255)
    thickness = max(1, int(round(settings.exempt_brow_share * eyes_apart)))
    cv2.polylines(exempt, [pixels(mesh_xy[list(ring)]) for ring in (RIGHT_BROW, LEFT_BROW)], True, 255, thickness)
    grow = max(1, int(round(settings.exempt_grow_share * eyes_apart)))
    exempt = cv2.dilate(exempt, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
    cheeks = np.zeros((height, width), dtype=np.uint8)
    left_cheek = tuple(int(canonical.mirror[index]) for index in RIGHT_CHEEK)
    cv2.fillPoly(cheeks, [pixels(mesh_xy[list(RIGHT_CHEEK)]), pixels(mesh_xy[list(left_cheek)])], 255)
    cheeks[exempt > 0] = 0
    return cheeks.astype(np.float32) / 255.0, exempt.astype(np.float32) / 255.0


def eyes_region(
    mesh_xy: NDArray[np.float32],
    shape_hw: tuple[int, int],
    settings: RegionSettings,
    *,
    grow_share: float | None = None,
) -> NDArray[np.float32]:
    """The eyes and the skin around them (sockets, lids, the top of the cheeks), 0..1: where the source's
    lightness carries its identity, so match_edge_light leaves it alone.

    Each eye's box grown by `eyes_region_share` (or `grow_share`) x the eye distance sideways and half
    that up and down, as a soft ellipse computed from the coordinates (no rasterising: stored and fresh
    meshes, which differ by rounding, give the same mask).
    """
    height, width = shape_hw
    grow = (settings.eyes_region_share if grow_share is None else grow_share) * eye_distance(mesh_xy)
    rows = np.arange(height, dtype=np.float32)[:, None]
    cols = np.arange(width, dtype=np.float32)[None, :]
    region = np.zeros((height, width), dtype=np.float32)
    inner, outer = settings.eyes_region_edge
    for ring in (RIGHT_EYE, LEFT_EYE):
        points = mesh_xy[list(ring)]
        centre_x, centre_y = points.mean(axis=0)
        half_width = float(np.ptp(points[:, 0])) / 2.0 + grow
        half_height = float(np.ptp(points[:, 1])) / 2.0 + grow / 2.0
        radius = np.sqrt(((cols - centre_x) / half_width) ** 2 + ((rows - centre_y) / half_height) ** 2)
        np.maximum(region, np.clip((outer - radius) / (outer - inner), 0.0, 1.0), out=region)
    return region


def lower_face(
    mesh_xy: NDArray[np.float32], shape_hw: tuple[int, int], settings: RegionSettings
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """The face oval below the nose (where a beard grows), softened, and the lips, 0..1."""
    up = mesh_xy[FOREHEAD] - mesh_xy[CHIN]
    up = up / max(float(np.hypot(*up)), 1e-6)
    oval = mesh_xy[list(FACE_OVAL)]
    cut = float(mesh_xy[SUBNASALE] @ up)
    below = oval - np.outer(np.maximum(oval @ up - cut, 0.0), up)  # oval points above the cut moved down onto it
    zone = np.zeros(shape_hw, dtype=np.uint8)
    cv2.fillPoly(zone, [pixels(below)], 255)
    lips = np.zeros(shape_hw, dtype=np.uint8)
    cv2.fillPoly(lips, [pixels(mesh_xy[list(LIPS_OUTER)])], 255)
    sigma = max(0.6, settings.beard_edge_share * eye_distance(mesh_xy))
    soft = cv2.GaussianBlur(zone.astype(np.float32) / 255.0, (0, 0), sigma)
    return np.where(zone > 0, 1.0, soft).astype(np.float32), lips.astype(np.float32) / 255.0


def _whole_beard(
    kept: NDArray[np.float32],
    source_kept: NDArray[np.float32],
    warped: NDArray[np.uint8],
    target: NDArray[np.uint8],
    mesh_xy: NDArray[np.float32],
    cheeks: NDArray[np.float32],
    settings: RegionSettings,
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """A bearded target's beard is kept whole, or replaced whole, never half: kept whole (with a soft
    edge) when the source has none; replaced whole by the source's when it has one."""
    zone, lips = lower_face(mesh_xy, target.shape[:2], settings)
    if float((kept * zone).sum()) < settings.beard_kept_min * float(zone.sum()):
        return kept, source_kept  # nothing of the lower face is kept: a beard there is replaced whole
    beard = beard_mask(target, cheeks, zone, lips)
    if beard is None:
        return kept, source_kept
    if beard_mask(warped, cheeks, zone, lips) is None:
        return np.maximum(kept, beard), source_kept
    return kept * (1.0 - zone), source_kept * (1.0 - zone)


def _front_facing(
    points: NDArray[np.float32], canonical: CanonicalFace, shape_hw: tuple[int, int], settings: RegionSettings
) -> NDArray[np.uint8]:
    """The triangles of the target mesh that face the camera (a turned head hides the far cheek)."""
    corners = points[canonical.triangles].astype(np.float64)
    area = signed_areas(corners)
    flat = canonical.vertices[:, :2] * np.array([1.0, -1.0], dtype=np.float32)
    reference = signed_areas(flat[canonical.triangles].astype(np.float64))
    scale = np.sqrt(abs(area.sum()) / max(abs(reference.sum()), 1e-9))
    visible = area * np.sign(reference) > settings.front_facing_min * np.abs(reference) * scale**2
    mask = np.zeros(shape_hw, dtype=np.uint8)
    polygons = list(pixels(corners[visible]))
    if polygons:
        cv2.fillPoly(mask, polygons, 255)
    return mask
