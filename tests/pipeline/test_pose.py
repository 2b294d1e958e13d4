"""The pose note (pipeline.pose): when a source and a target are turned too differently, or the source is
turned so far that a more frontal target would need the half it hides."""

from __future__ import annotations

import math

import pytest

from pipeline.face import Face
from pipeline.pose import estimate_yaw, pose_note


def turned_face(yaw: float) -> Face:
    """Five key points of a face turned `yaw` degrees (eyes 60 px apart when frontal)."""
    half = 30.0 * math.cos(math.radians(yaw))
    nose_x = 100.0 + 1.25 * 30.0 * math.sin(math.radians(yaw))
    kps = ((100.0 - half, 100.0), (100.0 + half, 100.0), (nose_x, 130.0), (85.0, 150.0), (115.0, 150.0))
    return Face(bbox=(50.0, 50.0, 150.0, 180.0), kps=kps, det_score=0.9)


@pytest.mark.parametrize("yaw", [-50.0, -20.0, 0.0, 30.0, 50.0])
def test_the_yaw_is_read_back_from_the_points(yaw: float) -> None:
    assert estimate_yaw(turned_face(yaw)) == pytest.approx(yaw, abs=0.5)


@pytest.mark.parametrize(
    ("source", "target", "noted"),
    [
        (0.0, 10.0, False),  # both near frontal
        (-20.0, 20.0, False),  # opposite sides: the mirrored source fits
        (-40.0, 5.0, True),  # 45 deg apart: beyond what the warp handles
        (50.0, 0.0, True),  # the source hides its far half from a frontal target
        (50.0, 30.0, True),  # ... and from one 20 deg more frontal (the difference alone is 20)
        (50.0, 42.0, False),  # a target turned nearly as far needs only what the source shows
    ],
)
def test_the_note_comes_when_the_warp_cannot_follow(source: float, target: float, noted: bool) -> None:
    note = pose_note(turned_face(source), turned_face(target))
    assert (note is not None) is noted
    if noted:
        assert note is not None and "template face kept" in note
