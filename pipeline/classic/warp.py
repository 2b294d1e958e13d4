"""The warp stage: where each pixel of the target's face comes from in the source texture.

The source texture is mapped onto the target's mesh triangles (the target keeps its pose, expression
and outline; `geometry_share` of the source's inner-face shape is added for identity). The map is built
on a face-sized working grid of at most `work_face_size` pixels and then upsampled (a piecewise affine
map is continuous, so upsampling it is nearly exact); only the final remap runs at the target's
resolution, so the time per face is nearly flat in the face size.

A source turned further than the target has its hidden half filled from its mirrored near half,
blended in texture space across a band of the canonical face, never switched along a line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import cv2
import numpy as np
from numpy.typing import NDArray

from pipeline.classic.face_geometry import face_size, pixels, signed_areas
from pipeline.classic.mesh import CANONICAL_POINTS, CanonicalFace, Mesh, mirror_mesh, similarity_transform
from pipeline.classic.settings import WarpSettings
from pipeline.mesh_topology import FACE_OVAL
from pipeline.pose import mesh_yaw, should_mirror

if TYPE_CHECKING:
    from pipeline.classic.source import PreparedSource

BOX_PAD = 2  # pixels around the target's oval in the face box
OUTSIDE = -1e4  # a map value outside any texture


@dataclass(frozen=True)
class MirroredFill:
    """The hidden half of a turned source, taken from its mirrored near half."""

    texture: NDArray[np.uint8] = field(repr=False)
    map_small: NDArray[np.float32] = field(repr=False)  # working grid -> mirrored texture pixels
    weight_small: NDArray[np.float32] = field(repr=False)  # 0..1 on the working grid: how much comes from it


@dataclass(frozen=True)
class Warp:
    """The target's face box and the map from its working grid into the source texture."""

    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in the target image
    scale: float  # working grid pixels per box pixel
    destination: NDArray[np.float32] = field(repr=False)  # the mesh the texture goes onto, in box pixels
    map_small: NDArray[np.float32] = field(repr=False)  # working grid -> texture pixels
    texture: NDArray[np.uint8] = field(repr=False)  # the source crop (mirrored when that suits the target)
    occluder: NDArray[np.float32] | None = field(repr=False)  # the source's occluders, in texture pixels
    yaw: float  # the texture's yaw
    target_yaw: float
    fill: MirroredFill | None
    stretched: NDArray[np.bool_] = field(repr=False)  # working grid: pixels of overstretched triangles
    inside: NDArray[np.uint8] = field(repr=False)  # working grid: 255 where the map lands on the texture

    @property
    def origin(self) -> NDArray[np.float32]:
        return np.array(self.box[:2], dtype=np.float32)

    @property
    def box_size(self) -> tuple[int, int]:
        """(width, height) of the face box."""
        return self.box[2] - self.box[0], self.box[3] - self.box[1]

    @property
    def small_hw(self) -> tuple[int, int]:
        return self.map_small.shape[0], self.map_small.shape[1]

    def render(self) -> NDArray[np.uint8]:
        """The source texture warped onto the face box, at the box's full resolution."""
        warped = cv2.remap(self.texture, self._map_full, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        if self._fill_full is None:
            return warped
        mirror_full, weight = self._fill_full
        far = cv2.remap(self.fill.texture, mirror_full, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        return np.clip(warped + weight[..., None] * (far.astype(np.float32) - warped) + 0.5, 0, 255).astype(np.uint8)

    def carry(self, values: NDArray[np.float32]) -> NDArray[np.float32]:
        """A 0..1 field given in texture pixels (the source's occluders), mapped into the face box."""
        carried = cv2.remap(values, self._map_full, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        if self._fill_full is None:
            return carried
        mirror_full, weight = self._fill_full
        mirrored = np.ascontiguousarray(values[:, ::-1])
        far = cv2.remap(mirrored, mirror_full, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        return carried + weight * (far - carried)

    @cached_property
    def _map_full(self) -> NDArray[np.float32]:
        return cv2.resize(self.map_small, self.box_size, interpolation=cv2.INTER_LINEAR)

    @cached_property
    def _fill_full(self) -> tuple[NDArray[np.float32], NDArray[np.float32]] | None:
        """The mirrored fill's map and weight at the box's full size, or None without a fill."""
        if self.fill is None:
            return None
        size = self.box_size
        return (
            cv2.resize(self.fill.map_small, size, interpolation=cv2.INTER_LINEAR),
            cv2.resize(self.fill.weight_small, size, interpolation=cv2.INTER_LINEAR),
        )


def plan_warp(
    target_mesh: Mesh,
    image_hw: tuple[int, int],
    source: PreparedSource,
    canonical: CanonicalFace,
    settings: WarpSettings,
) -> Warp | None:
    """The warp of `source` onto the target face, or None when the face is too small to swap or the source
    is turned too far from it (`max_fill_yaw`): the template face stays."""
    target_xy = target_mesh[:CANONICAL_POINTS, :2].astype(np.float32)
    size = face_size(target_mesh)
    if size < settings.min_face_size or source.image.size == 0:
        return None
    box = _face_box(target_xy, image_hw)
    if box is None:
        return None
    x0, y0, x1, y1 = box
    box_w, box_h = x1 - x0, y1 - y0
    origin = np.array([x0, y0], dtype=np.float32)

    target_yaw = mesh_yaw(target_mesh)
    texture, texture_mesh, yaw, occluder = source.image, source.mesh, source.yaw, source.occluder
    if should_mirror(source.yaw, target_yaw):
        texture, texture_mesh, yaw = source.mirrored_image, source.mirrored_mesh, -source.yaw
        occluder = None if occluder is None else np.ascontiguousarray(occluder[:, ::-1])
    texture_size = texture.shape[1], texture.shape[0]
    texture, texture_mesh = _bounded_source(texture, texture_mesh, face_size(texture_mesh), size, settings)
    if occluder is not None and (texture.shape[1], texture.shape[0]) != texture_size:
        occluder = cv2.resize(occluder, (texture.shape[1], texture.shape[0]), interpolation=cv2.INTER_AREA)
    fill_far_half = abs(yaw) >= settings.half_fill_yaw and abs(target_yaw) <= abs(yaw) - settings.half_fill_margin
    if fill_far_half and abs(yaw) > settings.max_fill_yaw:
        return None  # most of the far half is hidden: a fill from the near half would smear the face

    destination = blend_geometry(target_xy, texture_mesh[:CANONICAL_POINTS, :2], settings.geometry_share, settings.outline_share)
    if fill_far_half:
        # The hidden half's shape comes from the mirrored near half too: a turned source's foreshortened
        # far half would put its eye squashed against the nose of a more frontal target.
        mirrored_mesh = mirror_mesh(texture_mesh, texture.shape[1], canonical.mirror)
        far_vertex = _far_side_weights(canonical, yaw, settings)
        mirrored_shape = blend_geometry(
            target_xy, mirrored_mesh[:CANONICAL_POINTS, :2], settings.geometry_share, settings.outline_share
        )
        destination = destination + far_vertex[:, None] * (mirrored_shape - destination)
    destination = destination - origin
    scale = min(1.0, settings.work_face_size / size)
    small_w, small_h = max(2, int(round(box_w * scale))), max(2, int(round(box_h * scale)))
    depth = target_mesh[:CANONICAL_POINTS, 2]
    triangle_ids = _triangle_raster(destination * scale, depth, canonical.triangles, (small_h, small_w))
    grid = _full_res_grid(small_w, small_h, box_w, box_h)
    weights = _barycentric(destination, canonical.triangles, triangle_ids, grid, settings)
    map_small = _mapped(weights, texture_mesh[:, :2], canonical.triangles, triangle_ids)
    source_corners = texture_mesh[:CANONICAL_POINTS, :2][canonical.triangles].astype(np.float64)
    inside = _inside(map_small, texture.shape[:2])
    fill: MirroredFill | None = None
    if fill_far_half:
        mirrored = np.ascontiguousarray(texture[:, ::-1])
        mirror_map = _mapped(weights, mirrored_mesh[:, :2], canonical.triangles, triangle_ids)
        far_small = _per_pixel(weights, far_vertex, canonical.triangles, triangle_ids)
        far = far_vertex[canonical.triangles].mean(axis=1) > 0.5
        source_corners[far] = mirrored_mesh[:CANONICAL_POINTS, :2][canonical.triangles[far]]
        inside = np.where(far_small > 0.5, _inside(mirror_map, texture.shape[:2]), inside)
        fill = MirroredFill(texture=mirrored, map_small=mirror_map, weight_small=far_small)
    stretched = _overstretched(destination[canonical.triangles].astype(np.float64), source_corners, settings)
    return Warp(
        box=box,
        scale=scale,
        destination=destination,
        map_small=map_small,
        texture=texture,
        occluder=occluder,
        yaw=yaw,
        target_yaw=target_yaw,
        fill=fill,
        stretched=(triangle_ids >= 0) & stretched[np.maximum(triangle_ids, 0)],
        inside=inside,
    )


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


def _face_box(target_xy: NDArray[np.float32], image_hw: tuple[int, int]) -> tuple[int, int, int, int] | None:
    height, width = image_hw
    oval = target_xy[list(FACE_OVAL)]
    x0 = int(max(0, np.floor(oval[:, 0].min()) - BOX_PAD))
    y0 = int(max(0, np.floor(oval[:, 1].min()) - BOX_PAD))
    x1 = int(min(width, np.ceil(oval[:, 0].max()) + BOX_PAD + 1))
    y1 = int(min(height, np.ceil(oval[:, 1].max()) + BOX_PAD + 1))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    return x0, y0, x1, y1


def _overstretched(
    destination: NDArray[np.float64], source: NDArray[np.float64], settings: WarpSettings
) -> NDArray[np.bool_]:
    """Triangles the warp would stretch far beyond the face's average: texture the source photo barely
    shows (a cheek edge seen from the front, put on the near cheek of a turned head)."""
    target_area = np.abs(signed_areas(destination))
    source_area = signed_areas(source) * np.sign(signed_areas(destination))
    ratio = target_area.sum() / max(float(np.abs(source_area).sum()), 1e-9)
    return target_area > settings.max_stretch * ratio * np.maximum(source_area, 1e-9)


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
    corners = pixels(points[triangles.reshape(-1)]).reshape(-1, 3, 2)
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
    settings: WarpSettings,
) -> NDArray[np.float32]:
    """H x W x 3 barycentric weights of each grid point in its triangle, clamped into the triangle.

    Pixels just outside their triangle (rasterised on a coarse grid, or grown past the mesh edge) are
    projected onto it, so a thin triangle (a closed eye) never throws them far across the source.
    A collapsed triangle gives equal weights.
    """
    corners = destination[triangles].astype(np.float64)  # T x 3 x 2
    homogeneous = np.concatenate([corners, np.ones((len(triangles), 3, 1))], axis=2)  # rows: x y 1
    determinant = np.linalg.det(homogeneous)
    degenerate = np.abs(determinant) < settings.degenerate_area * 2.0
    homogeneous[degenerate] = np.eye(3)
    inverse = np.linalg.inv(homogeneous)  # [x y 1] @ inverse = barycentric weights
    inverse[degenerate] = 0.0
    inverse[degenerate, 2, :] = 1.0 / 3.0
    chosen = np.take(inverse.astype(np.float32), np.maximum(ids, 0), axis=0)  # H x W x 3 x 3
    weights = grid[..., 0:1] * chosen[..., 0, :]
    weights += grid[..., 1:2] * chosen[..., 1, :]
    weights += chosen[..., 2, :]
    np.maximum(weights, 0.0, out=weights)
    total = weights[..., 0] + weights[..., 1]
    total += weights[..., 2]
    weights /= np.maximum(total, 1e-6)[..., None]
    return weights


def _mapped(
    weights: NDArray[np.float32],
    source: NDArray[np.float32],
    triangles: NDArray[np.int32],
    ids: NDArray[np.int32],
) -> NDArray[np.float32]:
    """Source coordinates of every grid point; OUTSIDE (off any texture) where no triangle covers it."""
    corners = np.take(source[triangles].astype(np.float32), np.maximum(ids, 0), axis=0)  # H x W x 3 x 2
    mapped = weights[..., 0, None] * corners[..., 0, :]
    mapped += weights[..., 1, None] * corners[..., 1, :]
    mapped += weights[..., 2, None] * corners[..., 2, :]
    mapped[ids < 0] = OUTSIDE
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
    image: NDArray[np.uint8], mesh: Mesh, source_size: float, target_size: float, settings: WarpSettings
) -> tuple[NDArray[np.uint8], Mesh]:
    """Shrink a source much larger than the target (area averaging), so the remap does not alias."""
    limit = settings.source_face_limit
    if source_size <= limit * target_size or source_size <= 0:
        return image, mesh
    factor = limit * target_size / source_size
    width = max(1, int(round(image.shape[1] * factor)))
    height = max(1, int(round(image.shape[0] * factor)))
    small = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
    scaled = mesh.copy()
    scaled[:, 0] *= width / image.shape[1]
    scaled[:, 1] *= height / image.shape[0]
    return small, scaled


def _far_side_weights(canonical: CanonicalFace, yaw: float, settings: WarpSettings) -> NDArray[np.float32]:
    """Per canonical vertex, 0..1: how much of the mirrored near side fills the side of the face that a
    source turned by `yaw` hides (canonical x < 0 is the subject's right, the image left of a frontal face;
    a positive yaw turns the image-right side away). A smooth ramp across `far_blend_band` of the half
    width, so the two textures meet in a wide blend, never along a line."""
    x = canonical.vertices[:CANONICAL_POINTS, 0]
    far_x = (x if yaw > 0 else -x) / max(float(np.abs(x).max()), 1e-6)
    start, end = settings.far_blend_band
    t = np.clip((far_x - start) / (end - start), 0.0, 1.0)
    return (t * t * (3.0 - 2.0 * t)).astype(np.float32)


def _per_pixel(
    weights: NDArray[np.float32], values: NDArray[np.float32], triangles: NDArray[np.int32], ids: NDArray[np.int32]
) -> NDArray[np.float32]:
    """A per-vertex value interpolated at every grid point (0 where no triangle covers it)."""
    corners = np.take(values[triangles].astype(np.float32), np.maximum(ids, 0), axis=0)  # H x W x 3
    interpolated = weights[..., 0] * corners[..., 0]
    interpolated += weights[..., 1] * corners[..., 1]
    interpolated += weights[..., 2] * corners[..., 2]
    interpolated[ids < 0] = 0.0
    return interpolated
