"""Hands over a source face (pipeline.classic.hands): found with MediaPipe's palm and hand landmark
models, drawn as a mask, and left out of the swap by the source preparation."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from app.bench.quality.pool import POOL_PHOTO_FILES, POOL_PHOTOS_DIR
from pipeline.classic import ClassicEngine
from pipeline.classic.hands import Hand, HandFinder, hand_mask, hand_model_paths
from pipeline.classic.install_hand_models import HAND_LANDMARK_MODEL, PALM_MODEL, install
from pipeline.classic.source import prepare_source
from pipeline.classic.wheel_model import InstallError
from pipeline.errors import ModelUnavailable
from pipeline.intake import read_image_file

RGB = NDArray[np.uint8]
# facetorch 0.6.2's test2.jpg: a laughing woman with both hands on her cheeks (a quality pool photo).
LAUGH = POOL_PHOTOS_DIR / POOL_PHOTO_FILES["ft_laugh"]


@pytest.fixture(scope="module")
def finder() -> HandFinder:
    return HandFinder()


@pytest.fixture(scope="module")
def laugh() -> RGB:
    if not LAUGH.is_file():
        pytest.skip(f"{LAUGH} is missing (run `make test-photos`)")
    return read_image_file(LAUGH).array


def _flat_hand(origin: tuple[float, float], palm: float) -> Hand:
    """A right hand held up, fingers spread: the wrist at `origin`, the knuckles `palm` px wide."""
    x, y = origin
    points = [(x, y)]
    points += [(x - 0.4 * palm - 0.3 * palm * k, y - 0.2 * palm - 0.15 * palm * k) for k in range(4)]  # thumb, out to the side
    for column in range(4):  # index to little finger: knuckle, then three joints straight up
        fx = x - 0.5 * palm + column * palm / 3.0
        points += [(fx, y - palm - 0.3 * palm * k) for k in range(4)]
    return Hand(points=np.array(points, dtype=np.float32), presence=1.0)


def test_two_hands_are_found_on_the_cheeks_of_a_laughing_face(
    classic_engine: ClassicEngine, finder: HandFinder, laugh: RGB
) -> None:
    [face] = [face for face in classic_engine.detect(laugh) if face.bbox[2] - face.bbox[0] > 200]
    hands = finder.near_face(laugh, face.bbox)
    assert len(hands) == 2
    x1, y1, x2, y2 = face.bbox
    for hand in hands:
        assert hand.presence >= 0.5
        tips = hand.points[[8, 12, 16]]  # her fingertips rest on her cheeks, inside the face box
        assert ((tips[:, 0] > x1) & (tips[:, 0] < x2) & (tips[:, 1] > y1) & (tips[:, 1] < y2)).all()
    centres = sorted(float(hand.points[:, 0].mean()) for hand in hands)
    assert centres[0] < (x1 + x2) / 2 < centres[1]  # one hand each side


def test_no_hand_is_found_near_a_face_without_one(
    classic_engine: ClassicEngine, finder: HandFinder, astronaut_image: RGB, tom_hanks_image: RGB
) -> None:
    for image in (astronaut_image, tom_hanks_image):
        [face] = classic_engine.detect(image)
        assert finder.near_face(image, face.bbox) == []


def test_the_mask_covers_palm_fingers_and_nails_but_not_the_gap_by_the_thumb() -> None:
    hand = _flat_hand((200.0, 300.0), palm=80.0)
    mask = hand_mask((400, 400), [hand])
    assert mask[280, 200] == 1.0  # the palm
    assert mask[int(hand.points[12, 1]), int(hand.points[12, 0])] == 1.0  # the middle fingertip
    beyond = hand.points[12] + 0.4 * (hand.points[12] - hand.points[11])  # its nail, past the tip point
    assert mask[int(beyond[1]), int(beyond[0])] > 0.5
    gap = (hand.points[4] + hand.points[8]) / 2.0  # between the thumb's tip and the index finger's tip
    assert mask[int(gap[1]), int(gap[0])] == 0.0
    assert mask[20, 20] == 0.0 and mask[390, 390] == 0.0
    shifted = hand_mask((400, 400), [hand], origin=(50.0, 30.0))
    assert shifted[250, 150] == 1.0 and np.array_equal(shifted[:-30, :-50], mask[30:, 50:])


def test_a_hand_over_the_source_face_becomes_an_occluder(
    classic_engine: ClassicEngine, astronaut_image: RGB
) -> None:
    """The hand lies in photo pixels; the prepared source's crop starts elsewhere, so the mask must follow."""
    [face] = classic_engine.detect(astronaut_image)
    mesh = face.mesh_array()
    assert mesh is not None
    canonical = classic_engine._loaded().mesher.canonical
    cheek = mesh[:, :2].mean(axis=0) + np.array([30.0, 60.0], dtype=np.float32)
    hand = _flat_hand((float(cheek[0]), float(cheek[1]) + 40.0), palm=50.0)
    plain = prepare_source(astronaut_image, mesh, canonical)
    covered = prepare_source(astronaut_image, mesh, canonical, hands=[hand])
    assert covered.occluder is not None
    corner = mesh[0, :2] - covered.mesh[0, :2]  # the crop's top-left corner in photo pixels
    tip = hand.points[12] - corner
    assert covered.occluder[int(tip[1]), int(tip[0])] > 0.5
    before = 0.0 if plain.occluder is None else float(plain.occluder.sum())
    assert float(covered.occluder.sum()) > before + 0.5 * float(hand_mask(astronaut_image.shape, [hand]).sum())


def test_model_files_that_are_not_the_pinned_ones_are_refused(tmp_path: Path) -> None:
    palm, landmarks = hand_model_paths()
    wrong = tmp_path / "palm.tflite"
    wrong.write_bytes(b"not the model")
    with pytest.raises(ModelUnavailable, match="checksum"):
        HandFinder(wrong, landmarks)
    with pytest.raises(ModelUnavailable, match="missing"):
        HandFinder(palm, tmp_path / "absent.tflite")


def test_the_installer_takes_only_the_pinned_members(tmp_path: Path) -> None:
    palm, landmarks = (path.read_bytes() for path in hand_model_paths())

    def wheel(name: str, palm_bytes: bytes) -> Path:
        path = tmp_path / name
        with zipfile.ZipFile(buffer := io.BytesIO(), "w") as archive:
            archive.writestr(PALM_MODEL.member, palm_bytes)
            archive.writestr(HAND_LANDMARK_MODEL.member, landmarks)
        path.write_bytes(buffer.getvalue())
        return path

    installed = install(tmp_path / "good", wheel("good.whl", palm))
    assert [path.read_bytes() for path in installed] == [palm, landmarks]
    with pytest.raises(InstallError, match="not the pinned file"):
        install(tmp_path / "bad", wheel("bad.whl", palm[:-1] + b"x"))
    assert not (tmp_path / "bad" / PALM_MODEL.name).exists()
