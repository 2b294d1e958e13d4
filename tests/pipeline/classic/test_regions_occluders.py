"""Occluders over the SOURCE face (an object held to the cheek) are never pasted: the target keeps its
own face there (pipeline.classic.regions.source_occluders)."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
from numpy.typing import NDArray

from pipeline.classic import ClassicEngine
from pipeline.classic.regions import dark_at_edge, face_parts, finger_bands, objects_only, source_occluders
from pipeline.classic.settings import RegionSettings
from pipeline.classic.source import prepare_source
from pipeline.classic.swapper import swap_into
from pipeline.mesh_topology import FACE_OVAL, NOSE_TIP, RIGHT_CHEEK
from pipeline.face import Assignment, Face, SourceFace

RGB = NDArray[np.uint8]


def _with_phone(image: RGB, face: Face) -> tuple[RGB, NDArray[np.bool_]]:
    """A dark blue phone held over the left cheek (beside the mouth corner)."""
    points = face.landmarks_array()
    assert points is not None and len(points) == 68
    width = float(np.ptp(points[:17, 0]))
    centre = points[54] + np.array((0.12 * width, -0.12 * width))
    box = cv2.boxPoints(((float(centre[0]), float(centre[1])), (0.18 * width, 0.34 * width), 15.0))
    mask = np.zeros(image.shape[:2], np.uint8)
    cv2.fillConvexPoly(mask, np.round(box).astype(np.int32), 255)
    out = image.copy()
    out[mask > 0] = (28, 36, 92)
    return out, mask > 0


def test_the_source_occluder_is_found(classic_engine: ClassicEngine, astronaut_image: RGB) -> None:
    face = classic_engine.detect(astronaut_image)[0]
    occluded, phone = _with_phone(astronaut_image, face)
    canonical = classic_engine._loaded().mesher.canonical

    def found_in(image: RGB) -> tuple[NDArray[np.float32], NDArray[np.float32], tuple[slice, slice]]:
        mesh = classic_engine.detect(image)[0].mesh_array()
        assert mesh is not None
        (x0, y0), (x1, y1) = mesh[:, :2].min(axis=0).astype(int) - 30, mesh[:, :2].max(axis=0).astype(int) + 30
        box = (slice(max(0, y0), y1), slice(max(0, x0), x1))  # a crop around the face, as prepare_source makes
        local = mesh.copy()
        local[:, 0] -= box[1].start
        local[:, 1] -= box[0].start
        return source_occluders(np.ascontiguousarray(image[box]), local, canonical, RegionSettings()), local, box

    found, local, box = found_in(occluded)
    inside = phone[box]
    core = cv2.erode(inside.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0  # the mask's edge is soft
    assert float(found[core].mean()) > 0.85 and float(found[inside].mean()) > 0.6
    oval = np.zeros(inside.shape, np.uint8)
    cv2.fillConvexPoly(oval, cv2.convexHull(np.round(local[:468, :2]).astype(np.int32)), 1)
    assert float(found[(oval > 0) & ~inside].mean()) < 0.03  # the rest of the face is pasted
    clean, _, _ = found_in(astronaut_image)
    assert float(clean.max(initial=0.0)) < 0.5  # a clean face has no occluder


def test_the_target_keeps_its_face_where_the_source_is_covered(
    classic_engine: ClassicEngine, astronaut_image: RGB, t1_image: RGB, classic_t1_faces: list[Face]
) -> None:
    # The image side of the source face left of its nose is taken for an occluder: the result changes
    # on the other side of the target's nose only (before, occluders were pasted like skin).
    canonical = classic_engine._loaded().mesher.canonical
    source_mesh = classic_engine.detect(astronaut_image)[0].mesh_array()
    target = classic_t1_faces[0]  # a woman facing the camera, like the source
    target_mesh = target.mesh_array()
    assert source_mesh is not None and target_mesh is not None
    prepared = prepare_source(astronaut_image, source_mesh, canonical)
    nose_x = int(round(float(prepared.mesh[NOSE_TIP, 0])))
    covered = np.zeros(prepared.image.shape[:2], np.float32)
    covered[:, : nose_x - 8] = 1.0

    def swapped(occluder: NDArray[np.float32] | None) -> NDArray[np.bool_]:
        result = t1_image.copy()
        swap_into(result, target, target_mesh, replace(prepared, occluder=occluder), canonical)
        return np.abs(result.astype(np.int16) - t1_image.astype(np.int16)).max(axis=2) > 6

    whole, half = swapped(None), swapped(covered)
    # Where the covered side lands on the target: the hull of its mesh points well inside it.
    deep = np.nonzero(prepared.mesh[:468, 0] < nose_x - 20)[0]
    landed = np.zeros(half.shape, np.uint8)
    cv2.fillConvexPoly(landed, cv2.convexHull(np.round(target_mesh[deep, :2]).astype(np.int32)), 1)
    assert whole.sum() > 1000 and 0.2 * whole.sum() < half.sum() < 0.8 * whole.sum()
    assert float(whole[landed > 0].mean()) > 0.5  # the clean source changes it ...
    assert float(half[landed > 0].mean()) < 0.03  # ... the covered one does not
    assert not swapped(np.ones_like(covered)).any()  # all covered: the template face stays


def _with_fingers(image: RGB, face: Face) -> tuple[RGB, NDArray[np.bool_]]:
    """Four skin-coloured fingers across the forehead, each darker at its edges (as a real finger is)."""
    points = face.landmarks_array()
    assert points is not None and len(points) == 68
    right, left = points[36:42].mean(axis=0), points[42:48].mean(axis=0)
    eye = float(np.hypot(*(left - right)))
    skin = np.median(image[int(points[29, 1]), int(points[2, 0]) : int(points[14, 0])].reshape(-1, 3), axis=0)
    out = image.astype(np.float32)
    covered = np.zeros(image.shape[:2], bool)
    finger = 0.2 * eye
    for number in range(4):
        y = min(right[1], left[1]) - 0.8 * eye + number * 1.2 * finger
        layer = np.zeros(image.shape[:2], np.uint8)
        start = (int(right[0] - 0.9 * eye), int(y))
        cv2.line(layer, start, (int(left[0] + 0.1 * eye), int(y)), 255, max(1, int(round(finger))))
        depth = cv2.distanceTransform(layer, cv2.DIST_L2, 5)
        shade = 0.62 + 0.38 * np.sqrt(np.clip(depth / (finger / 2), 0, 1))
        inside = layer > 0
        out[inside] = (skin * shade[..., None])[inside]
        covered |= inside
    return np.clip(out, 0, 255).astype(np.uint8), covered


def _fingers_found(engine: ClassicEngine, image: RGB) -> tuple[NDArray[np.float32], NDArray[np.uint8]]:
    """finger_bands on the image's first face, and that face's oval (0/1)."""
    mesh = engine.detect(image)[0].mesh_array()
    assert mesh is not None
    xy = mesh[:468, :2].astype(np.float32)
    oval = np.zeros(image.shape[:2], np.uint8)
    cv2.fillPoly(oval, [np.rint(xy[list(FACE_OVAL)]).astype(np.int32)], 1)
    return finger_bands(image, xy, oval > 0, RegionSettings()), oval


def test_skin_coloured_fingers_over_the_forehead_are_found(
    classic_engine: ClassicEngine, astronaut_image: RGB
) -> None:
    # The skin model passes them; the dark gaps between the fingers give them away (on a bare forehead:
    # over the astronaut's fringe they are not found).
    from app.bench.sample_portraits import OPENCV_DOC_HINT, load_portrait, opencv_doc_available
    from tests.conftest import require_service

    require_service(opencv_doc_available(), f"the portraits need opencv-doc; {OPENCV_DOC_HINT}")
    portrait = load_portrait("bearded_man")
    covered_image, covered = _with_fingers(portrait, classic_engine.detect(portrait)[0])
    for image, expect_hand in ((covered_image, True), (portrait, False), (astronaut_image, False)):
        found, oval = _fingers_found(classic_engine, image)
        if expect_hand:
            on_face = covered & (oval > 0)
            assert float(found[on_face].mean()) > 0.8
            assert float(found[(oval > 0) & ~covered].mean()) < 0.2  # the face below stays
        else:
            assert not found.any()


def _around_face(image: RGB, mesh: NDArray[np.float32]) -> tuple[RGB, NDArray[np.float32]]:
    """A crop around the face, as prepare_source makes, and the mesh in its pixels."""
    (x0, y0), (x1, y1) = mesh[:, :2].min(axis=0).astype(int) - 30, mesh[:, :2].max(axis=0).astype(int) + 30
    x0, y0 = max(0, x0), max(0, y0)
    local = mesh.copy()
    local[:, 0] -= x0
    local[:, 1] -= y0
    return np.ascontiguousarray(image[y0:y1, x0:x1]), local


def _large_phone(image: RGB, mesh: NDArray[np.float32]) -> tuple[RGB, NDArray[np.bool_]]:
    """A dark blue phone over the whole of the image-right cheek, where the skin model samples it: more
    of the cheek samples are phone than skin."""
    cheek = mesh[list(RIGHT_CHEEK), :2].mean(axis=0)  # the cheek on the image's left ...
    centre = 2.0 * float(mesh[NOSE_TIP, 0]) - float(cheek[0]), float(cheek[1])  # ... mirrored
    width = float(np.ptp(mesh[list(FACE_OVAL), 0]))
    box = cv2.boxPoints((centre, (0.32 * width, 0.5 * width), 10.0))
    mask = np.zeros(image.shape[:2], np.uint8)
    cv2.fillConvexPoly(mask, np.round(box).astype(np.int32), 255)
    out = image.copy()
    out[mask > 0] = (28, 36, 92)
    return out, mask > 0


def _oval(shape_hw: tuple[int, ...], mesh: NDArray[np.float32]) -> NDArray[np.bool_]:
    oval = np.zeros(shape_hw[:2], np.uint8)
    cv2.fillPoly(oval, [np.rint(mesh[list(FACE_OVAL), :2]).astype(np.int32)], 1)
    return oval > 0


def test_a_phone_over_most_of_the_cheek_samples_is_found_not_the_face(
    classic_engine: ClassicEngine, astronaut_image: RGB
) -> None:
    # The cheek samples hold two colours that meet at an edge; the skin model is learnt on the one of
    # skin's hue (before, on all of them: the face itself came out as the occluder).
    canonical = classic_engine._loaded().mesher.canonical
    mesh = classic_engine.detect(astronaut_image)[0].mesh_array()
    assert mesh is not None
    crop, local = _around_face(astronaut_image, mesh)
    occluded, phone = _large_phone(crop, local)
    found = source_occluders(occluded, local, canonical, RegionSettings())
    cheeks, exempt = face_parts(local[:468, :2].astype(np.float32), canonical, crop.shape[:2], RegionSettings())
    assert float((cheeks > 0.5)[phone].sum()) >= 0.5 * float((cheeks > 0.5).sum())  # the case this is about
    core = cv2.erode(phone.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    oval = _oval(crop.shape, local)
    assert float(found[core & oval & (exempt < 0.5)].mean()) > 0.85  # the lips' margin is never an occluder
    beside_phone = cv2.dilate(phone.astype(np.uint8), np.ones((15, 15), np.uint8)) > 0
    assert float(found[oval & ~beside_phone].mean()) < 0.05  # the bare face is pasted


def test_a_phone_on_the_cheek_is_filled_with_the_sources_own_skin(
    classic_engine: ClassicEngine, astronaut_image: RGB
) -> None:
    # Carried over, the target's own cheek would show through as a patch of another skin.
    canonical = classic_engine._loaded().mesher.canonical
    face = classic_engine.detect(astronaut_image)[0]
    occluded, phone = _with_phone(astronaut_image, face)
    mesh = face.mesh_array()
    assert mesh is not None
    prepared = prepare_source(occluded, mesh, canonical)
    clean = prepare_source(astronaut_image, mesh, canonical)
    x0 = int(round(float(mesh[:, 0].min() - prepared.mesh[:, 0].min())))
    y0 = int(round(float(mesh[:, 1].min() - prepared.mesh[:, 1].min())))
    on_phone = phone[y0 : y0 + prepared.image.shape[0], x0 : x0 + prepared.image.shape[1]]
    assert on_phone.sum() > 500

    def lab(image: RGB) -> NDArray[np.float32]:
        return cv2.cvtColor(image.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)

    difference = np.linalg.norm(lab(prepared.image)[on_phone] - lab(clean.image)[on_phone], axis=1)
    assert float(np.median(difference)) < 8.0  # the cheek's own colour (the phone is 50 units away)
    assert prepared.occluder is None or float(prepared.occluder[on_phone].mean()) < 0.05


def test_a_region_fading_into_the_skin_is_light_and_one_with_a_sharp_edge_is_an_object() -> None:
    size = 200
    skin = np.array((205, 150, 125), np.float32)
    image = np.tile(skin, (size, size, 1))
    yy, xx = np.mgrid[:size, :size].astype(np.float32)
    # Left: a cool light fading in over 40 px (skin in another light). Right: a blue phone, sharp-edged.
    fade = np.clip((60.0 - xx) / 40.0, 0.0, 1.0)[..., None]
    image = image * (1 - fade) + np.array((150, 150, 190), np.float32) * fade
    phone = (xx > 140) & (xx < 180) & (yy > 60) & (yy < 140)
    image[phone] = (28, 36, 92)
    image = np.clip(image + 0.5, 0, 255).astype(np.uint8)
    not_skin = np.zeros((size, size), np.float32)
    not_skin[(xx < 45)] = 1.0
    not_skin[phone] = 1.0
    not_skin = cv2.GaussianBlur(not_skin, (0, 0), 2.0)
    face = np.ones((size, size), bool)
    kept = objects_only(image, not_skin, face)
    assert float(kept[:, :50].max()) == 0.0  # the light, with its softened rim
    assert float(kept[phone].mean()) > 0.9  # the phone stays an occluder


def test_fingers_over_a_tilted_forehead_are_found(classic_engine: ClassicEngine) -> None:
    """The same fingers on the head tilted 25 deg: the forehead and the lines between the fingers are
    measured in the face's own frame, not in the photo's rows."""
    from app.bench.sample_portraits import OPENCV_DOC_HINT, load_portrait, opencv_doc_available
    from tests.conftest import require_service

    require_service(opencv_doc_available(), f"the portraits need opencv-doc; {OPENCV_DOC_HINT}")
    portrait = load_portrait("bearded_man")
    covered_image, covered = _with_fingers(portrait, classic_engine.detect(portrait)[0])
    height, width = portrait.shape[:2]
    turn = cv2.getRotationMatrix2D((width / 2.0, height / 2.0), 25.0, 1.0)
    for image, expect_hand in ((covered_image, True), (portrait, False)):
        tilted = cv2.warpAffine(image, turn, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        found, oval = _fingers_found(classic_engine, tilted)
        if expect_hand:
            on_face = (cv2.warpAffine(covered.astype(np.uint8), turn, (width, height)) > 0) & (oval > 0)
            assert float(found[on_face].mean()) > 0.8
        else:
            assert not found.any()


def test_a_dark_lock_over_the_temple_is_found_and_the_bare_face_and_a_beard_are_not(
    classic_engine: ClassicEngine, astronaut_image: RGB
) -> None:
    """A wide lock of dark hair over the temple and cheek passes the skin model (it allows deep shade), so
    dark_at_edge finds it: far darker than the cheeks and reaching the oval's edge above the nose. A beard,
    and a dim photo's shade in the middle of the face, are not taken."""
    from app.bench.quality.pool_cases import draw_curtain
    from app.bench.quality.stress import dim
    from app.bench.sample_portraits import OPENCV_DOC_HINT, load_portrait, opencv_doc_available
    from tests.conftest import require_service

    canonical = classic_engine._loaded().mesher.canonical

    def found_in(image: RGB) -> tuple[NDArray[np.float32], NDArray[np.bool_], float]:
        mesh = classic_engine.detect(image)[0].mesh_array()
        assert mesh is not None
        oval = np.zeros(image.shape[:2], np.uint8)
        cv2.fillPoly(oval, [np.round(mesh[list(FACE_OVAL), :2]).astype(np.int32)], 1)
        return dark_at_edge(image, mesh, canonical, RegionSettings()), oval > 0, float(mesh[2, 1])  # 2: under the nose

    points = classic_engine.detect(astronaut_image)[0].landmarks_array()
    assert points is not None
    locked, lock = draw_curtain(astronaut_image, points)
    found, oval, nose = found_in(locked)
    covered = lock & oval & (np.indices(oval.shape)[0] < nose)
    assert covered.sum() > 500 and float(found[covered].mean()) > 0.6  # measured: 0.69
    assert float(found[oval & ~lock].mean()) < 0.04  # the rest of her face is pasted (measured: 0.017)
    clean, oval, _ = found_in(astronaut_image)
    assert float(clean[oval].mean()) < 0.05  # only her own fringe's tips at the temple (measured: 0.024)
    require_service(opencv_doc_available(), f"the portraits need opencv-doc; {OPENCV_DOC_HINT}")
    found, oval, nose = found_in(load_portrait("bearded_man"))
    assert not found[np.indices(oval.shape)[0] > nose].any()  # his dark beard is pasted
    assert float(found[oval].mean()) < 0.02
    found, oval, _ = found_in(dim(load_portrait("bearded_man")))
    # A dim photo's shade under his eyes and beside his nose is his face (0.03 of it was taken before the
    # middle of the face was left out; measured now: 0).
    assert float(found[oval].mean()) < 0.01
