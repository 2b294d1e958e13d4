"""The warp stage (pipeline.classic.warp): the source texture on the target's mesh."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from pipeline.pose import mesh_yaw
from pipeline.classic.mesh import CANONICAL_POINTS
from pipeline.classic.settings import WarpSettings
from pipeline.classic.source import prepare_source
from pipeline.classic.warp import blend_geometry, plan_warp
from pipeline.mesh_topology import FACE_OVAL
from tests.pipeline.classic.stage_fixtures import StagePair, stage_pair  # noqa: F401


def test_the_warp_covers_the_target_oval_and_renders_at_the_box_size(stage_pair: StagePair) -> None:
    pair = stage_pair
    warp = plan_warp(pair.target_mesh, pair.target_image.shape[:2], pair.source, pair.canonical, WarpSettings())
    assert warp is not None and warp.fill is None  # two frontal faces: no mirrored fill
    x0, y0, x1, y1 = warp.box
    oval = pair.target_mesh[list(FACE_OVAL), :2]
    assert x0 <= oval[:, 0].min() and oval[:, 0].max() <= x1 and y0 <= oval[:, 1].min() and oval[:, 1].max() <= y1
    rendered = warp.render()
    assert rendered.shape == (y1 - y0, x1 - x0, 3) and rendered.dtype == np.uint8
    # Inside the face the map lands on the source texture, and the working grid is face-sized.
    assert warp.inside.mean() > 0.5 * 255 and max(warp.small_hw) <= 2.5 * WarpSettings().work_face_size
    # The source's own face arrives: the warped face is Tom Hanks's (grey), not the astronaut's.
    centre = rendered[rendered.shape[0] // 3 : 2 * rendered.shape[0] // 3, rendered.shape[1] // 3 : 2 * rendered.shape[1] // 3]
    template = pair.target_image[y0:y1, x0:x1][centre.shape[0] : 2 * centre.shape[0], centre.shape[1] : 2 * centre.shape[1]]
    assert float(np.abs(centre.astype(float).mean(axis=(0, 1)) - template.astype(float).mean(axis=(0, 1))).max()) > 5.0


def test_geometry_share_moves_the_inner_face_towards_the_source_shape(stage_pair: StagePair) -> None:
    target_xy = stage_pair.target_mesh[:CANONICAL_POINTS, :2].astype(np.float32)
    source_xy = stage_pair.source.mesh[:CANONICAL_POINTS, :2].astype(np.float32)
    assert np.array_equal(blend_geometry(target_xy, source_xy, 0.0), target_xy)
    half, full = blend_geometry(target_xy, source_xy, 0.5), blend_geometry(target_xy, source_xy, 1.0)
    assert np.allclose(half, (target_xy + full) / 2.0, atol=1e-3)
    oval = list(FACE_OVAL)
    assert np.allclose(full[oval], target_xy[oval])  # the outline stays the target's by default


def test_a_turned_source_gets_its_hidden_half_from_the_mirrored_near_half(stage_pair: StagePair) -> None:
    pair = stage_pair
    # The source's mesh with its image-right half foreshortened reads as a head turned beyond the fill
    # threshold (the texture itself need not change for the warp's geometry).
    image = pair.source.image
    mesh = pair.source.mesh.copy()
    nose_x = mesh[1, 0]
    far = mesh[:, 0] > nose_x
    mesh[far, 0] = nose_x + 0.35 * (mesh[far, 0] - nose_x)
    turned = prepare_source(image, mesh, pair.canonical)
    assert abs(turned.yaw) >= WarpSettings().half_fill_yaw > abs(mesh_yaw(pair.target_mesh))
    warp = plan_warp(pair.target_mesh, pair.target_image.shape[:2], turned, pair.canonical, WarpSettings())
    assert warp is not None and warp.fill is not None
    weight = warp.fill.weight_small
    assert 0.0 <= float(weight.min()) and float(weight.max()) <= 1.0 + 1e-5
    # A blend band, not a switch along a line: many pixels lie strictly between the two textures.
    assert np.count_nonzero((weight > 0.05) & (weight < 0.95)) > 0.05 * np.count_nonzero(weight > 0.05)
    assert warp.render().shape[:2] == (warp.box[3] - warp.box[1], warp.box[2] - warp.box[0])


def test_a_face_below_the_minimum_size_is_not_warped(stage_pair: StagePair) -> None:
    pair = stage_pair
    settings = replace(WarpSettings(), min_face_size=10_000.0)
    assert plan_warp(pair.target_mesh, pair.target_image.shape[:2], pair.source, pair.canonical, settings) is None


def test_the_map_takes_each_mesh_vertex_to_its_source_vertex(stage_pair: StagePair) -> None:
    pair = stage_pair
    warp = plan_warp(pair.target_mesh, pair.target_image.shape[:2], pair.source, pair.canonical, WarpSettings())
    assert warp is not None and warp.fill is None
    assert warp.texture.shape == pair.source.image.shape  # neither mirrored nor shrunk: the source's own mesh
    map_full = cv2.resize(warp.map_small, warp.box_size, interpolation=cv2.INTER_LINEAR)
    vertices = np.rint(warp.destination).astype(int)
    width, height = warp.box_size
    inside = (vertices[:, 0] > 0) & (vertices[:, 0] < width - 1) & (vertices[:, 1] > 0) & (vertices[:, 1] < height - 1)
    mapped = map_full[vertices[inside, 1], vertices[inside, 0]]
    error = np.hypot(*(mapped - pair.source.mesh[:CANONICAL_POINTS, :2][inside]).T)
    # Rounding a vertex to its pixel and the working grid's upsampling move it by about a pixel, no more.
    assert inside.sum() > 0.9 * CANONICAL_POINTS
    assert float(np.median(error)) < 1.0 and float(np.percentile(error, 95)) < 2.0
