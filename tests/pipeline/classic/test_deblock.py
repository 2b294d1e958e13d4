"""JPEG block detection and removal (pipeline.classic.deblock) on the package portraits.

Figures at the time of writing (6 portraits): blockiness 1.0-1.4 clean, 1.1-1.4 at JPEG quality
95, 1.3-1.8 at 75, 2.6-3.0 at 30, 3.9-4.7 at 15 and 6.1-7.6 at 8; deblocking quality 8 brings it
to 0.9-1.8 and the mean absolute error against the clean photo down by 12-22 % (q15: 8-17 %).
No timing here (BENCHMARKS.md has the figures): tests assert behaviour, not speed.
"""

from __future__ import annotations

import io
from functools import lru_cache

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image

from app.bench.quality.stress import heavy_jpeg
from pipeline.classic import ClassicEngine
from pipeline.classic.deblock import BLOCKINESS_THRESHOLD, blockiness, deblock
from pipeline.classic.mesh import FaceMesher
from pipeline.classic.source import prepare_source
from app.bench.sample_portraits import OPENCV_DOC_HINT, PhotoMissing, load_portrait
from tests.conftest import require_service

RGB = NDArray[np.uint8]

KEYS = ["bearded_man", "astronaut", "smiling_man", "blonde_woman", "glasses_man", "grace_hopper"]
LIGHT_QUALITIES = (95, 75)  # left alone
HEAVY_QUALITIES = (15, 8)  # deblocked


@lru_cache(maxsize=None)
def _portrait(key: str) -> RGB:
    image = load_portrait(key)
    image.setflags(write=False)
    return image


@lru_cache(maxsize=None)
def _jpeg(key: str, quality: int) -> RGB:
    """The portrait saved by PIL at `quality` (4:2:0 chroma, as heavy_jpeg in the stress set) and decoded."""
    buffer = io.BytesIO()
    Image.fromarray(_portrait(key)).save(buffer, format="JPEG", quality=quality)
    image = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"), dtype=np.uint8)
    image.setflags(write=False)
    return image


@lru_cache(maxsize=None)
def _deblocked(key: str, quality: int) -> RGB:
    return deblock(_jpeg(key, quality))


def _require_portraits() -> None:
    try:
        _portrait("bearded_man")
    except PhotoMissing:
        require_service(False, f"the portraits need opencv-doc; {OPENCV_DOC_HINT}")


@pytest.fixture(params=KEYS)
def key(request: pytest.FixtureRequest) -> str:
    _require_portraits()
    return str(request.param)


def _middle(image: RGB) -> NDArray[np.float32]:
    """The middle two thirds of the image each way, where the portraits have their face."""
    height, width = image.shape[:2]
    return image[height // 6 : height - height // 6, width // 6 : width - width // 6].astype(np.float32)


def _error(image: RGB, clean: RGB) -> float:
    return float(np.abs(_middle(image) - _middle(clean)).mean())


def _edge_strength(image: RGB, edges: NDArray[np.bool_]) -> float:
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    gradient = np.hypot(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))
    return float(gradient[edges].mean())


def test_clean_and_light_jpeg_are_left_alone(key: str) -> None:
    for name, image in [("clean", _portrait(key))] + [(f"q{q}", _jpeg(key, q)) for q in LIGHT_QUALITIES]:
        measured = blockiness(image)
        assert measured < BLOCKINESS_THRESHOLD - 0.3, f"{name}: blockiness {measured:.2f}"
        result = deblock(image)
        assert result is image or np.array_equal(result, image), name


def test_heavy_jpeg_is_detected(key: str) -> None:
    light, q15, q8 = (blockiness(_jpeg(key, q)) for q in (75, 15, 8))
    assert q15 > BLOCKINESS_THRESHOLD * 1.5, f"q15: {q15:.2f}"
    assert q8 > BLOCKINESS_THRESHOLD * 2.5, f"q8: {q8:.2f}"
    assert light < q15 < q8


def test_deblocking_removes_the_grid(key: str) -> None:
    """Quality 8: blockiness 6.1-7.6 drops to 0.9-1.8 (at most 0.27 of it), under the threshold."""
    before = blockiness(_jpeg(key, 8))
    after = blockiness(_deblocked(key, 8))
    assert after < 0.35 * before, f"{before:.2f} -> {after:.2f}"
    assert after < BLOCKINESS_THRESHOLD, "a second call would deblock again"
    again = _deblocked(key, 8)
    assert deblock(again) is again


@pytest.mark.parametrize("quality", HEAVY_QUALITIES)
def test_deblocked_is_closer_to_the_clean_photo(key: str, quality: int) -> None:
    """Mean absolute error in the middle of the photo: 6.4-9.7 -> 5.3-8.5 at q8, 4.2-7.2 -> 3.5-6.4 at q15."""
    clean = _portrait(key)
    before = _error(_jpeg(key, quality), clean)
    after = _error(_deblocked(key, quality), clean)
    assert after < 0.95 * before, f"q{quality}: {before:.2f} -> {after:.2f}"


@pytest.mark.parametrize("quality", HEAVY_QUALITIES)
def test_deblocking_keeps_colour(key: str, quality: int) -> None:
    jpeg, result = _jpeg(key, quality), _deblocked(key, quality)
    assert result.shape == jpeg.shape and result.dtype == np.uint8
    shift = np.abs(result.reshape(-1, 3).mean(axis=0) - jpeg.reshape(-1, 3).mean(axis=0))
    assert shift.max() < 0.5, f"channel means moved by {shift.round(2)}"


@pytest.mark.parametrize(("quality", "kept"), [(8, 0.78), (15, 0.88)])
def test_deblocking_keeps_real_edges(key: str, quality: int, kept: float) -> None:
    """Gradient on the clean photo's strongest 3 % of edges (eyes, lips, hair outline), deblocked vs
    the JPEG: 0.82-1.00 at q8. A Gaussian blur that removes as much of the grid (sigma 1.5) keeps 0.5-0.7."""
    clean_grey = cv2.cvtColor(_portrait(key), cv2.COLOR_RGB2GRAY).astype(np.float32)
    gradient = np.hypot(cv2.Sobel(clean_grey, cv2.CV_32F, 1, 0), cv2.Sobel(clean_grey, cv2.CV_32F, 0, 1))
    edges = gradient > np.percentile(gradient, 97)
    ratio = _edge_strength(_deblocked(key, quality), edges) / _edge_strength(_jpeg(key, quality), edges)
    assert ratio > kept, f"q{quality}: edge strength kept {ratio:.2f}"


def test_grid_is_measured_from_the_top_left_corner(key: str) -> None:
    """The same JPEG cropped by a few pixels puts the block edges off the grid: nothing is found."""
    shifted = _jpeg(key, 8)[3:, 5:]
    assert blockiness(shifted) < 1.0
    assert deblock(shifted) is shifted


def test_stress_set_heavy_jpeg_is_deblocked(key: str) -> None:
    """The quality harness's own 'heavy jpeg' sources."""
    source = heavy_jpeg(_portrait(key))
    assert blockiness(source) >= BLOCKINESS_THRESHOLD
    assert blockiness(deblock(source)) < BLOCKINESS_THRESHOLD


def test_greyscale_photos() -> None:
    """Grey photos, as H x W or as grey-looking RGB, are measured and deblocked like colour ones."""
    _require_portraits()
    clean = _portrait("bearded_man")
    grey_jpeg = cv2.cvtColor(_jpeg("bearded_man", 8), cv2.COLOR_RGB2GRAY)
    assert blockiness(cv2.cvtColor(clean, cv2.COLOR_RGB2GRAY)) < BLOCKINESS_THRESHOLD
    for image in (grey_jpeg, np.repeat(grey_jpeg[:, :, None], 3, axis=2)):
        result = deblock(image)
        before, after = blockiness(image), blockiness(result)
        assert result.shape == image.shape
        assert before > 2 * BLOCKINESS_THRESHOLD and after < 0.35 * before, f"{before:.2f} -> {after:.2f}"
    rgb = deblock(np.repeat(grey_jpeg[:, :, None], 3, axis=2))
    assert np.abs(rgb.astype(np.int16) - rgb[:, :, :1]).max() <= 2, "grey stays grey"


def test_odd_sizes_keep_their_shape() -> None:
    _require_portraits()
    image = np.ascontiguousarray(_jpeg("astronaut", 8)[:301, :203])
    result = deblock(image)
    assert result.shape == image.shape
    assert blockiness(result) < BLOCKINESS_THRESHOLD < blockiness(image)


def test_small_flat_and_unsupported_images() -> None:
    rng = np.random.default_rng(0)
    tiny = rng.integers(0, 256, (12, 40, 3), dtype=np.uint8)
    assert blockiness(tiny) == 1.0
    assert deblock(tiny) is tiny
    flat = np.full((64, 64, 3), 128, dtype=np.uint8)
    assert blockiness(flat) == 1.0
    assert deblock(flat) is flat
    # Noise is too busy for any step to count as smooth.
    noise = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    assert blockiness(noise) == 1.0
    with pytest.raises(ValueError):
        blockiness(np.zeros((64, 64, 4), dtype=np.uint8))


def test_the_engine_deblocks_a_heavy_jpeg_source_and_leaves_a_clean_one(classic_engine: ClassicEngine) -> None:
    """prepare_source crops on the photo's 8 x 8 grid, so the crop's blocks are found and removed."""
    _require_portraits()
    canonical = FaceMesher().canonical
    for quality, blocky in ((None, False), (8, True)):
        image = _portrait("astronaut") if quality is None else _jpeg("astronaut", quality)
        mesh = classic_engine.detect(image)[0].mesh_array()
        assert mesh is not None
        prepared = prepare_source(image, mesh, canonical)
        x0 = int(round(float(mesh[:, 0].min()) - prepared.mesh[:, 0].min()))
        y0 = int(round(float(mesh[:, 1].min()) - prepared.mesh[:, 1].min()))
        assert x0 % 8 == 0 and y0 % 8 == 0
        crop = image[y0 : y0 + prepared.image.shape[0], x0 : x0 + prepared.image.shape[1]]
        if blocky:
            assert blockiness(crop) > BLOCKINESS_THRESHOLD > blockiness(prepared.image)
        else:
            assert np.array_equal(prepared.image, crop)
