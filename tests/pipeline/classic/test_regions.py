"""The regions stage (pipeline.classic.regions): every mask the swap uses."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from pipeline.classic.mesh import CANONICAL_POINTS
from pipeline.classic.regions import face_region, kept_region, target_eye_points, tone_parts
from pipeline.classic.settings import RegionSettings, WarpSettings
from pipeline.classic.warp import Warp, plan_warp
from pipeline.mesh_topology import FACE_OVAL, LIPS_INNER
from tests.pipeline.classic.stage_fixtures import StagePair, stage_pair  # noqa: F401


def _warp(pair: StagePair) -> Warp:
    warp = plan_warp(pair.target_mesh, pair.target_image.shape[:2], pair.source, pair.canonical, WarpSettings())
    assert warp is not None
    return warp


def _oval_on_grid(pair: StagePair, warp: Warp) -> np.ndarray:
    oval = np.zeros(warp.small_hw, np.uint8)
    points = (pair.target_mesh[list(FACE_OVAL), :2] - warp.origin) * warp.scale
    cv2.fillPoly(oval, [np.rint(points).astype(np.int32)], 255)
    return oval


def test_the_face_region_lies_inside_the_oval_and_stops_under_a_fringe(stage_pair: StagePair) -> None:
    pair, warp = stage_pair, _warp(stage_pair)
    settings = RegionSettings()
    bare = face_region(warp, pair.target, pair.target_mesh, 1.0, 0.0, pair.canonical, settings)
    fringe = face_region(warp, pair.target, pair.target_mesh, 0.0, 0.0, pair.canonical, settings)
    assert bare is not None and fringe is not None
    oval = _oval_on_grid(pair, warp)
    assert np.count_nonzero(bare.face & ~oval) == 0
    assert np.count_nonzero(bare.face) > 0.7 * np.count_nonzero(oval)
    # A source whose forehead is hidden (a fringe) gives less forehead: the region's top comes down.
    assert np.nonzero(fringe.face)[0].min() > np.nonzero(bare.face)[0].min()


def test_an_open_target_mouth_stays_when_the_source_mouth_is_closed(stage_pair: StagePair) -> None:
    pair, warp = stage_pair, _warp(stage_pair)
    shut = replace(RegionSettings(), mouth_open=-1.0)  # every target mouth counts as open
    closed_source = face_region(warp, pair.target, pair.target_mesh, 1.0, -2.0, pair.canonical, shut)
    open_source = face_region(warp, pair.target, pair.target_mesh, 1.0, 1.0, pair.canonical, shut)
    assert closed_source is not None and closed_source.mouth is not None
    assert open_source is not None and open_source.mouth is None
    lips = (pair.target_mesh[list(LIPS_INNER), :2] - warp.origin) * warp.scale
    x, y = np.rint(lips.mean(axis=0)).astype(int)
    assert closed_source.mouth[y, x] > 0.9


def test_a_face_mostly_from_overstretched_triangles_keeps_the_template_when_turned_too_far(stage_pair: StagePair) -> None:
    pair, warp = stage_pair, _warp(stage_pair)
    everything_stretched = replace(warp, stretched=np.ones(warp.small_hw, bool), yaw=warp.target_yaw + 90.0)
    assert face_region(everything_stretched, pair.target, pair.target_mesh, 1.0, 0.0, pair.canonical, RegionSettings()) is None
    # Within the pose the warp handles, only the stretched pixels keep the template's skin.
    same_pose = replace(everything_stretched, yaw=warp.target_yaw)
    assert face_region(same_pose, pair.target, pair.target_mesh, 1.0, 0.0, pair.canonical, RegionSettings()) is None


def test_the_source_occluders_are_kept_in_front_of_the_swap(stage_pair: StagePair) -> None:
    pair, warp = stage_pair, _warp(stage_pair)
    settings = RegionSettings()
    region = face_region(warp, pair.target, pair.target_mesh, 1.0, 0.0, pair.canonical, settings)
    assert region is not None
    x0, y0, x1, y1 = warp.box
    target_box = np.ascontiguousarray(pair.target_image[y0:y1, x0:x1])
    warped = warp.render()
    target_xy = pair.target_mesh[:CANONICAL_POINTS, :2].astype(np.float32) - warp.origin
    parts = tone_parts(region.face, warp.box_size, target_xy, pair.canonical, settings)
    eyes = target_eye_points(pair.target, pair.target_mesh[:CANONICAL_POINTS, :2]) - warp.origin

    def kept(occluder: np.ndarray | None) -> np.ndarray:
        carried = replace(warp, occluder=occluder)
        return kept_region(carried, warped, target_box, target_box, parts, target_xy, eyes, 150.0, settings)

    clear = kept(None)
    assert clear.shape == target_box.shape[:2] and 0.0 <= clear.min() and clear.max() <= 1.0
    covered = np.zeros(warp.texture.shape[:2], np.float32)
    covered[: covered.shape[0] // 2] = 1.0  # a hand over the top half of the source
    with_hand = kept(covered)
    top = with_hand[: target_box.shape[0] // 3]
    assert float(top.mean()) > float(clear[: target_box.shape[0] // 3].mean()) + 0.3


def test_eye_points_prefer_dlib_landmarks(stage_pair: StagePair) -> None:
    mesh_xy = stage_pair.target_mesh[:CANONICAL_POINTS, :2].astype(np.float32)
    assert len(target_eye_points(stage_pair.target, mesh_xy)) == 68
    assert target_eye_points(replace(stage_pair.target, landmarks=None), mesh_xy) is mesh_xy
