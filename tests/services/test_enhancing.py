"""The face enhancer through the services: asked for with a strength, refused with the reason when its
file is not there, run on the swapped faces only (the report says which), and fetched in the background
with FACESWAP_AUTO_DOWNLOAD (usable on the next request, without a restart)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from app.context import AppContext
from app.errors import InvalidRequest
from app.services import batches, enhancing, runs, templates
from pipeline.face import FaceEngine
from tests.conftest import make_settings, open_context
from tests.fixtures_data import SamplePhotos
from tests.model_host import closed_port_url, serve_folder
from tests.pipeline.insight_fixtures import insightface_engine, tiny_enhancer, tiny_models  # noqa: F401  (fixtures)
from tests.pipeline.tiny_enhancer import TinyEnhancer


@pytest.fixture
def enhancing_ctx(ctx: AppContext, tiny_enhancer: TinyEnhancer) -> AppContext:  # noqa: F811
    """The stand-in installed in the context's models dir, pinned by the context's enhancer manifest."""
    ctx.settings.models_dir.mkdir(parents=True, exist_ok=True)
    (ctx.settings.models_dir / "GFPGANv1.4.onnx").write_bytes(tiny_enhancer.data)
    ctx.enhancer_manifest = tiny_enhancer.manifest
    return ctx


def test_without_the_model_enhancing_is_refused_with_the_reason(ctx: AppContext, photos: SamplePhotos) -> None:
    pair = templates.add_template_files(ctx, [str(photos.pair)])[0]
    reason = enhancing.unavailable_reason(ctx)
    assert reason is not None and "GFPGANv1.4.onnx is not in" in reason
    with pytest.raises(InvalidRequest, match="enhancing is unavailable"):
        runs.check_request(ctx, [pair.id], {}, enhance=0.8)
    runs.check_request(ctx, [pair.id], {})  # without enhancing nothing is refused


def test_a_strength_outside_0_to_1_is_refused(enhancing_ctx: AppContext) -> None:
    for bad in (1.5, -0.1, "strong", float("nan")):
        with pytest.raises(InvalidRequest, match="from 0 to 1"):
            enhancing.requested_strength(enhancing_ctx, True, bad)
    assert enhancing.requested_strength(enhancing_ctx, True, "0.5") == 0.5
    assert enhancing.requested_strength(enhancing_ctx, True, None) == enhancing.DEFAULT_STRENGTH
    assert enhancing.requested_strength(enhancing_ctx, False, 2) is None


def test_the_report_says_which_faces_were_enhanced(enhancing_ctx: AppContext, photos: SamplePhotos) -> None:
    ctx = enhancing_ctx
    pair = templates.add_template_files(ctx, [str(photos.pair)])[0]
    batch_id = runs.start_from_files(ctx, str(photos.husband), str(photos.wife), [pair.id], {}, enhance=0.7)
    runs.run_inline(ctx, batch_id)
    [result] = batches.batch_report(ctx, batch_id).results
    assert result.status == "completed", result.error
    swapped = [f for f in result.faces if f["role"] is not None]
    assert len(swapped) == 2 and all(f["enhanced"] is True for f in swapped)
    assert all(f["enhanced"] is False for f in result.faces if f["role"] is None)

    plain = runs.start_from_files(ctx, str(photos.husband), str(photos.wife), [pair.id], {})
    runs.run_inline(ctx, plain)
    [unenhanced] = batches.batch_report(ctx, plain).results
    assert unenhanced.status == "completed" and not any(f["enhanced"] for f in unenhanced.faces)


def test_with_the_insightface_engine_too(
    tmp_path: Path, insightface_engine: FaceEngine, tiny_enhancer: TinyEnhancer, photos: SamplePhotos  # noqa: F811
) -> None:
    """The same run on the insightface engine (its tiny models): the enhancer follows the engine's faces."""
    ctx = open_context(make_settings(tmp_path / "data"), insightface_engine)
    try:
        ctx.enhancer_manifest = tiny_enhancer.manifest
        ctx.settings.models_dir.mkdir(parents=True, exist_ok=True)
        (ctx.settings.models_dir / "GFPGANv1.4.onnx").write_bytes(tiny_enhancer.data)
        pair = templates.add_template_files(ctx, [str(photos.pair)])[0]
        batch_id = runs.start_from_files(ctx, str(photos.husband), str(photos.wife), [pair.id], {}, enhance=1.0)
        runs.run_inline(ctx, batch_id)
        [result] = batches.batch_report(ctx, batch_id).results
        assert result.status == "completed", result.error
        assert [f["enhanced"] for f in result.faces] == [f["role"] is not None for f in result.faces]
        assert any(f["enhanced"] for f in result.faces)
    finally:
        ctx.dispose()


def test_auto_download_makes_enhancing_available_without_a_restart(
    tmp_path: Path, classic: FaceEngine, tiny_enhancer: TinyEnhancer  # noqa: F811
) -> None:
    with serve_folder(tiny_enhancer.directory, chunk_delay=0.002) as host:
        settings = make_settings(tmp_path / "data", FACESWAP_AUTO_DOWNLOAD=True, FACESWAP_MODELS_BASE_URL=host.url)
        ctx = open_context(settings, classic)
        ctx.enhancer_manifest = tiny_enhancer.manifest
        try:
            assert enhancing.unavailable_reason(ctx) is not None
            assert enhancing.start_enhancer_download(ctx) is True
            assert enhancing.start_enhancer_download(ctx) is False  # one download per process
            assert ctx.enhancer_download is not None
            final = ctx.enhancer_download.wait(30)
            assert final.state == "verified", final.describe()
            assert enhancing.unavailable_reason(ctx) is None
            assert enhancing.requested_strength(ctx, True, 0.6) == 0.6
        finally:
            ctx.dispose()


def test_offline_the_reason_says_the_download_failed(tmp_path: Path, classic: FaceEngine) -> None:
    settings = make_settings(
        tmp_path / "data", FACESWAP_AUTO_DOWNLOAD=True, FACESWAP_MODELS_BASE_URL=closed_port_url()
    )
    ctx = open_context(settings, classic)
    try:
        started = time.monotonic()
        assert enhancing.start_enhancer_download(ctx) is True
        assert ctx.enhancer_download is not None
        ctx.enhancer_download.wait(5)
        reason = enhancing.unavailable_reason(ctx) or ""
        assert time.monotonic() - started < 3.0
        assert reason.startswith("enhancing is unavailable: model download failed: could not download GFPGANv1.4.onnx")
        assert enhancing.page_note(ctx) == (  # the page's line: no paths, no error details
            "Enhancing is off: the GFPGAN 1.4 model could not be downloaded. Run `python app.py models download`."
        )
    finally:
        ctx.dispose()
