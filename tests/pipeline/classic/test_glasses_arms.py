"""Temple arms (pipeline.classic.glasses): found as thin lines, inpainted out to their ends, and the cue
for rimless glasses, whose lenses have no rim to find."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from app.bench.quality.pool_cases import draw_rimless
from pipeline.classic import ClassicEngine
from pipeline.classic.glasses import (
    LEVEL_SIZE,
    TEMPLE_ARM_THRESHOLD,
    LevelFace,
    eye_geometry,
    glasses_kind,
    remove_frames,
    temple_arm_scores,
    temple_arms_found,
)
from pipeline.mesh_topology import LEFT_EYE, RIGHT_EYE
from tests.pipeline.face_variants import (
    BARE_PORTRAITS,
    FACE_RECOGNITION_IMAGES,
    face_recognition_dir,
    faint_frames,
)

RGB = NDArray[np.uint8]
Mesh = NDArray[np.float32]
SKIN_GAP = 40.0  # an arm's end counts where the skin behind it is this much lighter than the arm


def _level_face(draw: str) -> LevelFace:
    """A flat grey levelled face (eyes at (55, 60) and (105, 60)) with a line or an edge drawn at each temple."""
    grey = np.full((LEVEL_SIZE[1], LEVEL_SIZE[0]), 120.0, np.float32)
    for x0, x1 in ((10, 38), (122, 150)):
        if draw == "arms":
            grey[56:58, x0:x1] = 60.0
        elif draw == "edges":
            grey[:57, x0:x1] = 60.0  # dark above, skin below: a fringe's or a brow's lower edge
    points = np.array([[55.0, 60.0], [105.0, 60.0], [80.0, 80.0], [62.0, 95.0], [98.0, 95.0]], np.float32)
    return LevelFace(grey, eye_geometry(points), np.eye(2, 3))


@pytest.mark.parametrize(("draw", "found"), [("arms", True), ("edges", False), ("none", False)])
def test_a_temple_arm_is_a_thin_line_not_an_edge(draw: str, found: bool) -> None:
    scores = temple_arm_scores(_level_face(draw))
    assert (min(scores) >= TEMPLE_ARM_THRESHOLD) == found, scores


@pytest.mark.parametrize(
    ("far_end", "found"),
    [(142, True), (134, True), (126, False)],
    ids=["both-whole", "far-half", "near-only"],
)
def test_one_whole_arm_lets_a_turned_heads_shorter_far_arm_count(far_end: int, found: bool) -> None:
    """A turned head's far arm is short or lies over hair: beside one whole arm, half of the other is
    enough; one arm alone (a finger, a strand at one temple) is not."""
    level = _level_face("none")
    level.grey[56:58, 10:38] = 60.0  # the near arm, whole
    level.grey[56:58, 122:far_end] = 60.0  # the far arm, as far as it shows
    scores = temple_arm_scores(level)
    if far_end != 142:
        assert min(scores) < TEMPLE_ARM_THRESHOLD, "both arms at the threshold would not find it"
    assert temple_arms_found(scores) == found, scores


@pytest.fixture(scope="module")
def bare_faces(classic_engine: ClassicEngine) -> list[tuple[str, RGB, Mesh]]:
    from app.bench.sample_portraits import OPENCV_DOC_HINT, load_portrait, opencv_doc_available
    from pipeline.intake import read_image_file
    from tests.conftest import require_service

    require_service(opencv_doc_available(), f"the portraits need opencv-doc; {OPENCV_DOC_HINT}")
    images = [(key, load_portrait(key)) for key in BARE_PORTRAITS]
    images += [(name, read_image_file(str(face_recognition_dir() / name)).array) for name in FACE_RECOGNITION_IMAGES]
    return [(name, image, _mesh(classic_engine, image)) for name, image in images]


def _mesh(engine: ClassicEngine, image: RGB) -> Mesh:
    mesh = max(engine.detect(image), key=lambda face: face.prominence).mesh_array()
    assert mesh is not None
    return mesh


def _eye_centres(mesh: Mesh) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    return mesh[list(RIGHT_EYE), :2].mean(axis=0), mesh[list(LEFT_EYE), :2].mean(axis=0)


def test_temple_arms_are_inpainted_to_their_ends(
    classic_engine: ClassicEngine, bare_faces: list[tuple[str, RGB, Mesh]]
) -> None:
    """Thin dark frames whose arms reach 0.75 eye distances out from each eye's centre: where the arm's
    outer end lies over skin, the removal lightens it at least 40 % of the way back to the skin (a
    search band 1.05 eye distances wide left it as it was)."""
    checked = 0
    for name, image, mesh in bare_faces:
        framed = faint_frames(image, mesh, (70, 66, 60))
        cleaned = remove_frames(framed, _mesh(classic_engine, framed))
        right, left = _eye_centres(mesh)
        distance = float(np.hypot(*(left - right)))
        outward = (right - left) / distance
        for centre, side in ((right, 1.0), (left, -1.0)):
            ends = [centre + side * outward * share * distance for share in np.linspace(0.6, 0.72, 7)]
            rows, cols = [int(p[1]) for p in ends], [int(p[0]) for p in ends]
            skin, arm, after = (float(im[rows, cols].mean()) for im in (image, framed, cleaned))
            if skin - arm < SKIN_GAP:
                continue  # the arm's end lies over hair or the background
            checked += 1
            assert after - arm >= 0.4 * (skin - arm), (name, side, arm, after, skin)
    assert checked >= 10


def test_rimless_glasses_are_found_by_the_bridge_and_both_arms(
    classic_engine: ClassicEngine, bare_faces: list[tuple[str, RGB, Mesh]]
) -> None:
    """Rimless glasses drawn on a frontal face: found as such, and their removal takes the metal (bar and
    arms) and leaves the eyes untouched."""
    image, mesh = next((image, mesh) for name, image, mesh in bare_faces if name == "obama.jpg")
    right, left = _eye_centres(mesh)
    drawn = draw_rimless(image, right, left)
    drawn_mesh = _mesh(classic_engine, drawn)
    assert glasses_kind(image, mesh) == "none"
    assert glasses_kind(drawn, drawn_mesh) == "rimless"
    cleaned = remove_frames(drawn, drawn_mesh, rimless=True)
    distance = float(np.hypot(*(left - right)))
    outward = (right - left) / distance
    up = np.array([-outward[1], outward[0]], np.float32)
    bar = ((right + left) / 2 + up * 0.16 * distance).astype(int)
    arm = (right + outward * 0.6 * distance + up * 0.135 * distance).astype(int)
    grey = [cv2.cvtColor(im, cv2.COLOR_RGB2GRAY).astype(np.float32) for im in (image, drawn, cleaned)]
    for x, y in (bar, arm):
        bare, with_metal, after = (float(g[y - 1 : y + 2, x - 1 : x + 2].mean()) for g in grey)
        assert with_metal < bare - 15, (x, y, bare, with_metal)  # the metal is there ...
        assert after > with_metal + 0.5 * (bare - with_metal), (x, y, bare, with_metal, after)  # ... and gone
    for centre in (right, left):
        x, y = centre.astype(int)
        reach = int(0.12 * distance)
        around = (slice(y - reach, y + reach), slice(x - reach, x + reach))
        assert np.array_equal(cleaned[around], drawn[around])
