"""The face enhancer on the GFPGAN stand-in: loading, provider choice, blending, the pixel contract, and
verified download of its file (a wrong size or sha256 is refused and nothing half-written stays)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import onnxruntime
import pytest

from app.bench.enhancer_standin import build_enhancer_standin, write_enhancer_standin
from pipeline.enhance.enhancer import FaceEnhancer, unavailable_reason
from pipeline.enhance.model_files import ENHANCER_MANIFEST, GFPGAN_1_4_ONNX
from pipeline.errors import ModelUnavailable
from pipeline.face import Assignment, Face, FaceEngine, SourceFace
from pipeline.masks import combined_swap_region, face_region, swap_region
from pipeline.model_download import ModelManifest, download_models
from pipeline.providers import CPU, CUDA
from tests.model_host import serve_folder
from tests.pipeline.test_engine_contract import ASTRONAUT, T1_PHOEBE, T1_ROSS
from tests.pipeline.tiny_enhancer import TinyEnhancer, write_tiny_enhancer

FACE = Face(
    bbox=(100.0, 90.0, 220.0, 240.0),
    kps=((132.0, 150.0), (188.0, 150.0), (160.0, 182.0), (138.0, 210.0), (182.0, 210.0)),
    det_score=0.9,
)


def _flat(value: int = 60) -> np.ndarray:
    return np.full((320, 320, 3), value, dtype=np.uint8)


def _core(face: Face) -> tuple[int, int]:
    """A pixel deep inside the face (between the eyes and the nose)."""
    x, y = np.mean(face.kps_array()[:3], axis=0)
    return int(y), int(x)


# --- loading and providers --------------------------------------------------------------------


def test_loads_the_stand_in_on_cpu(face_enhancer: FaceEnhancer) -> None:
    assert face_enhancer.unavailable_reason() is None
    session = face_enhancer.session
    assert [i.name for i in session.get_inputs()] == ["input"]
    assert list(session.get_inputs()[0].shape) == [1, 3, 512, 512]
    assert face_enhancer.provider == CPU


def test_a_model_of_another_shape_is_refused(tmp_path: Path) -> None:
    small = write_tiny_enhancer(tmp_path, side=256)
    enhancer = FaceEnhancer(small.directory, manifest=small.manifest, providers=[CPU])
    with pytest.raises(ModelUnavailable, match="not a 1x3x512x512 face enhancer"):
        enhancer.session


def test_a_model_with_a_dynamic_batch_or_size_is_accepted(tmp_path: Path) -> None:
    model = build_enhancer_standin()
    for value in (*model.graph.input, *model.graph.output):
        dims = value.type.tensor_type.shape.dim
        dims[0].dim_param, dims[2].dim_param, dims[3].dim_param = "batch", "height", "width"
    _data, manifest = write_enhancer_standin(tmp_path, model=model)
    enhancer = FaceEnhancer(tmp_path, manifest=manifest, providers=[CPU])
    assert enhancer.enhance(_flat(60), [FACE], 1.0).enhanced == (True,)


def test_a_file_that_fails_its_checksum_never_reaches_onnxruntime(tiny_enhancer: TinyEnhancer, tmp_path: Path) -> None:
    data = bytearray(tiny_enhancer.data)
    data[-1] ^= 0xFF
    (tmp_path / GFPGAN_1_4_ONNX.file_name).write_bytes(bytes(data))
    enhancer = FaceEnhancer(tmp_path, manifest=tiny_enhancer.manifest, providers=[CPU])
    assert "checksum mismatch" in (enhancer.unavailable_reason() or "")
    with pytest.raises(ModelUnavailable, match="checksum mismatch"):
        enhancer.session


def test_without_the_file_it_says_why_and_how_to_get_it(tmp_path: Path) -> None:
    reason = unavailable_reason(tmp_path, ENHANCER_MANIFEST)
    assert reason is not None
    assert reason.startswith("enhancing is unavailable: GFPGANv1.4.onnx is not in ")
    assert "python app.py models download" in reason


def test_cuda_is_asked_first_when_onnxruntime_offers_it_and_cpu_runs_without_a_gpu(
    tiny_enhancer: TinyEnhancer, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = onnxruntime.get_available_providers()
    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: [CUDA, CPU])
    asked = FaceEnhancer(tiny_enhancer.directory, manifest=tiny_enhancer.manifest)
    assert asked.provider == CUDA  # before loading: what it will ask for
    if CUDA in real:  # onnxruntime-gpu on a GPU host: CUDA really runs
        assert asked.session.get_providers()[0] == CUDA
        return
    assert asked.session.get_providers()[0] == CPU  # CPU onnxruntime: the fallback runs
    assert asked.provider == CPU
    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: [CPU])
    assert FaceEnhancer(tiny_enhancer.directory, manifest=tiny_enhancer.manifest).provider == CPU


# --- blending and the contract ----------------------------------------------------------------


@pytest.mark.parametrize("strength", [1.0, 0.5, 0.25])
def test_the_enhanced_face_is_blended_in_with_the_strength(face_enhancer: FaceEnhancer, strength: float) -> None:
    image = _flat(60)
    outcome = face_enhancer.enhance(image, [FACE], strength)
    assert outcome.enhanced == (True,)
    y, x = _core(FACE)
    expected = 60 * (1 - strength) + (255 - 60) * strength  # the stand-in gives the negative
    assert abs(float(outcome.image[y, x, 0]) - expected) <= 1.0
    assert np.array_equal(image, _flat(60)), "the input image was changed in place"


def test_strength_zero_changes_nothing_and_reports_no_face_enhanced(face_enhancer: FaceEnhancer) -> None:
    image = _flat(60)
    outcome = face_enhancer.enhance(image, [FACE], 0.0)
    assert outcome.enhanced == (False,)
    assert np.array_equal(outcome.image, image)
    with pytest.raises(ValueError):
        face_enhancer.enhance(image, [FACE], 1.5)


def test_a_face_too_small_to_align_is_left_alone(face_enhancer: FaceEnhancer) -> None:
    tiny = dataclasses.replace(FACE, kps=((150.0, 150.0), (152.0, 150.0), (151.0, 151.0), (150.0, 152.0), (152.0, 152.0)))
    image = _flat(60)
    outcome = face_enhancer.enhance(image, [tiny, FACE], 1.0)
    assert outcome.enhanced == (False, True)


def test_nothing_outside_the_face_swap_region_changes(face_enhancer: FaceEnhancer) -> None:
    rng = np.random.default_rng(7)
    image = rng.integers(0, 256, (320, 320, 3), dtype=np.uint8)
    outcome = face_enhancer.enhance(image, [FACE], 1.0)
    allowed = swap_region(image.shape[:2], FACE) > 0
    changed = np.any(outcome.image != image, axis=2)
    assert changed.any()
    assert not np.any(changed & ~allowed)
    region = face_region(image.shape[:2], FACE)
    assert changed[region.top : region.bottom, region.left : region.right].mean() > 0.3


def test_after_either_engine_only_the_swapped_faces_change(
    face_engine: FaceEngine, face_enhancer: FaceEnhancer, t1_image: np.ndarray, astronaut_image: np.ndarray
) -> None:
    """Swap with each engine, then enhance the swapped faces: the kept faces and the rest stay as swapped."""
    faces = face_engine.detect(t1_image)
    targets = faces[:2] if len(faces) >= 2 else [T1_ROSS, T1_PHOEBE]
    found = face_engine.detect(astronaut_image)
    source = SourceFace(max(found, key=lambda f: f.prominence) if found else ASTRONAUT, astronaut_image)
    source = SourceFace(face_engine.prepare_source(source), astronaut_image)
    swapped = face_engine.swap(t1_image, [Assignment(target, source) for target in targets])
    outcome = face_enhancer.enhance(swapped, targets, 0.8)
    assert outcome.enhanced == (True, True)
    allowed = combined_swap_region(t1_image.shape[:2], targets) > 0
    changed = np.any(outcome.image != swapped, axis=2)
    assert changed.any() and not np.any(changed & ~allowed)
    assert outcome.image.shape == t1_image.shape and outcome.image.dtype == np.uint8


# --- download verification --------------------------------------------------------------------


def _pinned(tiny: TinyEnhancer, **changes: object) -> ModelManifest:
    model_file = tiny.manifest.files[0]
    source = dataclasses.replace(model_file.source, **changes)
    return ModelManifest(files=(dataclasses.replace(model_file, source=source, **changes),), label=tiny.manifest.label)


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def test_the_verified_file_is_downloaded_and_installed(tiny_enhancer: TinyEnhancer, tmp_path: Path) -> None:
    target = tmp_path / "models"
    with serve_folder(tiny_enhancer.directory) as host:
        statuses = download_models(target, tiny_enhancer.manifest, progress=False, base_url_override=host.url)
    assert [s.state for s in statuses] == ["present"]
    assert _leftovers(target) == [GFPGAN_1_4_ONNX.file_name]
    assert unavailable_reason(target, tiny_enhancer.manifest) is None


@pytest.mark.parametrize(
    "change",
    [
        {"size": 1},  # the pin says another size: the served file is longer
        {"sha256": "0" * 64},  # same size, another sum
    ],
    ids=["wrong size", "wrong sha256"],
)
def test_a_wrong_size_or_sha256_is_refused_and_nothing_half_written_stays(
    tiny_enhancer: TinyEnhancer, tmp_path: Path, change: dict[str, object]
) -> None:
    target = tmp_path / "models"
    if "size" in change:
        change = {"size": len(tiny_enhancer.data) - 1}
    manifest = _pinned(tiny_enhancer, **change)
    with serve_folder(tiny_enhancer.directory) as host, pytest.raises(ModelUnavailable):
        download_models(target, manifest, progress=False, base_url_override=host.url)
    assert _leftovers(target) == []
    assert unavailable_reason(target, manifest) is not None


def test_the_pinned_enhancer_file() -> None:
    (model_file,) = ENHANCER_MANIFEST.files
    assert model_file.name == "GFPGANv1.4.onnx" and model_file.member is None
    assert model_file.size == 340_256_690
    assert model_file.sha256 == "6548e54cbcf248af385248f0c1193b359c37a0f98b836282b09cf48af4fd2b73"
    assert (model_file.sha256, model_file.size) == (model_file.source.sha256, model_file.source.size)
    assert all(url.startswith("https://") and url.endswith("/GFPGANv1.4.onnx") for url in model_file.source.urls)
